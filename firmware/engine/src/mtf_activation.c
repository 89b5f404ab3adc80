/*
 * Shared parts of the arithmetic operators; see mtf_activation.h.
 */
#include "mtf_activation.h"

#include <math.h>

#include "mtf_fixedpoint.h"
#include "mtf_quant.h"

#define INPUT_BITS 4 /* integer bits of the rescaled LOGISTIC/TANH input */

mtf_status_t mtf_arith_io(mtf_model_t *m, mtf_node_t *node, int n_in, int n_out, mtf_tensor_t **t)
{
    MTF_ENSURE(m, mtf_node_num_inputs(node) == n_in && mtf_node_num_outputs(node) == n_out, MTF_ERR_BAD_MODEL,
               "missing or extra inputs or outputs");
    for (int i = 0; i < n_in + n_out; i++) {
        t[i] = i < n_in ? mtf_node_input(m, node, i) : mtf_node_output(m, node, i - n_in);
        MTF_ENSURE(m, t[i] != NULL, MTF_ERR_BAD_MODEL, "missing or extra inputs or outputs");
    }
    return MTF_OK;
}

int mtf_arith_ratio(float num, float den, int32_t *multiplier)
{
    int shift;
    mtf_quantize_multiplier((double)num / (double)den, multiplier, &shift);
    return shift;
}

int32_t mtf_arith_mul_by_qm(int32_t x, int32_t multiplier, int shift)
{
    return mtf_mul_by_qm(x, multiplier, shift);
}

int32_t mtf_arith_count(const mtf_tensor_t *t)
{
    return mtf_elements(t);
}

mtf_status_t mtf_arith_unary(mtf_model_t *m, mtf_node_t *node, mtf_tensor_t **t)
{
    MTF_TRY(mtf_arith_io(m, node, 1, 1, t));
    MTF_ENSURE(m, mtf_arith_count(t[0]) == mtf_arith_count(t[1]), MTF_ERR_SHAPE, "input and output sizes differ");
    return MTF_OK;
}

/* One input and one output of equal dtype and element count, int8 or float32.
 * For int8 the input scale (and with check_out_scale the output's too) must be
 * usable. On MTF_OK *in and *out are set; the caller returns early for float32. */
static mtf_status_t act_check(mtf_model_t *m, mtf_node_t *node, const mtf_tensor_t **in, const mtf_tensor_t **out,
                              int check_out_scale)
{
    mtf_tensor_t *t[2];
    MTF_TRY(mtf_arith_unary(m, node, t));
    MTF_ENSURE(m, t[0]->dtype == t[1]->dtype && (t[0]->dtype == MTF_FLOAT32 || t[0]->dtype == MTF_INT8),
               MTF_ERR_UNSUPPORTED_TYPE, "unsupported types");
    /* Quantized, hence (the loader checks) positive finite scales. */
    MTF_ENSURE(m, t[0]->dtype == MTF_FLOAT32 || (t[0]->q_count > 0 && (!check_out_scale || t[1]->q_count > 0)),
               MTF_ERR_BAD_MODEL, "bad scale");
    *in = t[0];
    *out = t[1];
    return MTF_OK;
}

/* Allocates the 256-entry int8 table (indexed by the input byte) as the node's
 * data and fills it with f. */
static mtf_status_t act_fill(mtf_model_t *m, mtf_node_t *node, mtf_act_one_t f, const void *p)
{
    int8_t *table = mtf_alloc_persistent(m, 256);
    if (table == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, table);
    for (int32_t x = -128; x <= 127; x++)
        table[(uint8_t)x] = f(x, p);
    return MTF_OK;
}

mtf_status_t mtf_act_table_eval(mtf_model_t *m, mtf_node_t *node, float (*f)(float))
{
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    int32_t n = mtf_arith_count(in);
    const uint8_t *x = in->data;
    if (in->dtype == MTF_INT8) {
        const int8_t *table = mtf_node_data(node);
        int8_t *y = (int8_t *)out->data;
        for (int32_t i = 0; i < n; i++)
            y[i] = table[x[i]];
        return MTF_OK;
    }
    float *y = (float *)out->data;
    for (int32_t i = 0; i < n; i++)
        y[i] = f(mtf_load_f32(x + 4 * i));
    return MTF_OK;
}

typedef struct {
    int32_t in_zp, out_zp; /* first in every parameter struct: mtf_act_prepare sets them once */
    int32_t radius, multiplier, shift, is_tanh;
} sigmoid_params_t;

