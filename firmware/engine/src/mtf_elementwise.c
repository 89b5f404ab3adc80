/*
 * ADD, SUB and MUL with numpy broadcasting (up to MTF_MAX_DIMS dimensions).
 *
 * int8 ADD/SUB reproduce TFLite Micro's scheme: both inputs are shifted left
 * by 20 bits, scaled onto a common scale (twice the larger input scale) with
 * multipliers below one, added or subtracted, and the result requantized to
 * the output scale; multipliers are computed in double from the float scales.
 * int8 MUL requantizes the product of the zero-point-corrected inputs with one
 * multiplier, input1_scale * input2_scale / output_scale in double. Fused
 * activations clamp the result. float32 computes and clamps like TFLite.
 */
#include "mtf_elementwise.h"

#include "mtf_activation.h"
#include "mtf_fixedpoint.h"
#include "mtf_quant.h"

#define LEFT_SHIFT 20 /* ADD/SUB headroom bits for int8 inputs */

typedef struct {
    mtf_bcast_t bcast;
    int32_t op; /* mtf_ew_op_t */
    int32_t input1_offset, input2_offset, output_offset; /* -zp1, -zp2, zp_out */
    /* Index 0: input 1, 1: input 2 (ADD/SUB only; shifts <= 0 there), 2: output. */
    int32_t multiplier[3], shift[3];
    int32_t act_min, act_max;
    float f_min, f_max;
} ew_data_t;

mtf_status_t mtf_ew_prepare(mtf_model_t *m, mtf_node_t *node, mtf_ew_op_t op)
{
    mtf_tensor_t *t[3];
    MTF_TRY(mtf_arith_io(m, node, 2, 1, t));
    const mtf_tensor_t *in1 = t[0], *in2 = t[1], *out = t[2];
    MTF_ENSURE(m, in1->dtype == out->dtype && in2->dtype == out->dtype &&
                      (out->dtype == MTF_INT8 || out->dtype == MTF_FLOAT32),
               MTF_ERR_UNSUPPORTED_TYPE, "unsupported types");
    ew_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    d->op = (int32_t)op;
    MTF_TRY(mtf_bcast_prepare(m, in1, in2, out, &d->bcast));
    /* Add/Sub/MulOptions: fused_activation_function = field 0. */
    /* Codes other than the RELUs (TANH, SIGN_BIT) run unclamped, as in TFLite
     * Micro: both activation-range helpers treat them as NONE. */
    int activation = mtf_opt_u8(node, 0, MTF_ACT_NONE);
    if (out->dtype == MTF_FLOAT32) {
        mtf_activation_range_float(activation, &d->f_min, &d->f_max);
        return MTF_OK;
    }
    MTF_ENSURE(m, mtf_arith_scale_ok(in1->scale) && mtf_arith_scale_ok(in2->scale) && mtf_arith_scale_ok(out->scale),
               MTF_ERR_BAD_MODEL, "bad quantization");
    d->input1_offset = -in1->zero_point;
    d->input2_offset = -in2->zero_point;
    d->output_offset = out->zero_point;
    /* Cannot fail for an int8 output. */
    MTF_TRY(mtf_activation_range_quantized(m, activation, out, &d->act_min, &d->act_max));
    /* The multipliers in double, as TFLite Micro. MUL: one, in1 * in2 / out.
     * ADD/SUB: from the larger float scale, as CalculateOpDataAdd; all three
     * must lie in (0, 1) (QuantizeMultiplierSmallerThanOneExp). Some TFLite
     * Micro SUB sources compute these in float32 instead; the tflite-micro build
     * used as the oracle uses double, which the fixture sub_pairs_pinned pins down. */
    double twice_max = 2 * (double)(in1->scale > in2->scale ? in1->scale : in2->scale);
    double real[3] = {(double)in1->scale / twice_max, (double)in2->scale / twice_max,
                      twice_max / ((double)(1 << LEFT_SHIFT) * (double)out->scale)};
    int k = 0;
    if (op == MTF_EW_MUL) {
        real[2] = (double)in1->scale * (double)in2->scale / (double)out->scale;
        k = 2;
    }
    for (; k < 3; k++) {
        int shift;
        mtf_quantize_multiplier(real[k], &d->multiplier[k], &shift);
        /* ADD/SUB: a ratio in (0, 1) gives shift <= 0, which eval relies on. It
         * could only round up to 2^0 within 2^-32 below 1; the ratios here are
         * <= 1/2 or quotients of two 24-bit significands, never that close.
         * One failure site: the range is checked after quantizing (harmless). */
        MTF_ENSURE(m, (op == MTF_EW_MUL || (real[k] > 0.0 && real[k] < 1.0)) && shift <= 31,
                   MTF_ERR_UNSUPPORTED_TYPE, "scale ratio out of range");
        d->shift[k] = shift;
    }
    return MTF_OK;
}

