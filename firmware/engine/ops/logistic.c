/*
 * LOGISTIC (sigmoid).
 *
 * int8 reproduces TFLite Micro's reference kernel: the input is rescaled to
 * Q4.27, passed through gemmlowp's fixed-point logistic and rounded to
 * 1/256 steps with zero point -128. Since the result depends on the int8
 * input alone, prepare evaluates that exact integer formula for all 256
 * inputs and eval is a table lookup. float32 uses TFLite's expf formula.
 */
#include <math.h>

#include "mtf_fixedpoint.h"
#include "mtf_kernel.h"
#include "mtf_quant.h"

#define INPUT_BITS 4 /* integer bits of the rescaled input */

typedef struct {
    int8_t table[256]; /* indexed by the input byte (uint8_t cast of the int8 value) */
} logistic_data_t;

/* The reference int8 formula for one input value. */
static int8_t logistic_one(int32_t x, int32_t zero_point, int32_t radius, int32_t multiplier, int shift)
{
    int32_t input = x - zero_point;
    if (input <= -radius)
        return -128;
    if (input >= radius)
        return 127;
    int32_t q4 = mtf_mul_by_qm(input, multiplier, shift);
    int32_t q0 = mtf_fp_logistic(q4, INPUT_BITS);
    int32_t v = mtf_rdbpot(q0, 31 - 8) - 128;
    return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
}

static mtf_status_t logistic_prepare(mtf_model_t *m, mtf_node_t *node)
{
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 1 && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "needs 1 input and 1 output");
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    const mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, in != NULL && out != NULL, MTF_ERR_BAD_MODEL, "missing tensor");
    MTF_ENSURE(m, in->dtype == out->dtype, MTF_ERR_UNSUPPORTED_TYPE, "input and output types differ");
    MTF_ENSURE(m, mtf_elements(in) == mtf_elements(out), MTF_ERR_SHAPE, "input and output sizes differ");
    if (in->dtype == MTF_FLOAT32)
        return MTF_OK;
    MTF_ENSURE(m, in->dtype == MTF_INT8, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d", in->dtype);
    MTF_ENSURE(m, mtf_fp_scale_ok(in->scale), MTF_ERR_BAD_MODEL, "bad input scale");
    MTF_ENSURE(m, out->zero_point == -128, MTF_ERR_UNSUPPORTED_TYPE, "int8 output zero point must be -128");
    logistic_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    /* input_scale * 2^27 split by frexp, as TFLite Micro's prepare does. */
    double real = (double)in->scale * (double)(1 << (31 - INPUT_BITS));
    int shift = 0;
    double q = frexp(real, &shift);
    int32_t multiplier = (int32_t)round(q * (double)((int64_t)1 << 31));
    MTF_ENSURE(m, shift >= 0 && shift <= 62, MTF_ERR_UNSUPPORTED_TYPE, "input scale out of range");
    int32_t radius = mtf_fp_input_radius(INPUT_BITS, shift, 31);
    for (int32_t x = -128; x <= 127; x++)
        d->table[(uint8_t)(int8_t)x] = logistic_one(x, in->zero_point, radius, multiplier, shift);
    return MTF_OK;
}

static mtf_status_t logistic_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    int32_t n = mtf_elements(in);
    if (in->dtype == MTF_INT8) {
        const logistic_data_t *d = mtf_node_data(node);
        const uint8_t *x = in->data;
        int8_t *y = (int8_t *)out->data;
        for (int32_t i = 0; i < n; i++)
            y[i] = d->table[x[i]];
        return MTF_OK;
    }
    const uint8_t *x = in->data; /* unaligned loads: the input may be a model constant */
    float *y = (float *)out->data;
    for (int32_t i = 0; i < n; i++) {
        float v = mtf_load_f32(x + 4 * i);
        /* TFLite's cut-offs: beyond them the float result is 1 or exp(v). */
        if (v > 16.619047164916992188f)
            y[i] = 1.0f;
        else if (v < -9.0f)
            y[i] = expf(v);
        else
            y[i] = 1.0f / (1.0f + expf(-v));
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_logistic = {logistic_prepare, logistic_eval};
