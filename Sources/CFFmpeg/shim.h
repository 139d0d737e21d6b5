#ifndef LIVERELAY_CFFMPEG_SHIM_H
#define LIVERELAY_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/opt.h>
#include <libavutil/imgutils.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

// AVERROR(EAGAIN) and AVERROR_EOF are macros Swift cannot import.
static inline int lr_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int lr_averror_eof(void) { return AVERROR_EOF; }
// AV_NOPTS_VALUE is an expression macro (INT64_C(0x8000000000000000)).
static inline int64_t lr_av_nopts_value(void) { return AV_NOPTS_VALUE; }
// av_err2str is a macro over a compound literal.
static inline void lr_av_strerror(int err, char *buf, size_t size) { av_strerror(err, buf, size); }
// AVERROR(ENOMEM) is a macro too; the Transcode wrappers report it as its own error case.
static inline int lr_averror_enomem(void) { return AVERROR(ENOMEM); }
#endif
