#ifndef LIVERELAY_CSRTP_SHIM_H
#define LIVERELAY_CSRTP_SHIM_H
#include <srtp2/srtp.h>

// SRTP_MAX_TRAILER_LEN is a macro; callers size packet buffers with it.
static inline int lr_srtp_max_trailer_len(void) { return SRTP_MAX_TRAILER_LEN; }
#endif
