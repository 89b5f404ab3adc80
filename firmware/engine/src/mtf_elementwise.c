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

#include "mtf_fixedpoint.h"
#include "mtf_quant.h"

#define LEFT_SHIFT 20 /* ADD/SUB headroom bits for int8 inputs */

typedef struct {
    mtf_bcast_t bcast;
    int32_t op; /* mtf_ew_op_t */
    int32_t input1_offset, input2_offset, output_offset; /* -zp1, -zp2, zp_out */
    int32_t input1_multiplier, input2_multiplier;        /* ADD/SUB only */
    int32_t input1_shift, input2_shift;                  /* ADD/SUB only; <= 0: right shifts */
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
    float f_min, f_max;
} ew_data_t;

/* TFLite's QuantizeMultiplierSmallerThanOneExp: refuses multipliers outside (0, 1). */
static mtf_status_t multiplier_below_one(mtf_model_t *m, double real, int32_t *multiplier, int32_t *shift)
{
    MTF_ENSURE(m, real > 0.0 && real < 1.0, MTF_ERR_UNSUPPORTED_TYPE, "scales give a rescale factor outside (0, 1)");
    int s;
    mtf_quantize_multiplier(real, multiplier, &s);
    *shift = s;
    return MTF_OK;
}

static mtf_status_t prepare_add_sub(mtf_model_t *m, const mtf_tensor_t *in1, const mtf_tensor_t *in2,
                                    const mtf_tensor_t *out, ew_data_t *d)
{
    /* In double, from the larger float scale, as TFLite Micro's CalculateOpDataAdd. Some
     * TFLite Micro SUB sources compute these three in float32 instead; the tflite-micro
     * build used as the oracle uses double, which the fixture sub_pairs_pinned pins down. */
    double twice_max = 2 * (double)(in1->scale > in2->scale ? in1->scale : in2->scale);
    double real1 = (double)in1->scale / twice_max;
    double real2 = (double)in2->scale / twice_max;
    double real_out = twice_max / ((double)(1 << LEFT_SHIFT) * (double)out->scale);
    MTF_TRY(multiplier_below_one(m, real1, &d->input1_multiplier, &d->input1_shift));
    MTF_TRY(multiplier_below_one(m, real2, &d->input2_multiplier, &d->input2_shift));
    return multiplier_below_one(m, real_out, &d->output_multiplier, &d->output_shift);
}

static mtf_status_t prepare_mul(mtf_model_t *m, const mtf_tensor_t *in1, const mtf_tensor_t *in2,
                                const mtf_tensor_t *out, ew_data_t *d)
{
    double real = (double)in1->scale * (double)in2->scale / (double)out->scale;
    int shift;
    mtf_quantize_multiplier(real, &d->output_multiplier, &shift);
    MTF_ENSURE(m, shift <= 31, MTF_ERR_UNSUPPORTED_TYPE, "rescale factor too large");
    d->output_shift = shift;
    return MTF_OK;
}

