#ifndef ROTO_CFFMPEG_SHIM_H
#define ROTO_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersrc.h>
#include <libavfilter/buffersink.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

/* Macros Swift cannot import. */
static inline int roto_averror(int e) { return AVERROR(e); }
static inline int roto_averror_eof(void) { return AVERROR_EOF; }
static inline int roto_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t roto_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational roto_time_base_q(void) { return AV_TIME_BASE_Q; }

/* Rotation lives in display-matrix side data; the accessor changed after FFmpeg 5.x. */
static inline double roto_stream_rotation(AVStream *st) {
#if LIBAVFORMAT_VERSION_MAJOR < 60
    size_t size = 0;
    const uint8_t *sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (!sd || size < 9 * sizeof(int32_t)) return 0.0;
    return av_display_rotation_get((const int32_t *)sd);
#else
    const AVPacketSideData *psd = av_packet_side_data_get(st->codecpar->coded_side_data,
        st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
    if (!psd || psd->size < 9 * sizeof(int32_t)) return 0.0;
    return av_display_rotation_get((const int32_t *)psd->data);
#endif
}

/* A probe of an in-memory header: which demuxer (if any) recognises it, and with what score. */
static inline const AVInputFormat *roto_probe_buffer(const uint8_t *buf, int size, int *score) {
    AVProbeData pd = { .filename = "", .buf = (unsigned char *)buf, .buf_size = size, .mime_type = NULL };
    *score = 0;
    return av_probe_input_format3(&pd, 1, score);
}
#endif
