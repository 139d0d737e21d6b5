#ifndef LIVERELAY_CVPX_SHIM_H
#define LIVERELAY_CVPX_SHIM_H
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

// vpx_codec_enc_init and vpx_codec_dec_init are macros that pass the ABI version.
static inline vpx_codec_err_t lr_vpx_enc_init(vpx_codec_ctx_t *ctx, const vpx_codec_enc_cfg_t *cfg, vpx_codec_flags_t flags) {
    return vpx_codec_enc_init(ctx, vpx_codec_vp8_cx(), cfg, flags);
}
// libvpx's multi-resolution encoder (VP8 simulcast as libwebrtc runs it): `count` contexts and configurations,
// largest first; `factors[i]` is how much smaller layer i + 1 is than layer i.
static inline vpx_codec_err_t lr_vpx_enc_init_multi(vpx_codec_ctx_t *ctx, vpx_codec_enc_cfg_t *cfg, int count,
                                                    vpx_codec_flags_t flags, vpx_rational_t *factors) {
    return vpx_codec_enc_init_multi(ctx, vpx_codec_vp8_cx(), cfg, count, flags, factors);
}
static inline vpx_codec_err_t lr_vpx_dec_init(vpx_codec_ctx_t *ctx) {
    return vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), NULL, 0);
}
// vpx_codec_control is a type-checked variadic macro; one shim per integer control.
static inline vpx_codec_err_t lr_vpx_control_int(vpx_codec_ctx_t *ctx, int id, int value) {
    return vpx_codec_control_(ctx, id, value);
}
#endif
