#ifndef LIVERELAY_COPUS_SHIM_H
#define LIVERELAY_COPUS_SHIM_H
#include <opus/opus.h>

// opus_encoder_ctl is variadic; Swift cannot call it, so each request used gets a shim.
static inline int lr_opus_set_bitrate(OpusEncoder *enc, opus_int32 bps) { return opus_encoder_ctl(enc, OPUS_SET_BITRATE(bps)); }
static inline int lr_opus_set_inband_fec(OpusEncoder *enc, opus_int32 on) { return opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(on)); }
static inline int lr_opus_set_packet_loss_perc(OpusEncoder *enc, opus_int32 pct) { return opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(pct)); }
static inline int lr_opus_set_complexity(OpusEncoder *enc, opus_int32 c) { return opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(c)); }
#endif
