/*
 * QUANTIZE: float32 -> int8/int16 (affine quantization), and requantization
 * between integer types (int8 <-> uint8, int8 -> int8 with new scale, ...),
 * with TFLite Micro's formulas:
 *   from float: q = (int32)roundf(x / (float)scale) + zero_point, clamped
 *               (the division is in float32, as TFLite Micro's AffineQuantize);
 *   requantize: q = MultiplyByQuantizedMultiplier(x - in_zp, M, shift) + out_zp,
 *               clamped, with M from (double)in_scale / (double)out_scale.
 * Float values beyond int32 saturate (TFLite Micro's cast is undefined there).
 */
#include "mtf_kernel.h"
#include "mtf_quant.h"

#include <math.h>

typedef struct {
    float scale;         /* output scale, for float input */
    int32_t multiplier;  /* requantization */
    int32_t shift;
    int32_t in_zp, out_zp;
    int32_t qmin, qmax;
    int32_t count;
} quantize_data_t;

/* The type pairs TFLite Micro's reference QUANTIZE requantizes. */
static int requant_pair(int in, int out)
{
    switch (in) {
    case MTF_INT8:
        return out == MTF_INT8 || out == MTF_UINT8 || out == MTF_INT16 || out == MTF_INT32;
    case MTF_UINT8:
        return out == MTF_INT8;
    case MTF_INT16:
        return out == MTF_INT8 || out == MTF_INT16 || out == MTF_INT32;
    case MTF_INT32:
        return out == MTF_INT8 || out == MTF_INT16;
    default:
        return 0;
    }
}

static mtf_status_t quantize_prepare(mtf_model_t *m, mtf_node_t *node)
{
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 1 && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "needs 1 input and 1 output");
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    const mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, in && out, MTF_ERR_BAD_MODEL, "missing input or output");
    MTF_ENSURE(m, out->q_count == 1, MTF_ERR_UNSUPPORTED_TYPE, "output needs one scale, has %d", out->q_count);
    int from_float = in->dtype == MTF_FLOAT32 && (out->dtype == MTF_INT8 || out->dtype == MTF_INT16);
    MTF_ENSURE(m, from_float || (requant_pair(in->dtype, out->dtype) && in->q_count >= 1),
               MTF_ERR_UNSUPPORTED_TYPE, "input type %d to output type %d", in->dtype, out->dtype);
    MTF_ENSURE(m, mtf_elements(in) == mtf_elements(out), MTF_ERR_SHAPE, "input and output sizes differ");
    quantize_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    d->scale = out->scale;
    d->out_zp = out->zero_point;
    d->in_zp = in->zero_point;
    d->count = mtf_elements(in);
    if (!from_float) {
        int shift;
        mtf_quantize_multiplier((double)in->scale / (double)out->scale, &d->multiplier, &shift);
        /* Beyond a left shift of 31 the int32 arithmetic is undefined (TFLite Micro's too). */
        MTF_ENSURE(m, shift <= 31, MTF_ERR_UNSUPPORTED_TYPE, "input/output scale ratio out of range");
        d->shift = shift;
    }
    switch (out->dtype) {
    case MTF_INT8:
        d->qmin = -128, d->qmax = 127;
        break;
    case MTF_UINT8:
        d->qmin = 0, d->qmax = 255;
        break;
    case MTF_INT16:
        d->qmin = -32768, d->qmax = 32767;
        break;
    default:
        d->qmin = INT32_MIN, d->qmax = INT32_MAX;
        break;
    }
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

/* (int32) of a double already rounded, saturating instead of undefined. */
static int32_t to_i32(double r)
{
    if (r != r)
        return 0;
    if (r >= 2147483647.0)
        return INT32_MAX;
    if (r <= -2147483648.0)
        return INT32_MIN;
    return (int32_t)r;
}

static mtf_status_t quantize_eval(mtf_model_t *m, mtf_node_t *node)
{
    const quantize_data_t *d = mtf_node_data(node);
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    for (int32_t i = 0; i < d->count; i++) {
        int64_t v;
        if (in->dtype == MTF_FLOAT32) {
            float x = mtf_load_f32(in->data + 4 * i);
            v = (int64_t)to_i32((double)roundf(x / d->scale)) + d->out_zp;
        } else {
            int32_t x = (int32_t)((uint32_t)load_int(in->data, in->dtype, i) - (uint32_t)d->in_zp);
            v = (int64_t)mtf_mul_by_qm(x, d->multiplier, d->shift) + d->out_zp;
        }
        v = v < d->qmin ? d->qmin : v;
        v = v > d->qmax ? d->qmax : v;
        store_int(out->data, out->dtype, i, (int32_t)v);
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_quantize = {quantize_prepare, quantize_eval};