/* TFLite Micro's reference int8 LOGISTIC and TANH for one input: minus the zero
 * point, rescaled to Q4.27, through gemmlowp's fixed-point logistic (rounded
 * to 1/256 steps, zero point -128) or tanh (1/128 steps; like TFLite Micro it
 * assumes the output zero point is 0 and adds none). */
static int8_t sigmoid_one(int32_t x, const void *vp)
{
    const sigmoid_params_t *p = vp;
    int32_t input = x - p->in_zp;
    if (input <= -p->radius)
        return -128;
    if (input >= p->radius)
        return 127;
    int32_t q4 = mtf_arith_mul_by_qm(input, p->multiplier, p->shift);
    /* tanh: 1/128 steps, zero point 0; logistic: 1/256 steps, zero point -128. */
    int32_t v = mtf_rdbpot(mtf_fp_sigmoid(q4, INPUT_BITS, p->is_tanh), 31 - 8 + p->is_tanh) - (p->is_tanh ? 0 : 128);
    /* logistic in [0, 1] and tanh in (-1, 1) round to [-128, 128]: only 128 needs the clamp. */
    return (int8_t)(v > 127 ? 127 : v);
}

typedef struct {
    int32_t in_zp, out_zp, multiplier, shift, lo, hi;
} relu_params_t;

/* Requantize one input, then clamp (lo <= hi). */
static int8_t relu_one(int32_t x, const void *vp)
{
    const relu_params_t *p = vp;
    int32_t v = p->out_zp + mtf_arith_mul_by_qm(x - p->in_zp, p->multiplier, p->shift);
    v = v < p->lo ? p->lo : v;
    v = v > p->hi ? p->hi : v;
    return (int8_t)v;
}

/* ---- HARD_SWISH int8: TFLite Micro's reference kernel, in int16 fixed point ---- */

typedef struct {
    int32_t in_zp, out_zp;
    int16_t output_multiplier, reluish_multiplier;
    int output_exponent, reluish_exponent;
} hard_swish_params_t;

/* int16 SaturatingRoundingDoublingHighMul (gemmlowp, VQRDMULH-like) with
 * round 1; with round 0 it truncates toward zero instead (SQDMULH-like),
 * which TFLite uses to cancel the rounding bias of the steps before. */
MTF_ARITH_NOINLINE static int16_t dhm16(int16_t a, int16_t b, int round)
{
    /* gemmlowp saturates INT16_MIN * INT16_MIN; here b (a multiplier) or a
     * (the reluish factor, >= 0) never is INT16_MIN. */
    int32_t ab = (int32_t)a * (int32_t)b;
    /* (ab + nudge) / 2^15 truncating, nudge = 2^14 for ab >= 0 and 1 - 2^14
     * otherwise, is floor((ab + 2^14) / 2^15) for every ab (as mtf_srdhm). */
    return (int16_t)(round ? (ab + (1 << 14)) >> 15 : ab / (1 << 15));
}

/* value * 2^amount, saturated to int16. Past 2^16 every nonzero value
 * saturates anyway, so the shift is capped there and int32 suffices. */
MTF_ARITH_NOINLINE static int16_t sat_shl16(int16_t value, int amount)
{
    int32_t r = value * (1 << (amount < 16 ? amount : 16));
    r = r > INT16_MAX ? INT16_MAX : r < INT16_MIN ? INT16_MIN : r;
    return (int16_t)r;
}

/* gemmlowp RoundingDivideByPOT on an int16 value, with gemmlowp's int16
 * mask arithmetic (the mask is truncated to 16 bits like the template does;
 * exponent <= 31). */
