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
               "wrong number of inputs or outputs");
    for (int i = 0; i < n_in + n_out; i++) {
        t[i] = i < n_in ? mtf_node_input(m, node, i) : mtf_node_output(m, node, i - n_in);
        MTF_ENSURE(m, t[i] != NULL, MTF_ERR_BAD_MODEL, "missing tensor");
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

mtf_status_t mtf_act_check(mtf_model_t *m, mtf_node_t *node, const mtf_tensor_t **in, const mtf_tensor_t **out,
                           int check_out_scale)
{
    mtf_tensor_t *t[2];
    MTF_TRY(mtf_arith_unary(m, node, t));
    MTF_ENSURE(m, t[0]->dtype == t[1]->dtype && (t[0]->dtype == MTF_FLOAT32 || t[0]->dtype == MTF_INT8),
               MTF_ERR_UNSUPPORTED_TYPE, "unsupported types");
    MTF_ENSURE(m, t[0]->dtype == MTF_FLOAT32 ||
                      (mtf_arith_scale_ok(t[0]->scale) && (!check_out_scale || mtf_arith_scale_ok(t[1]->scale))),
               MTF_ERR_BAD_MODEL, "bad scale");
    *in = t[0];
    *out = t[1];
    return MTF_OK;
}

mtf_status_t mtf_act_fill(mtf_model_t *m, mtf_node_t *node, mtf_act_one_t f, const void *p)
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
    int32_t zero_point, radius, multiplier, shift, is_tanh;
} sigmoid_params_t;

/* TFLite Micro's reference int8 LOGISTIC and TANH for one input: minus the zero
 * point, rescaled to Q4.27, through gemmlowp's fixed-point logistic (rounded
 * to 1/256 steps, zero point -128) or tanh (1/128 steps; like TFLite Micro it
 * assumes the output zero point is 0 and adds none). */
static int8_t sigmoid_one(int32_t x, const void *vp)
{
    const sigmoid_params_t *p = vp;
    int32_t input = x - p->zero_point;
    if (input <= -p->radius)
        return -128;
    if (input >= p->radius)
        return 127;
    int32_t q4 = mtf_arith_mul_by_qm(input, p->multiplier, p->shift);
    int32_t v;
    if (p->is_tanh)
        v = mtf_rdbpot(mtf_fp_tanh(q4, INPUT_BITS), 31 - 7);
    else
        v = mtf_rdbpot(mtf_fp_logistic(q4, INPUT_BITS), 31 - 8) - 128;
    return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
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

mtf_status_t mtf_act_prepare(mtf_model_t *m, mtf_node_t *node, int kind)
{
    const mtf_tensor_t *in, *out;
    /* RELU requantizes to the output scale: it needs a usable one. */
    MTF_TRY(mtf_act_check(m, node, &in, &out, kind == MTF_ACT_KIND_RELU));
    if (in->dtype == MTF_FLOAT32)
        return MTF_OK;
    union {
        sigmoid_params_t s;
        relu_params_t r;
    } p;
    if (kind == MTF_ACT_KIND_LOGISTIC || kind == MTF_ACT_KIND_TANH) {
        int is_tanh = kind == MTF_ACT_KIND_TANH;
        MTF_ENSURE(m, is_tanh || out->zero_point == -128, MTF_ERR_UNSUPPORTED_TYPE,
                   "output zero point must be -128");
        /* input_scale * 2^27 split by frexp and rounded, as TFLite Micro's prepare
         * does. That is mtf_quantize_multiplier where the shift is accepted: the
         * significand has 24 bits, so it never rounds up to 2^31, and it flushes
         * only shifts below -31 (to a zero multiplier, refused here). */
        int shift;
        mtf_quantize_multiplier((double)in->scale * (double)(1 << (31 - INPUT_BITS)), &p.s.multiplier, &shift);
        MTF_ENSURE(m, p.s.multiplier != 0 && shift >= 0 && shift <= 62, MTF_ERR_UNSUPPORTED_TYPE,
                   "input scale out of range");
        p.s.shift = shift;
        p.s.radius = mtf_fp_input_radius(INPUT_BITS, shift, 31);
        p.s.zero_point = in->zero_point;
        p.s.is_tanh = is_tanh;
        return mtf_act_fill(m, node, sigmoid_one, &p);
    }
    if (kind == MTF_ACT_KIND_RELU6) {
        /* TFLite Micro: a clamp between the input's quantized 0 and 6, no
         * requantization (it ignores the output's quantization; converters give
         * RELU6 the input's). 2^30 with shift 1 is the identity multiplier.
         * The 6 is FloatToQuantizedType: roundf(6 / scale) in float plus the
         * zero point, clamped to int8; a quotient beyond int32 is refused
         * rather than converted (undefined in C and C++ alike). */
        float q = roundf(6.0f / in->scale);
        MTF_ENSURE(m, q < 2147483520.0f, MTF_ERR_UNSUPPORTED_TYPE, "input scale too small");
        int32_t six = (int32_t)(q + (float)in->zero_point);
        p.r.in_zp = p.r.out_zp = 0;
        p.r.multiplier = 1 << 30;
        p.r.shift = 1;
        p.r.lo = in->zero_point;
        p.r.hi = six > 127 ? 127 : six;
    } else {
        /* TFLite Micro's ReluQuantized: requantize from the input to the output
         * scale, then clamp below at the output's quantized 0.0 (roundf(0 / scale)
         * is 0); no upper bound. Zero points are int8 (the loader checks). */
        p.r.shift = mtf_arith_ratio(in->scale, out->scale, &p.r.multiplier);
        p.r.in_zp = in->zero_point;
        p.r.out_zp = out->zero_point;
        p.r.lo = out->zero_point;
        p.r.hi = 127;
    }
    return mtf_act_fill(m, node, relu_one, &p);
}
