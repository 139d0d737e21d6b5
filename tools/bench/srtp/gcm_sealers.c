// The egress's two AES-128-GCM sealers side by side: `lr_aes_gcm_seal` (OpenSSL EVP, Sources/COpenSSL/shim.h) and
// `lr_gcm_seal` (AES and carry-less multiply instructions, Sources/CSRTPCipher). First checks that both give the
// same bytes for random keys, IVs, headers and lengths; then seals packets round-robin over N viewers' keys (each
// with its own packet buffer, as each viewer has its own batch slot and session) and prints ns per seal for each.
// With thousands of keys each seal finds its key cold, as the egress's fan-out does.
//
//   cc -O2 -I Sources/COpenSSL -I Sources/CSRTPCipher/include -o /tmp/gcm_sealers
//      tools/bench/srtp/gcm_sealers.c Sources/CSRTPCipher/lr_gcm.c -lcrypto
//   /tmp/gcm_sealers [seals per row, default 2000000]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "shim.h"
#include "lr_gcm.h"

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

static int agree(void) {
    unsigned char key[16], iv[12], a[1600], b[1600];
    for (int trial = 0; trial < 20000; trial++) {
        RAND_bytes(key, 16);
        RAND_bytes(iv, 12);
        int header = 12 + 4 * (rand() % 8);
        int length = rand() % 1400;
        RAND_bytes(a, header + length);
        memcpy(b, a, header + length);
        EVP_CIPHER_CTX *evp = EVP_CIPHER_CTX_new();
        lr_gcm_sealer *sealer = lr_gcm_sealer_new(key);
        if (evp == NULL || sealer == NULL || EVP_EncryptInit_ex(evp, EVP_aes_128_gcm(), NULL, key, NULL) != 1) return 0;
        if (!lr_aes_gcm_seal(evp, iv, a, header, a + header, length)) return 0;
        if (!lr_gcm_seal(sealer, iv, b, header, b + header, length)) return 0;
        if (memcmp(a, b, header + length + 16) != 0) {
            printf("mismatch: header %d, payload %d\n", header, length);
            return 0;
        }
        EVP_CIPHER_CTX_free(evp);
        lr_gcm_sealer_free(sealer);
    }
    return 1;
}

int main(int argc, char **argv) {
    long seals = argc > 1 ? atol(argv[1]) : 2000000;
    if (!lr_gcm_available()) { printf("no AES/PCLMUL instructions\n"); return 1; }
    if (!agree()) return 1;
    printf("20,000 random seals: identical bytes\n\n");
    static const int counts[] = {1, 100, 1000, 8000};
    static const int lengths[] = {160, 1200};
    const int header = 24;
    printf("| payload | contexts | EVP ns | lr_gcm ns |\n|---|---|---|---|\n");
    for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
        for (size_t row = 0; row < sizeof(counts) / sizeof(counts[0]); row++) {
            int n = counts[row], length = lengths[l];
            EVP_CIPHER_CTX **evp = calloc(n, sizeof(*evp));
            lr_gcm_sealer **sealers = calloc(n, sizeof(*sealers));
            unsigned char **packets = calloc(n, sizeof(*packets));
            for (int i = 0; i < n; i++) {
                unsigned char key[16];
                for (int k = 0; k < 16; k++) key[k] = (unsigned char)(i * 31 + k);
                evp[i] = EVP_CIPHER_CTX_new();
                if (EVP_EncryptInit_ex(evp[i], EVP_aes_128_gcm(), NULL, key, NULL) != 1) return 1;
                sealers[i] = lr_gcm_sealer_new(key);
                packets[i] = calloc(1, header + length + 16);
            }
            unsigned char iv[12] = {0};
            double results[2];
            for (int which = 0; which < 2; which++) {
                double start = seconds();
                for (long s = 0; s < seals; s++) {
                    int i = (int)(s % n);
                    iv[11] = (unsigned char)s;
                    int ok = which == 0 ? lr_aes_gcm_seal(evp[i], iv, packets[i], header, packets[i] + header, length)
                                        : lr_gcm_seal(sealers[i], iv, packets[i], header, packets[i] + header, length);
                    if (!ok) return 1;
                }
                results[which] = (seconds() - start) / seals * 1e9;
            }
            printf("| %d | %d | %.0f | %.0f |\n", length, n, results[0], results[1]);
            for (int i = 0; i < n; i++) {
                EVP_CIPHER_CTX_free(evp[i]);
                lr_gcm_sealer_free(sealers[i]);
                free(packets[i]);
            }
            free(evp);
            free(sealers);
            free(packets);
        }
    }
    return 0;
}