/* An input of ADD/SUB on the common scale: its shift is <= 0 (prepare), where
 * mtf_mul_by_qm is TFLite Micro's doubling high multiply and rounding right shift. */
static inline int32_t scaled(int32_t offset, int32_t multiplier, int32_t shift, int32_t a)
{
    return mtf_arith_mul_by_qm((offset + a) * (1 << LEFT_SHIFT), multiplier, shift);
}

static inline int8_t finish_int8(const ew_data_t *d, int32_t v)
{
    v += d->output_offset;
    v = v < d->act_min ? d->act_min : v;
    v = v > d->act_max ? d->act_max : v;
    return (int8_t)v;
}

/* TFLite's ActivationFunctionWithMinMax: std::min(std::max(x, lo), hi). */
static inline float clamp_float(float x, float lo, float hi)
{
    float t = x < lo ? lo : x;
    return hi < t ? hi : t;
}

/* One innermost row of n elements; the op is switched once per row, outside the loop. */
static void row_int8(const ew_data_t *d, const int8_t *a, int32_t s1, const int8_t *c, int32_t s2, int32_t n,
                        int8_t *y)
{
    const int is_mul = d->op == MTF_EW_MUL;
    /* ADD and SUB share the loop: SUB negates the second term exactly
     * ((v ^ -1) + 1 == -v; the scaled values are far from INT32_MIN). Their
     * output shift is <= 0 (prepare), where mtf_mul_by_qm is the rounding
     * right shift of the doubling high multiply TFLite Micro does. Out of
     * line: no benchmarked model spends time here, code size counts more. */
    const int32_t neg = d->op == MTF_EW_SUB ? -1 : 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t u = a[i * s1], w = c[i * s2];
        if (is_mul) {
            u = (d->input1_offset + u) * (d->input2_offset + w);
        } else {
            u = scaled(d->input1_offset, d->multiplier[0], d->shift[0], u);
            w = scaled(d->input2_offset, d->multiplier[1], d->shift[1], w);
            u += (w ^ neg) - neg;
        }
        *y++ = finish_int8(d, mtf_arith_mul_by_qm(u, d->multiplier[2], d->shift[2]));
    }
}

/* Byte pointers and unaligned loads: an operand may be a constant in the model bytes. */
static void row_float(const ew_data_t *d, const uint8_t *a, int32_t s1, const uint8_t *c, int32_t s2, int32_t n,
                        float *y)
{
    for (int32_t i = 0; i < n; i++) {
        float u = mtf_load_f32(a + 4 * i * s1), w = mtf_load_f32(c + 4 * i * s2), v;
        switch (d->op) {
        case MTF_EW_ADD:
            v = u + w;
            break;
        case MTF_EW_SUB:
            v = u - w;
            break;
        default:
            v = u * w;
            break;
        }
        *y++ = clamp_float(v, d->f_min, d->f_max);
    }
}

mtf_status_t mtf_ew_eval(mtf_model_t *m, mtf_node_t *node)
{
    const ew_data_t *d = mtf_node_data(node);
    const mtf_tensor_t *in1 = mtf_node_input(m, node, 0);
    const mtf_tensor_t *in2 = mtf_node_input(m, node, 1);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    const mtf_bcast_t *b = &d->bcast;
    int last = b->ndims - 1;
    int32_t n = b->extent[last], s1 = b->stride1[last], s2 = b->stride2[last];
    mtf_bcast_pos_t p;
    mtf_bcast_start(&p);
    /* Element size: int8 or float32 (the dtypes prepare accepts). */
    const int32_t es = out->dtype == MTF_INT8 ? 1 : 4;
    uint8_t *y = out->data;
    for (int32_t r = 0; r < b->rows; r++) {
        const uint8_t *x1 = in1->data + es * p.off1, *x2 = in2->data + es * p.off2;
        if (es == 1)
            row_int8(d, (const int8_t *)x1, s1, (const int8_t *)x2, s2, n, (int8_t *)y);
        else
            row_float(d, x1, s1, x2, s2, n, (float *)(void *)y);
        y += es * n;
        mtf_bcast_next_row(b, &p);
    }
    return MTF_OK;
}
