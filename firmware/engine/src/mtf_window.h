/*
 * mtf_window.h - what the windowed operators (CONV_2D, DEPTHWISE_CONV_2D,
 * AVERAGE_POOL_2D, MAX_POOL_2D) share: reading and checking their spatial
 * options, clipping a filter window to the input, the per-channel
 * quantization of the convolutions with a fast requantization, and the
 * prepare of the pools.
 *
 * TFLite's SAME padding is "zero padding by omitting the taps outside the
 * image": kernels never read padding, they shrink the tap range instead. The
 * taps that stay inside form one contiguous range per axis, also with
 * dilation, so a window is described by [start, end) along each axis.
 */
#ifndef MTF_WINDOW_H
#define MTF_WINDOW_H

#include <stdint.h>
#include <string.h>

#include "mtf_kernel.h"
#include "mtf_quant.h"

/* Cores with the DSP extension (M4, M7, M33, M55) take packed 16-bit MACs;
 * everything else (M0+, hosts, Xtensa) the plain C loops beside them. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define MTF_DSP 1
/* Whether word loads may be unaligned: the compiler says so (M4/M7/M33 by
 * default); built with -mno-unaligned-access (where the trap is on) the
 * packed paths need word-aligned data and check with this mask. */
#if defined(__ARM_FEATURE_UNALIGNED) && __ARM_FEATURE_UNALIGNED
#define MTF_ALIGN_MASK 0u
#else
#define MTF_ALIGN_MASK 3u
#endif
/* Four int8 values as one word (memcpy: an unaligned load where allowed). */
static inline int32_t mtf_load4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
/* The even bytes of v (0 and 2) sign-extended into two 16-bit lanes, each
 * added to the lane of a: one SXTAB16 (packed, so lanes never carry). */
static inline int32_t mtf_sxtab16(int32_t a, int32_t v)
{
    return __sxtab16(a, v);
}
/* The same for the odd bytes (1 and 3), with the rotation SXTAB16 and
 * SXTB16 take for free, which GCC does not fold by itself. */
