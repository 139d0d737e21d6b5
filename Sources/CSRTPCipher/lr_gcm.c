#include "lr_gcm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define LR_GCM_TARGET __attribute__((target("aes,pclmul,sse4.1,ssse3")))

// Everything a seal reads, in four cache lines: the AES-128 schedule and H, H², H³, H⁴ for GHASH (each byte-
// reflected, the form the carry-less multiply below works in). One viewer's seal touches nothing else.
struct lr_gcm_sealer {
    __m128i rounds[11];
    __m128i powers[4];
};

int lr_gcm_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")
        && __builtin_cpu_supports("ssse3");
}

LR_GCM_TARGET static inline __m128i lr_reflect(__m128i block) {
    return _mm_shuffle_epi8(block, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

LR_GCM_TARGET static inline __m128i lr_expand(__m128i key, __m128i assist) {
    assist = _mm_shuffle_epi32(assist, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, assist);
}

// FIPS 197 §5.2 key expansion, one AESKEYGENASSIST per round (its round constant must be an immediate).
LR_GCM_TARGET static void lr_expand_key(__m128i *rounds, const unsigned char *key) {
    rounds[0] = _mm_loadu_si128((const __m128i *)key);
#define LR_ROUND(i, rcon) rounds[i] = lr_expand(rounds[i - 1], _mm_aeskeygenassist_si128(rounds[i - 1], rcon))
    LR_ROUND(1, 0x01); LR_ROUND(2, 0x02); LR_ROUND(3, 0x04); LR_ROUND(4, 0x08); LR_ROUND(5, 0x10);
    LR_ROUND(6, 0x20); LR_ROUND(7, 0x40); LR_ROUND(8, 0x80); LR_ROUND(9, 0x1b); LR_ROUND(10, 0x36);
#undef LR_ROUND
}

LR_GCM_TARGET static inline __m128i lr_encrypt_block(const __m128i *rounds, __m128i block) {
    block = _mm_xor_si128(block, rounds[0]);
    for (int round = 1; round < 10; round++) block = _mm_aesenc_si128(block, rounds[round]);
    return _mm_aesenclast_si128(block, rounds[10]);
}

// GHASH's multiply in GF(2¹²⁸) on byte-reflected operands, in two halves so that several products can be summed
// before one reduction (the reduction is linear). `lr_multiply` gives the 256-bit carry-less product (4 PCLMULQDQ,
// schoolbook); `lr_reduce` shifts it left one bit (the reflection's off-by-one) and reduces it modulo
// x¹²⁸ + x⁷ + x² + x + 1, as in Gueron and Kounavis, "Intel Carry-Less Multiplication Instruction and its Usage for
// Computing the GCM Mode" (2010), §5.
LR_GCM_TARGET static inline void lr_multiply(__m128i a, __m128i b, __m128i *low, __m128i *high) {
    __m128i lo = _mm_clmulepi64_si128(a, b, 0x00);
    __m128i hi = _mm_clmulepi64_si128(a, b, 0x11);
    __m128i middle = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10), _mm_clmulepi64_si128(a, b, 0x01));
    *low = _mm_xor_si128(lo, _mm_slli_si128(middle, 8));
    *high = _mm_xor_si128(hi, _mm_srli_si128(middle, 8));
}

LR_GCM_TARGET static inline __m128i lr_reduce(__m128i low, __m128i high) {
    // The 256-bit value shifted left by one bit.
    __m128i lowCarries = _mm_srli_epi32(low, 31);
    __m128i highCarries = _mm_srli_epi32(high, 31);
    low = _mm_slli_epi32(low, 1);
    high = _mm_slli_epi32(high, 1);
    __m128i across = _mm_srli_si128(lowCarries, 12);
    highCarries = _mm_slli_si128(highCarries, 4);
    lowCarries = _mm_slli_si128(lowCarries, 4);
    low = _mm_or_si128(low, lowCarries);
    high = _mm_or_si128(_mm_or_si128(high, highCarries), across);
    // First phase of the reduction.
    __m128i a = _mm_slli_epi32(low, 31);
    __m128i b = _mm_slli_epi32(low, 30);
    __m128i c = _mm_slli_epi32(low, 25);
    a = _mm_xor_si128(_mm_xor_si128(a, b), c);
    b = _mm_srli_si128(a, 4);
    a = _mm_slli_si128(a, 12);
    low = _mm_xor_si128(low, a);
    // Second phase.
    __m128i d = _mm_srli_epi32(low, 1);
    __m128i e = _mm_srli_epi32(low, 2);
    __m128i f = _mm_srli_epi32(low, 7);
    d = _mm_xor_si128(_mm_xor_si128(d, e), _mm_xor_si128(f, b));
    low = _mm_xor_si128(low, d);
    return _mm_xor_si128(high, low);
}

