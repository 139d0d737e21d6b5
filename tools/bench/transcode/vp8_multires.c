// VP8 simulcast: three independent libvpx encoders against libvpx's multi-resolution encoder, same layers.
//
// The layers and settings are LiveRelay's default VP8 ladder (VP8EncoderConfiguration): 1280x720 2500k,
// 640x360 800k, 320x180 200k, one thread each, real-time CBR, cpu-used -6 / -6 / -4, error resilient, no lag
// frames, 2 s keyframe interval. Input: raw I420 files of the same pictures at the three sizes, e.g.
//
//   ffmpeg -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 10 -vf scale=1280:720:flags=bilinear -pix_fmt yuv420p f720.yuv
//   ffmpeg -f rawvideo -pix_fmt yuv420p -s 1280x720 -i f720.yuv -vf scale=640:360:flags=bilinear f360.yuv
//   ffmpeg -f rawvideo -pix_fmt yuv420p -s 640x360 -i f360.yuv -vf scale=320:180:flags=bilinear f180.yuv
//   cc -O2 -o /tmp/vp8_multires tools/bench/transcode/vp8_multires.c -lvpx
//   /tmp/vp8_multires independent|multires frames dir [keyframe every N]
//
// Prints CPU-seconds, and per layer the bytes, keyframes and mean PSNR.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

enum { LAYERS = 3 };
static const int widths[LAYERS] = {1280, 640, 320}, heights[LAYERS] = {720, 360, 180};
static const int kbps[LAYERS] = {2500, 800, 200}, speeds[LAYERS] = {-6, -6, -4};

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static void configure(vpx_codec_enc_cfg_t *cfg, int layer) {
    vpx_codec_enc_config_default(vpx_codec_vp8_cx(), cfg, 0);
    cfg->g_w = widths[layer];
    cfg->g_h = heights[layer];
    cfg->g_timebase.num = 1;
    cfg->g_timebase.den = 90000;
    cfg->g_threads = 1;
    cfg->g_lag_in_frames = 0;
    cfg->g_pass = VPX_RC_ONE_PASS;
    cfg->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    cfg->rc_end_usage = VPX_CBR;
    cfg->rc_target_bitrate = kbps[layer];
    cfg->rc_min_quantizer = 2;
    cfg->rc_max_quantizer = 56;
    cfg->rc_undershoot_pct = 100;
    cfg->rc_overshoot_pct = 15;
    cfg->rc_buf_initial_sz = 500;
    cfg->rc_buf_optimal_sz = 600;
    cfg->rc_buf_sz = 1000;
    cfg->rc_dropframe_thresh = 0;
    cfg->rc_resize_allowed = 0;
    cfg->kf_mode = VPX_KF_AUTO;
    cfg->kf_min_dist = 0;
    cfg->kf_max_dist = 60;
}

static void controls(vpx_codec_ctx_t *codec, int layer) {
    vpx_codec_control(codec, VP8E_SET_CPUUSED, speeds[layer]);
    vpx_codec_control(codec, VP8E_SET_NOISE_SENSITIVITY, 0);
    vpx_codec_control(codec, VP8E_SET_STATIC_THRESHOLD, 1);
    vpx_codec_control(codec, VP8E_SET_TOKEN_PARTITIONS, 0);
    vpx_codec_control(codec, VP8E_SET_MAX_INTRA_BITRATE_PCT, 900);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s independent|multires frames dir [keyframe every N]\n", argv[0]);
        return 2;
    }
    int multires = strcmp(argv[1], "multires") == 0;
    int frames = atoi(argv[2]);
    int keyframe_every = argc > 4 ? atoi(argv[4]) : 0;
    vpx_codec_ctx_t codecs[LAYERS];
    vpx_codec_enc_cfg_t cfg[LAYERS];
    vpx_image_t images[LAYERS];
    unsigned char *planes[LAYERS];
    FILE *files[LAYERS];
    size_t sizes[LAYERS];
    for (int layer = 0; layer < LAYERS; layer++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/f%d.yuv", argv[3], heights[layer]);
        files[layer] = fopen(path, "rb");
        if (!files[layer]) {
            perror(path);
            return 1;
        }
        sizes[layer] = (size_t)widths[layer] * heights[layer] * 3 / 2;
        planes[layer] = malloc(sizes[layer]);
        configure(&cfg[layer], layer);
        vpx_img_wrap(&images[layer], VPX_IMG_FMT_I420, widths[layer], heights[layer], 1, planes[layer]);
    }
    if (multires) {
        vpx_rational_t factors[LAYERS] = {{2, 1}, {2, 1}, {1, 1}};
        if (vpx_codec_enc_init_multi(codecs, vpx_codec_vp8_cx(), cfg, LAYERS, VPX_CODEC_USE_PSNR, factors)) {
            fprintf(stderr, "vpx_codec_enc_init_multi: %s\n", vpx_codec_error(&codecs[0]));
            return 1;
        }
    } else {
        for (int layer = 0; layer < LAYERS; layer++) {
            if (vpx_codec_enc_init(&codecs[layer], vpx_codec_vp8_cx(), &cfg[layer], VPX_CODEC_USE_PSNR)) return 1;
        }
    }
    for (int layer = 0; layer < LAYERS; layer++) controls(&codecs[layer], layer);
    long bytes[LAYERS] = {0};
    int keyframes[LAYERS] = {0};
    double psnr[LAYERS] = {0}, encoding = 0;
    for (int n = 0; n < frames; n++) {
        for (int layer = 0; layer < LAYERS; layer++) {
            if (fread(planes[layer], 1, sizes[layer], files[layer]) != sizes[layer]) {
                rewind(files[layer]);
                if (fread(planes[layer], 1, sizes[layer], files[layer]) != sizes[layer]) return 1;
            }
        }
        long pts = n * 3000L;
        vpx_enc_frame_flags_t flags = keyframe_every > 0 && n % keyframe_every == keyframe_every - 1 ? VPX_EFLAG_FORCE_KF : 0;
        double started = cpu_seconds();
        if (multires) {
            vpx_codec_encode(&codecs[0], images, pts, 3000, flags, VPX_DL_REALTIME);
        } else {
            for (int layer = 0; layer < LAYERS; layer++) {
                vpx_codec_encode(&codecs[layer], &images[layer], pts, 3000, flags, VPX_DL_REALTIME);
            }
        }
        encoding += cpu_seconds() - started;
        for (int layer = 0; layer < LAYERS; layer++) {
            vpx_codec_iter_t iterator = NULL;
            const vpx_codec_cx_pkt_t *packet;
            while ((packet = vpx_codec_get_cx_data(&codecs[layer], &iterator))) {
                if (packet->kind == VPX_CODEC_PSNR_PKT) psnr[layer] += packet->data.psnr.psnr[0];
                if (packet->kind != VPX_CODEC_CX_FRAME_PKT) continue;
                bytes[layer] += packet->data.frame.sz;
                if (packet->data.frame.flags & VPX_FRAME_IS_KEY) keyframes[layer]++;
            }
        }
    }
    printf("%s: %d frames, %.2f CPU-s encoding (%.2f ms a frame)", argv[1], frames, encoding, encoding * 1000 / frames);
    for (int layer = 0; layer < LAYERS; layer++) {
        printf(" | %dp %ld bytes, %d keyframes, PSNR %.2f dB", heights[layer], bytes[layer], keyframes[layer],
               psnr[layer] / frames);
    }
    printf("\n");
    for (int layer = 0; layer < LAYERS; layer++) vpx_codec_destroy(&codecs[layer]);
    return 0;
}