static inline int32_t mtf_sxtab16_odd(int32_t a, int32_t v)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}
static inline int32_t mtf_sxtb16_odd(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
#else
#define MTF_DSP 0
#endif

/* Keeps a hot kernel out of its caller, so each gets its own register
 * allocation (an optimisation only: harmless where unsupported). */
#ifndef MTF_NOINLINE
#if defined(__GNUC__)
#define MTF_NOINLINE __attribute__((noinline))
#else
#define MTF_NOINLINE
#endif
#endif

/* Spatial geometry of one windowed operator, fixed at prepare. */
typedef struct {
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t filter_h, filter_w;
    int32_t pad_h, pad_w; /* padding before the first row / column */
} mtf_window_t;

/*
 * Fill w from the options and check that the output is exactly as large as
 * TFLite's padding rule makes it (TFLite Micro trusts the converter here; a
 * mismatch would make eval read or write out of bounds).
 */
static inline mtf_status_t mtf_window_init(mtf_model_t *m, mtf_window_t *w, int padding, int32_t in_h,
                                           int32_t in_w, int32_t out_h, int32_t out_w)
{
    MTF_ENSURE(m, padding == MTF_PADDING_SAME || padding == MTF_PADDING_VALID, MTF_ERR_UNSUPPORTED_TYPE,
               "unsupported padding %d", padding);
    MTF_ENSURE(m, w->stride_h > 0 && w->stride_w > 0, MTF_ERR_BAD_MODEL, "stride must be positive (%d, %d)",
               w->stride_h, w->stride_w);
    MTF_ENSURE(m, w->dilation_h > 0 && w->dilation_w > 0, MTF_ERR_BAD_MODEL,
               "dilation must be positive (%d, %d)", w->dilation_h, w->dilation_w);
    MTF_ENSURE(m, w->filter_h > 0 && w->filter_w > 0, MTF_ERR_BAD_MODEL, "filter size must be positive (%d, %d)",
               w->filter_h, w->filter_w);
    int32_t want_h = mtf_out_size(padding, in_h, w->filter_h, w->stride_h, w->dilation_h);
    int32_t want_w = mtf_out_size(padding, in_w, w->filter_w, w->stride_w, w->dilation_w);
    MTF_ENSURE(m, want_h > 0 && want_w > 0, MTF_ERR_SHAPE, "window larger than the input");
    MTF_ENSURE(m, out_h == want_h && out_w == want_w, MTF_ERR_SHAPE,
               "output is %dx%d, padding and strides give %dx%d", out_h, out_w, want_h, want_w);
    /* Bounds that keep the window arithmetic of eval (origins, clipping,
     * dilated steps through the input) inside int32; real models are orders
     * of magnitude below them, hostile ones must not make it undefined. */
    const int64_t limit = (int64_t)1 << 28;
    const int64_t span_h = (int64_t)(out_h - 1) * w->stride_h + (int64_t)(w->filter_h - 1) * w->dilation_h + 1;
    const int64_t span_w = (int64_t)(out_w - 1) * w->stride_w + (int64_t)(w->filter_w - 1) * w->dilation_w + 1;
    MTF_ENSURE(m, span_h <= limit && span_w <= limit && in_h <= limit && in_w <= limit, MTF_ERR_UNSUPPORTED_TYPE,
               "window geometry too large");
    int32_t offset;
    w->pad_h = mtf_padding(w->stride_h, w->dilation_h, in_h, w->filter_h, out_h, &offset);
    w->pad_w = mtf_padding(w->stride_w, w->dilation_w, in_w, w->filter_w, out_w, &offset);
    return MTF_OK;
}

/* The dilated steps of a convolution through an [.., in_w, channels] input,
 * dilation_h rows and dilation_w pixels, must fit int32 (hostile models). */
static inline mtf_status_t mtf_window_check_steps(mtf_model_t *m, const mtf_window_t *w, int32_t in_w,
                                                  int32_t channels)
{
    const int64_t limit = (int64_t)1 << 28;
    MTF_ENSURE(m, (int64_t)w->dilation_h * in_w * channels <= limit && (int64_t)w->dilation_w * channels <= limit,
               MTF_ERR_UNSUPPORTED_TYPE, "dilation too large for the input");
    return MTF_OK;
}

/*
 * Taps k in [*start, *end) of a filter of size k_size at input position
 * origin + k * dilation that fall inside [0, in_size).
 */
static inline void mtf_window_clip(int32_t origin, int32_t dilation, int32_t k_size, int32_t in_size,
                                   int32_t *start, int32_t *end)
{
    int32_t s, e;
    int32_t left = in_size - origin; /* input positions at or after the origin */
    if (dilation == 1) { /* the usual case, without divisions */
        s = origin < 0 ? -origin : 0;
        e = left > 0 ? left : 0;
    } else {
        s = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
        e = left > 0 ? (left + dilation - 1) / dilation : 0;
    }
    if (e > k_size)
        e = k_size;
    if (e < s)
        e = s;
    *start = s;
    *end = e;
}

/*
 * mtf_mul_by_qm for the multipliers of quantized ops (never INT32_MIN, so
 * SaturatingRoundingDoublingHighMul cannot saturate), written for speed:
 * gemmlowp's "(ab + nudge) / 2^31 truncating", with nudge = 2^30 for ab >= 0
 * and 1 - 2^30 otherwise, equals floor((ab + 2^30) / 2^31) for every ab, so
 * the high half needs one 64-bit add and an arithmetic shift, no branches.
 * The rounding right shift is gemmlowp's RoundingDivideByPOT unchanged.
 */
static inline int32_t mtf_mul_by_qm_fast(int32_t x, int32_t multiplier, int shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    const int64_t ab = (int64_t)(int32_t)((uint32_t)x << left) * multiplier;
    const int32_t high = (int32_t)((ab + ((int64_t)1 << 30)) >> 31);
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t threshold = (mask >> 1) + (high < 0 ? 1 : 0);
    return (high >> right) + ((high & mask) > threshold ? 1 : 0);
}

/*
 * mtf_mul_by_qm_fast for shift = -right <= -1, the common case (multipliers
 * below one half), with both roundings in one 64-bit sum. With
 * y = x * multiplier + 2^30, the doubling high half is h = floor(y / 2^31),
 * and RoundingDivideByPOT(h, right) = floor((h + 2^(right-1) - [h < 0]) / 2^right)
 * (half away from zero). h < 0 exactly when y < 0, and for an integer k
 * floor((floor(y / 2^31) + k) / 2^right) = floor((y + k * 2^31) / 2^(31 + right)),
 * so the result is the high word of y + k * 2^31 shifted right by right - 1.
 */
static inline int32_t mtf_mul_by_qm_right(int32_t x, int32_t multiplier, int right)
{
    const int64_t y = (int64_t)x * multiplier + ((int64_t)1 << 30);
    const uint32_t k = (1u << (right - 1)) - (uint32_t)(y < 0); /* >= 0 */
    const int64_t z = y + (int64_t)((uint64_t)k << 31);
    return (int32_t)(z >> 32) >> (right - 1);
}

/*
 * An int8 output's quantization is usable for a fused activation: a zero
 * point in the int8 range and a scale that puts the activation bounds (at
 * most 6.0 in magnitude) well inside int32, so that quantizing them in
 * mtf_activation_range_quantized stays defined. Hostile models only: a real
 * int8 scale is many orders of magnitude above 6 / 2^30.
 */
static inline mtf_status_t mtf_check_act_output(mtf_model_t *m, int activation, const mtf_tensor_t *output)
{
    MTF_ENSURE(m, output->zero_point >= -128 && output->zero_point <= 127, MTF_ERR_UNSUPPORTED_TYPE,
               "output zero point %d is outside the int8 range", output->zero_point);
    if (activation != MTF_ACT_NONE) {
        const float six = 6.0f / output->scale;
        MTF_ENSURE(m, six > -1.0e9f && six < 1.0e9f, MTF_ERR_UNSUPPORTED_TYPE,
                   "output scale too small for a fused activation");
    }
    return MTF_OK;
}

/* Requantize one int32 accumulator to the int8 output (shift <= -1). */
static inline int8_t mtf_requant_right_i8(int32_t acc, int32_t multiplier, int right, int32_t out_offset,
                                          int32_t act_min, int32_t act_max)
{
    int32_t v = mtf_mul_by_qm_right(acc, multiplier, right) + out_offset;
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}

/* Requantize one int32 accumulator to the int8 output. */
static inline int8_t mtf_requant_i8(int32_t acc, int32_t multiplier, int shift, int32_t out_offset,
                                    int32_t act_min, int32_t act_max)
{
    int32_t v = mtf_mul_by_qm_fast(acc, multiplier, shift) + out_offset;
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}

/*
 * Per-output-channel data of a convolution: the two per-channel arrays sit in
 * one persistent block behind one pointer, so each convolution pays for one
 * pointer and one alignment pad instead of two. 5 bytes per channel against
 * TFLite Micro's 8 (the engine must not need more arena than TFLite Micro):
 *   int32_t multiplier[channels]  Q31 significand of in_scale * filter_scale[c] / out_scale
 *   int8_t  shift[channels]       power-of-two exponent of the same multiplier
 * The bias is read from the model at eval (it is constant, so it costs no
 * arena), and the kernels add the input offset to the input values as the
 * reference does, which a packed 16-bit add makes nearly free on DSP cores.
 */
typedef struct {
    int32_t *table;
    int32_t channels;
    int32_t act_min, act_max;
    int32_t in_offset, out_offset;
    int32_t right_only; /* every shift <= -1: eval may use mtf_requant_right_i8 */
} mtf_conv_channels_t;

static inline const int32_t *mtf_cc_multiplier(const mtf_conv_channels_t *q)
{
    return q->table;
}

static inline const int8_t *mtf_cc_shift(const mtf_conv_channels_t *q)
{
    return (const int8_t *)(const void *)(q->table + q->channels);
}

/*
 * Quantization of a convolution, as TFLite Micro's
 * PopulateConvolutionQuantizationParams computes it (double math, per channel
 * or one scale broadcast). The bias, when present, must be constant (it is
 * read straight from the model at eval).
 */
static inline mtf_status_t mtf_conv_channels_init(mtf_model_t *m, mtf_conv_channels_t *q, const mtf_tensor_t *input,
                                                  const mtf_tensor_t *filter, const mtf_tensor_t *bias,
                                                  const mtf_tensor_t *output, int activation, int32_t channels)
{
    MTF_ENSURE(m, channels > 0, MTF_ERR_SHAPE, "no output channels");
    MTF_ENSURE(m, filter->q_count == 1 || filter->q_count == channels, MTF_ERR_BAD_MODEL,
               "filter has %d scales for %d output channels", filter->q_count, channels);
    if (filter->q_count > 1) {
        MTF_ENSURE(m, filter->q_dim >= 0 && filter->q_dim < filter->ndims && filter->dims[filter->q_dim] == channels,
                   MTF_ERR_BAD_MODEL, "filter quantized_dimension %d does not hold the %d output channels",
                   filter->q_dim, channels);
    }
    MTF_ENSURE(m, filter->data != NULL && (filter->flags & MTF_TENSOR_CONST), MTF_ERR_UNSUPPORTED_TYPE,
               "non-constant filter");
    MTF_ENSURE(m, bias == NULL || (bias->data != NULL && (bias->flags & MTF_TENSOR_CONST)), MTF_ERR_UNSUPPORTED_TYPE,
               "non-constant bias");
    MTF_ENSURE(m, input->scale > 0.0f && output->scale > 0.0f, MTF_ERR_BAD_MODEL,
               "input and output need a positive scale");
    MTF_TRY(mtf_check_act_output(m, activation, output));
    MTF_TRY(mtf_activation_range_quantized(m, activation, output, &q->act_min, &q->act_max));
    q->in_offset = -input->zero_point;
    q->out_offset = output->zero_point;
    /* The input offset is added to int8 values in 16-bit lanes on DSP cores. */
    MTF_ENSURE(m, q->in_offset >= -128 && q->in_offset <= 128, MTF_ERR_UNSUPPORTED_TYPE,
               "input zero point %d is outside the int8 range", input->zero_point);
    q->channels = channels;
    q->table = (int32_t *)mtf_alloc_persistent(m, (size_t)channels * (sizeof(int32_t) + 1));
    if (q->table == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    int32_t *const multiplier = q->table;
    int8_t *const shifts = (int8_t *)(void *)(q->table + channels);
    const double in_scale = (double)input->scale;
    const double out_scale = (double)output->scale;
    q->right_only = 1;
    for (int32_t c = 0; c < channels; c++) {
        double filter_scale = (double)mtf_tensor_scale(filter, filter->q_count > 1 ? (int)c : 0);
        int shift;
        mtf_quantize_multiplier(in_scale * filter_scale / out_scale, &multiplier[c], &shift);
        /* TFLite Micro shifts left by (1 << shift): beyond 30 its arithmetic
         * is undefined, so such a scale has no result to reproduce. */
        MTF_ENSURE(m, shift <= 30, MTF_ERR_UNSUPPORTED_TYPE,
                   "channel %d: output multiplier 2^%d is too large", c, shift);
        /* INT32_MIN (a scale near -1 rounded) would make the doubling high
         * multiply saturate, which the fast requantization leaves out. */
        MTF_ENSURE(m, multiplier[c] != INT32_MIN, MTF_ERR_UNSUPPORTED_TYPE, "channel %d: multiplier -1", c);
        shifts[c] = (int8_t)shift;
        q->right_only &= shift <= -1;
    }
    return MTF_OK;
}

/* Bias of channel c (bias tensors may sit unaligned in the model). */
static inline int32_t mtf_conv_bias(const uint8_t *bias, int32_t c)
{
    return bias != NULL ? mtf_load_i32(bias + 4 * (size_t)c) : 0;
}

/* Pool2DOptions fields (schema.fbs). */
enum { MTF_POOL_OPT_PADDING = 0, MTF_POOL_OPT_STRIDE_W = 1, MTF_POOL_OPT_STRIDE_H = 2, MTF_POOL_OPT_FILTER_W = 3,
       MTF_POOL_OPT_FILTER_H = 4, MTF_POOL_OPT_ACTIVATION = 5 };

typedef struct {
    mtf_window_t win;
    int32_t act_min, act_max;
} mtf_pool_data_t;

/*
 * AVERAGE_POOL_2D and MAX_POOL_2D share prepare and eval (src/mtf_pool.c); the
 * op files only pick one. Prepare is TFLite Micro's PoolingPrepare.
 */
/* The operands of CONV_2D / DEPTHWISE_CONV_2D (bias NULL when absent), checked for
 * what both need: int8 activations, a constant int8 filter, 4-D, quantized. */
typedef struct {
    const mtf_tensor_t *input, *filter, *bias, *output;
} mtf_conv_operands_t;
mtf_status_t mtf_conv_operands(mtf_model_t *m, const mtf_node_t *node, mtf_conv_operands_t *ops);

mtf_status_t mtf_pool_prepare(mtf_model_t *m, mtf_node_t *node);
/* is_max: 1 for MAX_POOL_2D, 0 for AVERAGE_POOL_2D. */
mtf_status_t mtf_pool_eval(mtf_model_t *m, mtf_node_t *node, int is_max);

#endif /* MTF_WINDOW_H */
