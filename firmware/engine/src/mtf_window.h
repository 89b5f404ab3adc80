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
    /* int16: op data lives in the arena, and no real window comes near
     * 32767 (mtf_window_init refuses spans above it, which bounds the pads). */
    int16_t stride_h, stride_w;
    int16_t dilation_h, dilation_w;
    int16_t filter_h, filter_w;
    int16_t pad_h, pad_w; /* padding before the first row / column */
} mtf_window_t;

/*
 * Fill w from the options and check that the output is exactly as large as
 * TFLite's padding rule makes it (TFLite Micro trusts the converter here; a
 * mismatch would make eval read or write out of bounds). Also bounds the
 * window arithmetic of eval (src/mtf_conv_operands.c).
 */
mtf_status_t mtf_window_init(mtf_model_t *m, mtf_window_t *w, int padding, const int32_t geo[6], int32_t in_h,
                             int32_t in_w, int32_t out_h, int32_t out_w);
/* geo of mtf_window_init: the values as the model gives them (int32). */
enum { MTF_GEO_STRIDE_H, MTF_GEO_STRIDE_W, MTF_GEO_DILATION_H, MTF_GEO_DILATION_W, MTF_GEO_FILTER_H, MTF_GEO_FILTER_W };

/*
 * Taps k in [*start, *end) of a filter of size k_size at input position
 * origin + k * dilation that fall inside [0, in_size). Out of line (in
 * mtf_conv_operands.c): called once per window row or column, where a call
 * costs little, and one copy serves every operator.
 */
void mtf_window_clip(int32_t origin, int32_t dilation, int32_t k_size, int32_t in_size, int32_t *start,
                     int32_t *end);

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
 * An int8 output's quantization is usable for a fused activation: a zero
 * point in the int8 range and a scale that puts the activation bounds (at
 * most 6.0 in magnitude) well inside int32 (hostile models only).
 */
mtf_status_t mtf_check_act_output(mtf_model_t *m, int activation, const mtf_tensor_t *output);

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
    int16_t act_min, act_max;     /* int8 range */
    int16_t in_offset, out_offset; /* checked to the int8 range (+128) at prepare */
    /* Every shift <= -1 and every accumulator within +-2^30 (bias and window
     * are small enough): eval may use mtf_conv_store4. */
    int32_t fast;
} mtf_conv_channels_t;

/* Op data of CONV_2D and DEPTHWISE_CONV_2D (one prepare for both). */
typedef struct {
    mtf_window_t win;
    mtf_conv_channels_t q;
    int32_t depth;     /* CONV_2D: input channels per group; DEPTHWISE: depth multiplier */
    int32_t per_group; /* CONV_2D: output channels per group */
    /* Constant filter and bias (NULL when absent) in the model bytes: kept
     * here, as decoding constant tensors at every eval costs more than a
     * small convolution. */
    const int8_t *filter;
    const uint8_t *bias;
} mtf_conv_data_t;

/* Prepare of CONV_2D (depthwise 0) and DEPTHWISE_CONV_2D (1): TFLite Micro's
 * checks plus ours against hostile shapes, then the per-channel quantization
 * as PopulateConvolutionQuantizationParams computes it. */
mtf_status_t mtf_conv_prepare(mtf_model_t *m, mtf_node_t *node, int depthwise);

/* The eval operands of a prepared convolution (bias NULL when absent). */
typedef struct {
    const int8_t *input, *filter;
    const uint8_t *bias;
    int8_t *output;
    const int32_t *in_dims, *out_dims;
} mtf_conv_io_t;
const mtf_conv_data_t *mtf_conv_io(mtf_model_t *m, const mtf_node_t *node, mtf_conv_io_t *io);

/* Bias of channel c (bias tensors may sit unaligned in the model). */
static inline int32_t mtf_conv_bias(const uint8_t *bias, int32_t c)
{
    if (bias == NULL)
        return 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    int32_t v; /* one (unaligned where allowed) load */
    memcpy(&v, bias + 4 * (size_t)c, sizeof v);
    return v;
#else
    return mtf_load_i32(bias + 4 * (size_t)c);
#endif
}

/*
 * SaturatingRoundingDoublingHighMul(x, multiplier) for |x| < 2^30 and a
 * multiplier other than INT32_MIN (no saturation), given x2 = 2x: gemmlowp's
 * floor((x * mult + 2^30) / 2^31) is then the rounded high word of
 * x2 * mult, which DSP cores compute in one SMMULR.
 */
static inline int32_t mtf_high_mul_x2(int32_t x2, int32_t multiplier)
{
#if MTF_DSP
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(x2), "r"(multiplier));
    return r;
#else
    return (int32_t)(((int64_t)x2 * multiplier + ((int64_t)1 << 31)) >> 32);
#endif
}