MTF_ARITH_NOINLINE static int16_t rdbpot16(int16_t x, int exponent)
{
    int16_t mask = (int16_t)((1u << exponent) - 1u);
    int16_t remainder = (int16_t)(x & mask);
    int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

/* QuantizeMultiplier of a float ratio (widened to double), then TFLite's
 * DownScaleInt32ToInt16Multiplier. */
MTF_ARITH_NOINLINE static int16_t multiplier16(float ratio, int *exponent)
{
    int32_t multiplier;
    mtf_quantize_multiplier((double)ratio, &multiplier, exponent);
    if (multiplier >= INT32_MAX - (1 << 15))
        return INT16_MAX;
    return (int16_t)((multiplier + (1 << 15)) >> 16);
}

static int8_t hard_swish_one(int32_t x, const void *vp)
{
    const hard_swish_params_t *p = vp;
    int16_t input = (int16_t)(x - p->in_zp);
    int16_t hires = (int16_t)(input * (1 << 7));
    int16_t preshift_output = dhm16(hires, p->output_multiplier, 1);
    /* TFLite Micro: with a positive exponent e, a saturating shift by e - 1,
     * the multiply, a saturating shift by 1; otherwise the multiply and a
     * rounding shift right by -e. Shifts by 0 change nothing in either helper,
     * so every step runs unconditionally. */
    const int e = p->reluish_exponent;
    int16_t reluish = sat_shl16(hires, e > 0 ? e - 1 : 0);
    reluish = dhm16(reluish, p->reluish_multiplier, 1);
    reluish = rdbpot16(sat_shl16(reluish, e > 0), e < 0 ? -e : 0);
    /* From [-1, 1] to [0, 1]. */
    reluish = (int16_t)((reluish + (1 << 15)) >> 1);
    int16_t preshift = dhm16(reluish, preshift_output, 0);
    int16_t v = rdbpot16(preshift, -p->output_exponent);
    v = (int16_t)(v + p->out_zp);
    v = v > 127 ? 127 : v < -128 ? -128 : v;
    return (int8_t)v;
}

mtf_status_t mtf_act_prepare(mtf_model_t *m, mtf_node_t *node, int kind)
{
    const mtf_tensor_t *in = NULL, *out = NULL;
    /* RELU and HARD_SWISH requantize to the output scale: they need a usable one. */
    MTF_TRY(act_check(m, node, &in, &out, kind == MTF_ACT_KIND_RELU || kind == MTF_ACT_KIND_HARD_SWISH));
    if (in->dtype == MTF_FLOAT32)
        return MTF_OK;
    union {
        sigmoid_params_t s;
        relu_params_t r;
        hard_swish_params_t h;
    } p;
    /* The zero points lead every parameter struct (their common initial sequence). */
    p.r.in_zp = in->zero_point;
    p.r.out_zp = out->zero_point;
    if (kind == MTF_ACT_KIND_HARD_SWISH) {
        /* float32 quotients, widened afterwards: the order TFLite Micro uses. */
        float hires_input_scale = (1.0f / 128.0f) * in->scale;
        float reluish_scale = 3.0f / 32768.0f;
        float output_ratio = hires_input_scale / out->scale;
        float reluish_ratio = hires_input_scale / reluish_scale;
        /* Positive and finite before they become multipliers (undefined otherwise).
         * hires_input_scale is finite, and positive exactly when the ratios are. */
        MTF_ENSURE(m, mtf_fp_scale_ok(output_ratio) && mtf_fp_scale_ok(reluish_ratio),
                   MTF_ERR_UNSUPPORTED_TYPE, "scales out of range");
        p.h.output_multiplier = multiplier16(output_ratio, &p.h.output_exponent);
        p.h.reluish_multiplier = multiplier16(reluish_ratio, &p.h.reluish_exponent);
        /* The output scale may not be below the input's (TFLite Micro's shifts go right only). */
        MTF_ENSURE(m, p.h.output_exponent <= 0 && p.h.output_exponent > -31 && p.h.reluish_exponent > -31 &&
                          p.h.reluish_exponent < 31,
                   MTF_ERR_UNSUPPORTED_TYPE, "scales out of range");
        return act_fill(m, node, hard_swish_one, &p);
    }
    if (kind == MTF_ACT_KIND_LOGISTIC || kind == MTF_ACT_KIND_TANH) {
        int is_tanh = kind == MTF_ACT_KIND_TANH;
        /* input_scale * 2^27 split by frexp and rounded, as TFLite Micro's prepare
         * does. That is mtf_quantize_multiplier of input_scale with 27 added to
         * the shift, where the shift is accepted: the significand has 24 bits, so
         * it never rounds up to 2^31, and a flush (shift below -31, multiplier
         * 0) is refused here either way. */
        int shift;
        mtf_quantize_multiplier((double)in->scale, &p.s.multiplier, &shift);
        shift += 31 - INPUT_BITS;
        MTF_ENSURE(m, (is_tanh || out->zero_point == -128) && p.s.multiplier != 0 && shift >= 0 && shift <= 62,
                   MTF_ERR_UNSUPPORTED_TYPE, "output zero point not -128, or input scale out of range");
        p.s.shift = shift;
        p.s.radius = mtf_fp_input_radius(INPUT_BITS, shift, 31);
        p.s.is_tanh = is_tanh;
        return act_fill(m, node, sigmoid_one, &p);
    }
    /* The bounds are TFLite's CalculateActivationRangeQuantized of RELU6 or RELU.
     * RELU6 (TFLite Micro): a clamp between the input's quantized 0 and 6, no
     * requantization (it ignores the output's quantization; converters give
     * RELU6 the input's): the identity multiplier 2^30 with shift 1. Its 6 is
     * FloatToQuantizedType, roundf(6 / scale) in float plus the zero point,
     * clamped to int8: the same bound (integer sums agree with float ones
     * below 2^24, and beyond it both exceed 127). A quotient beyond int32 is
     * refused rather than converted (undefined in C and C++ alike).
     * RELU (TFLite Micro's ReluQuantized): requantize from the input to the
     * output scale, then clamp below at the output's quantized 0.0. */
    const int relu6 = kind == MTF_ACT_KIND_RELU6;
    MTF_ENSURE(m, !relu6 || 6.0f / in->scale < 2147483520.0f, MTF_ERR_UNSUPPORTED_TYPE, "scales out of range");
    /* Cannot fail: both tensors are int8 (act_check). */
    (void)mtf_activation_range_quantized(m, relu6 ? MTF_ACT_RELU6 : MTF_ACT_RELU, relu6 ? in : out, &p.r.lo,
                                         &p.r.hi);
    p.r.multiplier = 1 << 30;
    p.r.shift = 1;
    if (relu6)
        p.r.in_zp = p.r.out_zp = 0;
    else
        p.r.shift = mtf_arith_ratio(in->scale, out->scale, &p.r.multiplier);
    return act_fill(m, node, relu_one, &p);
}

/* ---- QUANTIZE and DEQUANTIZE: one prepare, one eval ----
 * QUANTIZE: float32 -> int8/int16 (affine quantization), and requantization
 * between integer types (int8 <-> uint8, int8 -> int8 with new scale, ...),
 * with TFLite Micro's formulas:
 *   from float: q = (int32)roundf(x / (float)scale) + zero_point, clamped
 *               (the division is in float32, as TFLite Micro's AffineQuantize);
 *   requantize: q = MultiplyByQuantizedMultiplier(x - in_zp, M, shift) + out_zp,
 *               clamped, with M from (double)in_scale / (double)out_scale.
 * Float values beyond int32 saturate (TFLite Micro's cast is undefined there).
 * DEQUANTIZE: int8/uint8/int16 -> float32, (float)((double)scale * (x - zero_point)),
 * computed in float (the same number, see the eval).
 */
typedef struct {
    int32_t multiplier;  /* requantization */
    int32_t shift;
    int32_t qmin, qmax;
} quantize_data_t;

/* The type pairs TFLite Micro's reference QUANTIZE supports, as (input << 4) | output
 * (dtype codes are below 16): from float32, and the integer requantizations. */
static const uint8_t pairs[] = {
    MTF_FLOAT32 << 4 | MTF_INT8, MTF_FLOAT32 << 4 | MTF_INT16, MTF_INT8 << 4 | MTF_INT8,
    MTF_INT8 << 4 | MTF_UINT8,   MTF_INT8 << 4 | MTF_INT16,    MTF_INT8 << 4 | MTF_INT32,
    MTF_UINT8 << 4 | MTF_INT8,   MTF_INT16 << 4 | MTF_INT8,    MTF_INT16 << 4 | MTF_INT16,
    MTF_INT16 << 4 | MTF_INT32,  MTF_INT32 << 4 | MTF_INT8,    MTF_INT32 << 4 | MTF_INT16,
    /* DEQUANTIZE: the pairs with a float32 output. */
    MTF_INT8 << 4 | MTF_FLOAT32, MTF_UINT8 << 4 | MTF_FLOAT32, MTF_INT16 << 4 | MTF_FLOAT32,
};

mtf_status_t mtf_convert_prepare(mtf_model_t *m, mtf_node_t *node, int dequantize)
{
    mtf_tensor_t *t[2];
    MTF_TRY(mtf_arith_unary(m, node, t));
    const mtf_tensor_t *in = t[0], *out = t[1];
    int from_float = in->dtype == MTF_FLOAT32;
    int ok = (out->dtype == MTF_FLOAT32) == dequantize;
    int found = 0;
    for (size_t i = 0; i < sizeof pairs; i++)
        found |= pairs[i] == (in->dtype << 4 | out->dtype);
    ok &= found;
    /* One failure site: the type pair, or the quantization (an input scale, and
     * for QUANTIZE one output scale). */
    MTF_ENSURE(m, ok && (dequantize || out->q_count == 1) && (from_float || in->q_count >= 1),
               MTF_ERR_UNSUPPORTED_TYPE, "unsupported types or quantization");
    /* DEQUANTIZE: eval reads the scale and zero point from the input tensor: no node data. */
    if (dequantize)
        return MTF_OK;
    quantize_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    /* Scales and zero points are read from the tensors at eval. */
    if (!from_float) {
        int shift = mtf_arith_ratio(in->scale, out->scale, &d->multiplier);
        /* Beyond a left shift of 31 the int32 arithmetic is undefined (TFLite Micro's too). */
        MTF_ENSURE(m, shift <= 31, MTF_ERR_UNSUPPORTED_TYPE, "scale ratio out of range");
        d->shift = shift;
    }
    /* The output type's range: int8, uint8, int16 or (int32) everything. */
    int bits = out->dtype == MTF_INT16 ? 16 : out->dtype == MTF_INT32 ? 32 : 8;
    const int is_u8 = out->dtype == MTF_UINT8;
    d->qmax = is_u8 ? 255 : (int32_t)(UINT32_MAX >> (33 - bits));
    d->qmin = is_u8 ? 0 : -d->qmax - 1;
    return MTF_OK;
}

static int32_t load_int(const uint8_t *p, int dtype, int32_t i)
{
    switch (dtype) {
    case MTF_INT8:
        return ((const int8_t *)p)[i];
    case MTF_UINT8:
        return p[i];
    case MTF_INT16: {
        int16_t v;
        memcpy(&v, p + 2 * i, 2);
        return v;
    }
    default:
        return mtf_load_i32(p + 4 * i);
    }
}

static void store_int(uint8_t *p, int dtype, int32_t i, int32_t v)
{
    switch (dtype) {
    case MTF_INT8:
        ((int8_t *)p)[i] = (int8_t)v;
        break;
    case MTF_UINT8:
        p[i] = (uint8_t)v;
        break;
    case MTF_INT16: {
        int16_t s = (int16_t)v;
        memcpy(p + 2 * i, &s, 2);
        break;
    }
    default:
        memcpy(p + 4 * i, &v, 4);
        break;
    }
}

/* (int32) of a float already rounded, saturating instead of undefined. No
 * float lies strictly between 2^31 - 1 and 2^31, so r >= 2^31 is exactly
 * r >= 2147483647; NaN gives 0. */
static int32_t to_i32(float r)
{
    if (r != r)
        return 0;
    if (r >= 2147483648.0f)
        return INT32_MAX;
    if (r <= -2147483648.0f)
        return INT32_MIN;
    return (int32_t)r;
}

mtf_status_t mtf_convert_eval(mtf_model_t *m, mtf_node_t *node)
{
    const quantize_data_t *d = mtf_node_data(node);
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    const int32_t n = mtf_arith_count(in);
    for (int32_t i = 0; i < n; i++) {
        int64_t v;
        if (in->dtype == MTF_FLOAT32) {
            float x = mtf_load_f32(in->data + 4 * i);
            v = (int64_t)to_i32(roundf(x / out->scale)) + out->zero_point;
        } else if (out->dtype == MTF_FLOAT32) {
            /* DEQUANTIZE: TFLite Micro's (float)((double)scale * (x - zero_point)).
             * |x - zero_point| < 2^17 (the loader keeps zero points in the input
             * type's range), so the double product of a 24-bit and a 17-bit
             * significand is exact and rounds once to float: the float product,
             * itself correctly rounded, is the same number. */
            int32_t x = load_int(in->data, in->dtype, i) - in->zero_point;
            ((float *)(void *)out->data)[i] = in->scale * (float)x;
            continue;
        } else {
            int32_t x = (int32_t)((uint32_t)load_int(in->data, in->dtype, i) - (uint32_t)in->zero_point);
            v = (int64_t)mtf_arith_mul_by_qm(x, d->multiplier, d->shift) + out->zero_point;
        }
        v = v < d->qmin ? d->qmin : v;
        v = v > d->qmax ? d->qmax : v;
        store_int(out->data, out->dtype, i, (int32_t)v);
    }
    return MTF_OK;
}