LR_GCM_TARGET static inline __m128i lr_gf_multiply(__m128i a, __m128i b) {
    __m128i low, high;
    lr_multiply(a, b, &low, &high);
    return lr_reduce(low, high);
}

// GHASH of `length` bytes (the last block zero-padded) into `hash`; four blocks share a reduction (H⁴…H¹).
LR_GCM_TARGET static __m128i lr_ghash(const __m128i *powers, __m128i hash, const unsigned char *data, size_t length) {
    while (length >= 64) {
        __m128i low, high, productLow, productHigh;
        lr_multiply(_mm_xor_si128(hash, lr_reflect(_mm_loadu_si128((const __m128i *)data))), powers[3], &low, &high);
        lr_multiply(lr_reflect(_mm_loadu_si128((const __m128i *)(data + 16))), powers[2], &productLow, &productHigh);
        low = _mm_xor_si128(low, productLow);
        high = _mm_xor_si128(high, productHigh);
        lr_multiply(lr_reflect(_mm_loadu_si128((const __m128i *)(data + 32))), powers[1], &productLow, &productHigh);
        low = _mm_xor_si128(low, productLow);
        high = _mm_xor_si128(high, productHigh);
        lr_multiply(lr_reflect(_mm_loadu_si128((const __m128i *)(data + 48))), powers[0], &productLow, &productHigh);
        hash = lr_reduce(_mm_xor_si128(low, productLow), _mm_xor_si128(high, productHigh));
        data += 64;
        length -= 64;
    }
    while (length >= 16) {
        hash = lr_gf_multiply(_mm_xor_si128(hash, lr_reflect(_mm_loadu_si128((const __m128i *)data))), powers[0]);
        data += 16;
        length -= 16;
    }
    if (length > 0) {
        unsigned char last[16] = {0};
        memcpy(last, data, length);
        hash = lr_gf_multiply(_mm_xor_si128(hash, lr_reflect(_mm_loadu_si128((const __m128i *)last))), powers[0]);
    }
    return hash;
}

LR_GCM_TARGET static inline __m128i lr_counter_block(__m128i base, uint32_t counter) {
    return _mm_insert_epi32(base, (int)__builtin_bswap32(counter), 3);
}

// CTR keystream from counter 2 (counter 1 masks the tag) XORed over the payload, four blocks at a time so the AES
// unit's pipeline stays full.
LR_GCM_TARGET static void lr_ctr(const __m128i *rounds, __m128i base, unsigned char *data, size_t length) {
    uint32_t counter = 2;
    while (length >= 64) {
        __m128i b0 = _mm_xor_si128(lr_counter_block(base, counter), rounds[0]);
        __m128i b1 = _mm_xor_si128(lr_counter_block(base, counter + 1), rounds[0]);
        __m128i b2 = _mm_xor_si128(lr_counter_block(base, counter + 2), rounds[0]);
        __m128i b3 = _mm_xor_si128(lr_counter_block(base, counter + 3), rounds[0]);
        for (int round = 1; round < 10; round++) {
            b0 = _mm_aesenc_si128(b0, rounds[round]);
            b1 = _mm_aesenc_si128(b1, rounds[round]);
            b2 = _mm_aesenc_si128(b2, rounds[round]);
            b3 = _mm_aesenc_si128(b3, rounds[round]);
        }
        b0 = _mm_aesenclast_si128(b0, rounds[10]);
        b1 = _mm_aesenclast_si128(b1, rounds[10]);
        b2 = _mm_aesenclast_si128(b2, rounds[10]);
        b3 = _mm_aesenclast_si128(b3, rounds[10]);
        _mm_storeu_si128((__m128i *)data, _mm_xor_si128(b0, _mm_loadu_si128((const __m128i *)data)));
        _mm_storeu_si128((__m128i *)(data + 16), _mm_xor_si128(b1, _mm_loadu_si128((const __m128i *)(data + 16))));
        _mm_storeu_si128((__m128i *)(data + 32), _mm_xor_si128(b2, _mm_loadu_si128((const __m128i *)(data + 32))));
        _mm_storeu_si128((__m128i *)(data + 48), _mm_xor_si128(b3, _mm_loadu_si128((const __m128i *)(data + 48))));
        counter += 4;
        data += 64;
        length -= 64;
    }
    while (length > 0) {
        __m128i keystream = lr_encrypt_block(rounds, lr_counter_block(base, counter++));
        if (length >= 16) {
            _mm_storeu_si128((__m128i *)data, _mm_xor_si128(keystream, _mm_loadu_si128((const __m128i *)data)));
            data += 16;
            length -= 16;
        } else {
            unsigned char bytes[16];
            _mm_storeu_si128((__m128i *)bytes, keystream);
            for (size_t index = 0; index < length; index++) data[index] ^= bytes[index];
            length = 0;
        }
    }
}

