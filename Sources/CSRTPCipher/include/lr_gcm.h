#ifndef LIVERELAY_GCM_H
#define LIVERELAY_GCM_H
#include <stddef.h>

// AES-128-GCM sealing for the egress's SRTP, on the CPU's AES (AES-NI) and carry-less multiply (PCLMULQDQ)
// instructions: constant-time, like OpenSSL's own code for them.
//
// Why not EVP: on OpenSSL 3.0 each EVP seal sets its IV through the provider (asking it the IV's length through a
// parameter list, compared by name) and reads the tag through another; in the fan-out profile that bookkeeping was
// over a third of every seal. And a viewer's EVP context is several allocations, each cold when the viewer's turn
// comes round among a thousand others: here all a seal reads is one 256-byte block.
//
// Only sealing: opening (SRTCP from viewers, a few packets a second) stays on EVP. The tests compare every seal
// with libsrtp2's and OpenSSL's (Tests/SRTPTests, tools/bench/srtp/gcm_sealers.c).

typedef struct lr_gcm_sealer lr_gcm_sealer;

// 1 when the CPU has the AES and carry-less multiply instructions this needs; 0 otherwise (use EVP then).
int lr_gcm_available(void);

// A sealer keyed with a 16-byte key; NULL when the CPU lacks the instructions or memory is short.
lr_gcm_sealer *lr_gcm_sealer_new(const unsigned char *key);
void lr_gcm_sealer_free(lr_gcm_sealer *sealer);

// Seals `length` bytes at `data` in place with the 12-byte `iv`, `aad` as associated data, and writes the 16-byte
// tag at `data + length`. Returns 1 on success.
int lr_gcm_seal(lr_gcm_sealer *sealer, const unsigned char *iv, const unsigned char *aad, size_t aadLength,
                unsigned char *data, size_t length);

#endif
