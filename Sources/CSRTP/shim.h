#ifndef LIVERELAY_CSRTP_SHIM_H
#define LIVERELAY_CSRTP_SHIM_H
#include <srtp2/srtp.h>

// SRTP_MAX_TRAILER_LEN is a macro; callers size packet buffers with it.
static inline int lr_srtp_max_trailer_len(void) { return SRTP_MAX_TRAILER_LEN; }

// A hint that the `bytes` from `address` (a session's sealing state) will be read soon. A prefetch never faults.
static inline void lr_srtp_prefetch(const void *address, unsigned int bytes) {
    for (unsigned int offset = 0; offset < bytes; offset += 64) __builtin_prefetch((const char *)address + offset, 0, 3);
}
#endif
