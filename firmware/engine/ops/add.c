/*
 * ADD with numpy broadcasting (up to MTF_MAX_DIMS dimensions).
 *
 * int8 reproduces TFLite Micro's scheme: both inputs are shifted left by 20
 * bits, scaled onto a common scale (twice the larger input scale) with
 * multipliers below one, added, and the sum requantized to the output scale;
 * multipliers are computed in double from the float scales. Fused
 * activations clamp the result. float32 adds and clamps like TFLite.
 */
#include "mtf_fixedpoint.h"
#include "mtf_kernel.h"
#include "mtf_quant.h"

#define LEFT_SHIFT 20 /* headroom bits for int8 inputs */

typedef struct {
    mtf_bcast_t bcast;
    int32_t input1_offset, input2_offset, output_offset; /* -zp1, -zp2, zp_out */
    int32_t input1_multiplier, input2_multiplier, output_multiplier;
    int32_t input1_shift, input2_shift, output_shift; /* <= 0: right shifts */
    int32_t act_min, act_max;
    float f_min, f_max;
} add_data_t;

/* TFLite's QuantizeMultiplierSmallerThanOneExp: refuses multipliers outside (0, 1). */
static mtf_status_t multiplier_below_one(mtf_model_t *m, double real, int32_t *multiplier, int32_t *shift)
{
    MTF_ENSURE(m, real > 0.0 && real < 1.0, MTF_ERR_UNSUPPORTED_TYPE, "scales give a rescale factor outside (0, 1)");
    int s;
    mtf_quantize_multiplier(real, multiplier, &s);
    *shift = s;
    return MTF_OK;
}

static mtf_status_t add_prepare(mtf_model_t *m, mtf_node_t *node)
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
    add_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    MTF_TRY(mtf_bcast_prepare(m, in1, in2, out, &d->bcast));
    /* AddOptions: fused_activation_function = field 0. */
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
    /* In double, from the larger float scale, as TFLite Micro's CalculateOpDataAdd. */
    double twice_max = 2 * (double)(in1->scale > in2->scale ? in1->scale : in2->scale);
    double real1 = (double)in1->scale / twice_max;
    double real2 = (double)in2->scale / twice_max;
    double real_out = twice_max / ((double)(1 << LEFT_SHIFT) * (double)out->scale);
    MTF_TRY(multiplier_below_one(m, real1, &d->input1_multiplier, &d->input1_shift));
    MTF_TRY(multiplier_below_one(m, real2, &d->input2_multiplier, &d->input2_shift));
    MTF_TRY(multiplier_below_one(m, real_out, &d->output_multiplier, &d->output_shift));
    return mtf_activation_range_quantized(m, activation, out, &d->act_min, &d->act_max);
}

static inline int8_t add_one(const add_data_t *d, int32_t a, int32_t b)
{
    int32_t sa = (d->input1_offset + a) * (1 << LEFT_SHIFT);
    int32_t sb = (d->input2_offset + b) * (1 << LEFT_SHIFT);
    sa = mtf_rdbpot(mtf_srdhm(sa, d->input1_multiplier), -d->input1_shift);
    sb = mtf_rdbpot(mtf_srdhm(sb, d->input2_multiplier), -d->input2_shift);
    int32_t v = mtf_rdbpot(mtf_srdhm(sa + sb, d->output_multiplier), -d->output_shift) + d->output_offset;
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

static mtf_status_t add_eval(mtf_model_t *m, mtf_node_t *node)
{
    const add_data_t *d = mtf_node_data(node);
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
            const int8_t *a = x1 + p.off1, *c = x2 + p.off2;
            for (int32_t i = 0; i < n; i++)
                *y++ = add_one(d, a[i * s1], c[i * s2]);
            mtf_bcast_next_row(b, &p);
        }
    } else {
        /* Byte pointers and unaligned loads: an operand may be a constant in the model bytes. */
        const uint8_t *x1 = in1->data, *x2 = in2->data;
        float *y = (float *)out->data;
        for (int32_t r = 0; r < b->rows; r++) {
            const uint8_t *a = x1 + 4 * p.off1, *c = x2 + 4 * p.off2;
            for (int32_t i = 0; i < n; i++) {
                float v = mtf_load_f32(a + 4 * i * s1) + mtf_load_f32(c + 4 * i * s2);
                *y++ = clamp_float(v, d->f_min, d->f_max);
            }
            mtf_bcast_next_row(b, &p);
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_add = {add_prepare, add_eval};