/* v saturated to int8 (the activation bounds lie inside it). */
static inline int32_t mtf_sat_i8(int32_t v)
{
#if MTF_DSP
    return __ssat(v, 8);
#else
    return v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
}

/*
 * MultiplyByQuantizedMultiplier(x, multiplier, -(r1 + 1)) + off, saturated to
 * int8, for |x| < 2^30 and r1 >= 0 (q->fast); off2 = 2 off + 1.
 * RoundingDivideByPOT(h, r), which rounds half away from zero, is
 * floor((h - [h < 0] + 2^(r-1)) / 2^r), taken as two floor divisions: by
 * 2^(r-1) = 2^r1, then by 2 with the offset added first
 * (floor((t + 1) / 2) + off = (t + 2 off + 1) >> 1).
 */
static inline int32_t mtf_requant_fast(int32_t x, int32_t multiplier, int32_t r1, int32_t off2)
{
    const int32_t h = mtf_high_mul_x2(2 * x, multiplier);
    return mtf_sat_i8((((h + (h >> 31)) >> r1) + off2) >> 1);
}

/* The requantization parameters of one convolution, copied out of
 * mtf_conv_channels_t into locals of the kernel (every int8 store may alias
 * the op data as far as the compiler knows, which would force reloads). */
typedef struct {
    const int32_t *mult; /* per channel */
    const int8_t *r1;    /* per channel: -shift - 1 */
    int32_t off2;        /* 2 * output offset + 1 */
    int32_t lo, hi;      /* activation range */
    uint32_t lo4, hi4;   /* the same in each byte */
} mtf_requant_t;

static inline mtf_requant_t mtf_requant_params(const mtf_conv_channels_t *q)
{
    mtf_requant_t r = { q->table, (const int8_t *)(const void *)(q->table + q->channels), 2 * q->out_offset + 1,
                        q->act_min, q->act_max, ((uint32_t)q->act_min & 0xffu) * 0x01010101u,
                        ((uint32_t)q->act_max & 0xffu) * 0x01010101u };
    return r;
}

/*
 * Channels c..c+3 with q->fast into out[0..3]. On DSP cores the four bytes
 * are clamped at once: byte-wise compares (SSUB8 sets the GE flags per byte)
 * and selects.
 */
static inline void mtf_conv_store4(const mtf_requant_t *r, int32_t c, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                   int8_t *out)
{
    const int32_t *const mult = r->mult + c;
    const int8_t *const r1 = r->r1 + c;
    const int32_t v0 = mtf_requant_fast(a0, mult[0], r1[0], r->off2), v1 = mtf_requant_fast(a1, mult[1], r1[1], r->off2);
    const int32_t v2 = mtf_requant_fast(a2, mult[2], r1[2], r->off2), v3 = mtf_requant_fast(a3, mult[3], r1[3], r->off2);
#if MTF_DSP
    if (((uintptr_t)out & MTF_ALIGN_MASK) == 0) {
        uint32_t w = (uint32_t)v0, t;
        __asm__("bfi %0, %1, #8, #8" : "+r"(w) : "r"(v1));
        __asm__("bfi %0, %1, #16, #8" : "+r"(w) : "r"(v2));
        __asm__("bfi %0, %1, #24, #8" : "+r"(w) : "r"(v3));
        __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(t) : "r"(w), "r"(r->lo4));
        __asm__("ssub8 %0, %2, %1\n\tsel %0, %1, %2" : "=&r"(w) : "r"(t), "r"(r->hi4));
        memcpy(out, &w, sizeof w);
        return;
    }
#endif
    const int32_t v[4] = { v0, v1, v2, v3 };
    for (int k = 0; k < 4; k++)
        out[k] = (int8_t)(v[k] < r->lo ? r->lo : (v[k] > r->hi ? r->hi : v[k]));
}

/* Pool2DOptions fields (schema.fbs). */
enum { MTF_POOL_OPT_PADDING = 0, MTF_POOL_OPT_STRIDE_W = 1, MTF_POOL_OPT_STRIDE_H = 2, MTF_POOL_OPT_FILTER_W = 3,
       MTF_POOL_OPT_FILTER_H = 4, MTF_POOL_OPT_ACTIVATION = 5 };

typedef struct {
    mtf_window_t win;
    int32_t act_min, act_max;
} mtf_pool_data_t;

/* AVERAGE_POOL_2D and MAX_POOL_2D share prepare and eval (src/mtf_pool.c); the
 * op files only pick one. Prepare is TFLite Micro's PoolingPrepare. */
mtf_status_t mtf_pool_prepare(mtf_model_t *m, mtf_node_t *node);
/* is_max: 1 for MAX_POOL_2D, 0 for AVERAGE_POOL_2D. */
mtf_status_t mtf_pool_eval(mtf_model_t *m, mtf_node_t *node, int is_max);

#endif /* MTF_WINDOW_H */