LR_GCM_TARGET static void lr_setup(lr_gcm_sealer *sealer, const unsigned char *key) {
    lr_expand_key(sealer->rounds, key);
    __m128i h = lr_reflect(lr_encrypt_block(sealer->rounds, _mm_setzero_si128()));
    sealer->powers[0] = h;
    for (int power = 1; power < 4; power++) sealer->powers[power] = lr_gf_multiply(sealer->powers[power - 1], h);
}

lr_gcm_sealer *lr_gcm_sealer_new(const unsigned char *key) {
    if (!lr_gcm_available()) return NULL;
    lr_gcm_sealer *sealer = aligned_alloc(64, (sizeof(lr_gcm_sealer) + 63) / 64 * 64);
    if (sealer == NULL) return NULL;
    lr_setup(sealer, key);
    return sealer;
}

void lr_gcm_sealer_free(lr_gcm_sealer *sealer) {
    if (sealer == NULL) return;
    memset(sealer, 0, sizeof(*sealer));
    __asm__ __volatile__("" : : "r"(sealer) : "memory");  // the wipe is not optimised away
    free(sealer);
}

// NIST SP 800-38D §7.1 with a 96-bit IV: J0 = IV ‖ 0³¹1; the payload is CTR-encrypted from inc32(J0); the tag is
// E(K, J0) ⊕ GHASH(A ‖ pad ‖ C ‖ pad ‖ len(A)₆₄ ‖ len(C)₆₄).
LR_GCM_TARGET int lr_gcm_seal(lr_gcm_sealer *sealer, const unsigned char *iv, const unsigned char *aad, size_t aadLength,
                              unsigned char *data, size_t length) {
    unsigned char ivBlock[16] = {0};
    memcpy(ivBlock, iv, 12);
    const __m128i base = _mm_loadu_si128((const __m128i *)ivBlock);
    const __m128i mask = lr_encrypt_block(sealer->rounds, lr_counter_block(base, 1));
    lr_ctr(sealer->rounds, base, data, length);
    __m128i hash = lr_ghash(sealer->powers, _mm_setzero_si128(), aad, aadLength);
    hash = lr_ghash(sealer->powers, hash, data, length);
    // The lengths block, already in the reflected form: len(C) in the low half, len(A) in the high half.
    __m128i lengths = _mm_set_epi64x((long long)(aadLength * 8), (long long)(length * 8));
    hash = lr_gf_multiply(_mm_xor_si128(hash, lengths), sealer->powers[0]);
    _mm_storeu_si128((__m128i *)(data + length), _mm_xor_si128(lr_reflect(hash), mask));
    return 1;
}

#else
// Other architectures seal through EVP.
int lr_gcm_available(void) { return 0; }
lr_gcm_sealer *lr_gcm_sealer_new(const unsigned char *key) { (void)key; return NULL; }
void lr_gcm_sealer_free(lr_gcm_sealer *sealer) { (void)sealer; }
int lr_gcm_seal(lr_gcm_sealer *sealer, const unsigned char *iv, const unsigned char *aad, size_t aadLength,
                unsigned char *data, size_t length) {
    (void)sealer; (void)iv; (void)aad; (void)aadLength; (void)data; (void)length;
    return 0;
}
#endif
