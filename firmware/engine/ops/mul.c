/*
 * MUL with numpy broadcasting (up to MTF_MAX_DIMS dimensions).
 *
 * int8 reproduces TFLite Micro's reference kernel: the product of the two
 * zero-point-corrected inputs is requantized with one multiplier,
 * input1_scale * input2_scale / output_scale computed in double. Fused
 * activations clamp the result. float32 multiplies and clamps like TFLite.
 */
#include "mtf_fixedpoint.h"
#include "mtf_kernel.h"
#include "mtf_quant.h"

typedef struct {
    mtf_bcast_t bcast;
    int32_t input1_offset, input2_offset, output_offset; /* -zp1, -zp2, zp_out */
    int32_t multiplier, shift;
    int32_t act_min, act_max;
    float f_min, f_max;
} mul_data_t;

static mtf_status_t mul_prepare(mtf_model_t *m, mtf_node_t *node)
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
    mul_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    MTF_TRY(mtf_bcast_prepare(m, in1, in2, out, &d->bcast));
    /* MulOptions: fused_activation_function = field 0. */
    /* Codes other than the RELUs (TANH, SIGN_BIT) run unclamped, as in TFLite Micro. */
    int activation = mtf_fp_clamping_activation(mtf_opt_u8(node, 0, MTF_ACT_NONE));
    if (out->dtype == MTF_FLOAT32) {
        mtf_activation_range_float(activation, &d->f_min, &d->f_max);
        return MTF_OK;
    }
    MTF_ENSURE(m, mtf_fp_scale_ok(in1->scale) && mtf_fp_scale_ok(in2->scale) && mtf_fp_scale_ok(out->scale),
               MTF_ERR_BAD_MODEL, "bad quantization");
    MTF_TRY(mtf_activation_range_quantized(m, activation, out, &d->act_min, &d->act_max));
    double real = (double)in1->scale * (double)in2->scale / (double)out->scale;
    int shift;
    mtf_quantize_multiplier(real, &d->multiplier, &shift);
    MTF_ENSURE(m, shift <= 31, MTF_ERR_UNSUPPORTED_TYPE, "rescale factor too large");
    d->shift = shift;
    d->input1_offset = -in1->zero_point;
    d->input2_offset = -in2->zero_point;
    d->output_offset = out->zero_point;
    return MTF_OK;
}

static inline int8_t mul_one(const mul_data_t *d, int32_t a, int32_t b)
{
    int32_t product = (d->input1_offset + a) * (d->input2_offset + b);
    int32_t v = d->output_offset + mtf_mul_by_qm(product, d->multiplier, d->shift);
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

static mtf_status_t mul_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mul_data_t *d = mtf_node_data(node);
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
                *y++ = mul_one(d, a[i * s1], c[i * s2]);
            mtf_bcast_next_row(b, &p);
        }
    } else {
        /* Byte pointers and unaligned loads: an operand may be a constant in the model bytes. */
        const uint8_t *x1 = in1->data, *x2 = in2->data;
        float *y = (float *)out->data;
        for (int32_t r = 0; r < b->rows; r++) {
            const uint8_t *a = x1 + 4 * p.off1, *c = x2 + 4 * p.off2;
            for (int32_t i = 0; i < n; i++) {
                float v = mtf_load_f32(a + 4 * i * s1) * mtf_load_f32(c + 4 * i * s2);
                *y++ = clamp_float(v, d->f_min, d->f_max);
            }
            mtf_bcast_next_row(b, &p);
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_mul = {mul_prepare, mul_eval};
