// SRTP AES-GCM seal cost against the number of viewers' cipher contexts the loop cycles through.
//
// The egress seals each packet with its viewer's own context (own keys), so an audio frame to N viewers touches N
// contexts once each. With few contexts they stay in the CPU's caches; with thousands each seal finds its context
// cold. This loop seals packets of one size round-robin over N contexts, through the egress's own
// `lr_aes_gcm_seal` (Sources/COpenSSL/shim.h), and prints ns per seal for each N.
//
//   cc -O2 -I Sources/COpenSSL -o /tmp/gcm_contexts tools/bench/srtp/gcm_contexts.c -lcrypto
//   /tmp/gcm_contexts [packet bytes, default 160] [seals per N, default 2000000]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "shim.h"

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int length = argc > 1 ? atoi(argv[1]) : 160;
    long seals = argc > 2 ? atol(argv[2]) : 2000000;
    static const int counts[] = {1, 10, 100, 500, 1000, 2000, 4000, 8000};
    const int header = 12;
    printf("payload %d bytes, %ld seals per row\n| contexts | ns per seal |\n|---|---|\n", length, seals);
    for (size_t row = 0; row < sizeof(counts) / sizeof(counts[0]); row++) {
        int n = counts[row];
        EVP_CIPHER_CTX **contexts = calloc(n, sizeof(*contexts));
        // Each viewer's packet buffer is its own too, as each one's batch slot and session are.
        unsigned char **packets = calloc(n, sizeof(*packets));
        for (int i = 0; i < n; i++) {
            unsigned char key[16];
            for (int k = 0; k < 16; k++) key[k] = (unsigned char)(i * 31 + k);
            contexts[i] = EVP_CIPHER_CTX_new();
            if (EVP_EncryptInit_ex(contexts[i], EVP_aes_128_gcm(), NULL, key, NULL) != 1) return 1;
            packets[i] = calloc(1, header + length + 16);
        }
        unsigned char iv[12] = {0};
        double start = seconds();
        for (long s = 0; s < seals; s++) {
            int i = (int)(s % n);
            iv[11] = (unsigned char)s;
            if (!lr_aes_gcm_seal(contexts[i], iv, packets[i], header, packets[i] + header, length)) return 1;
        }
        double elapsed = seconds() - start;
        printf("| %d | %.0f |\n", n, elapsed / seals * 1e9);
        for (int i = 0; i < n; i++) {
            EVP_CIPHER_CTX_free(contexts[i]);
            free(packets[i]);
        }
        free(contexts);
        free(packets);
    }
    return 0;
}