mtf_status_t mtf_ew_prepare(mtf_model_t *m, mtf_node_t *node, mtf_ew_op_t op)
{
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 2 && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "needs 2 inputs and 1 output");
    const mtf_tensor_t *in1 = mtf_node_input(m, node, 0);
    const mtf_tensor_t *in2 = mtf_node_input(m, node, 1);
    const mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, in1 != NULL && in2 != NULL && out != NULL, MTF_ERR_BAD_MODEL, "missing tensor");
    MTF_ENSURE(m, in1->dtype == out->dtype && in2->dtype == out->dtype, MTF_ERR_UNSUPPORTED_TYPE,
               "input and output types differ");
    MTF_ENSURE(m, out->dtype == MTF_INT8 || out->dtype == MTF_FLOAT32, MTF_ERR_UNSUPPORTED_TYPE,
               "unsupported type %d", out->dtype);
    ew_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    d->op = (int32_t)op;
    MTF_TRY(mtf_bcast_prepare(m, in1, in2, out, &d->bcast));
    /* Add/Sub/MulOptions: fused_activation_function = field 0. */
    /* Codes other than the RELUs (TANH, SIGN_BIT) run unclamped, as in TFLite Micro. */
    int activation = mtf_fp_clamping_activation(mtf_opt_u8(node, 0, MTF_ACT_NONE));
    if (out->dtype == MTF_FLOAT32) {
        mtf_activation_range_float(activation, &d->f_min, &d->f_max);
        return MTF_OK;
    }
    MTF_ENSURE(m, mtf_fp_scale_ok(in1->scale) && mtf_fp_scale_ok(in2->scale) && mtf_fp_scale_ok(out->scale),
               MTF_ERR_BAD_MODEL, "bad quantization");
    d->input1_offset = -in1->zero_point;
    d->input2_offset = -in2->zero_point;
    d->output_offset = out->zero_point;
    if (op == MTF_EW_MUL) {
        /* MUL checks the activation range before the multiplier, as before the merge. */
        MTF_TRY(mtf_activation_range_quantized(m, activation, out, &d->act_min, &d->act_max));
        return prepare_mul(m, in1, in2, out, d);
    }
    MTF_TRY(prepare_add_sub(m, in1, in2, out, d));
    return mtf_activation_range_quantized(m, activation, out, &d->act_min, &d->act_max);
}

/* The two inputs of ADD/SUB on the common scale. */
static inline int32_t scaled1(const ew_data_t *d, int32_t a)
{
    return mtf_rdbpot(mtf_srdhm((d->input1_offset + a) * (1 << LEFT_SHIFT), d->input1_multiplier),
                      -d->input1_shift);
}

static inline int32_t scaled2(const ew_data_t *d, int32_t b)
{
    return mtf_rdbpot(mtf_srdhm((d->input2_offset + b) * (1 << LEFT_SHIFT), d->input2_multiplier),
                      -d->input2_shift);
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
static int8_t *row_int8(const ew_data_t *d, const int8_t *a, int32_t s1, const int8_t *c, int32_t s2, int32_t n,
                        int8_t *y)
{
    int32_t om = d->output_multiplier, os = d->output_shift;
    switch (d->op) {
    case MTF_EW_ADD:
        for (int32_t i = 0; i < n; i++)
            *y++ = finish_int8(d, mtf_rdbpot(mtf_srdhm(scaled1(d, a[i * s1]) + scaled2(d, c[i * s2]), om), -os));
        break;
    case MTF_EW_SUB:
        for (int32_t i = 0; i < n; i++)
            *y++ = finish_int8(d, mtf_rdbpot(mtf_srdhm(scaled1(d, a[i * s1]) - scaled2(d, c[i * s2]), om), -os));
        break;
    default:
        for (int32_t i = 0; i < n; i++) {
            int32_t product = (d->input1_offset + a[i * s1]) * (d->input2_offset + c[i * s2]);
            *y++ = finish_int8(d, mtf_mul_by_qm(product, om, os));
        }
        break;
    }
    return y;
}

/* Byte pointers and unaligned loads: an operand may be a constant in the model bytes. */
static float *row_float(const ew_data_t *d, const uint8_t *a, int32_t s1, const uint8_t *c, int32_t s2, int32_t n,
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
    return y;
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
    if (out->dtype == MTF_INT8) {
        const int8_t *x1 = (const int8_t *)in1->data, *x2 = (const int8_t *)in2->data;
        int8_t *y = (int8_t *)out->data;
        for (int32_t r = 0; r < b->rows; r++) {
            y = row_int8(d, x1 + p.off1, s1, x2 + p.off2, s2, n, y);
            mtf_bcast_next_row(b, &p);
        }
    } else {
        const uint8_t *x1 = in1->data, *x2 = in2->data;
        float *y = (float *)out->data;
        for (int32_t r = 0; r < b->rows; r++) {
            y = row_float(d, x1 + 4 * p.off1, s1, x2 + 4 * p.off2, s2, n, y);
            mtf_bcast_next_row(b, &p);
        }
    }
    return MTF_OK;
}
