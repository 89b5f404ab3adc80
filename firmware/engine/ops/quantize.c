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
#include "mtf_activation.h"
#include "mtf_quant.h"

#include <math.h>

typedef struct {
    float scale;         /* output scale, for float input */
    int32_t multiplier;  /* requantization */
    int32_t shift;
    int32_t in_zp, out_zp;
    int32_t qmin, qmax;
} quantize_data_t;

/* The type pairs TFLite Micro's reference QUANTIZE supports, as (input << 4) | output
 * (dtype codes are below 16): from float32, and the integer requantizations. */
static const uint8_t pairs[] = {
    MTF_FLOAT32 << 4 | MTF_INT8, MTF_FLOAT32 << 4 | MTF_INT16, MTF_INT8 << 4 | MTF_INT8,
    MTF_INT8 << 4 | MTF_UINT8,   MTF_INT8 << 4 | MTF_INT16,    MTF_INT8 << 4 | MTF_INT32,
    MTF_UINT8 << 4 | MTF_INT8,   MTF_INT16 << 4 | MTF_INT8,    MTF_INT16 << 4 | MTF_INT16,
    MTF_INT16 << 4 | MTF_INT32,  MTF_INT32 << 4 | MTF_INT8,    MTF_INT32 << 4 | MTF_INT16,
};

static mtf_status_t quantize_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *t[2];
    MTF_TRY(mtf_arith_unary(m, node, t));
    const mtf_tensor_t *in = t[0], *out = t[1];
    int from_float = in->dtype == MTF_FLOAT32;
    int ok = 0;
    for (size_t i = 0; i < sizeof pairs; i++)
        ok |= pairs[i] == (in->dtype << 4 | out->dtype);
    /* One failure site: the type pair, or the quantization (one output scale, an input scale). */
    MTF_ENSURE(m, ok && out->q_count == 1 && (from_float || in->q_count >= 1), MTF_ERR_UNSUPPORTED_TYPE,
               "unsupported types or quantization");
    quantize_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    d->scale = out->scale;
    d->out_zp = out->zero_point;
    d->in_zp = in->zero_point;
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

static mtf_status_t quantize_eval(mtf_model_t *m, mtf_node_t *node)
{
    const quantize_data_t *d = mtf_node_data(node);
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    const int32_t n = mtf_arith_count(in);
    for (int32_t i = 0; i < n; i++) {
        int64_t v;
        if (in->dtype == MTF_FLOAT32) {
            float x = mtf_load_f32(in->data + 4 * i);
            v = (int64_t)to_i32(roundf(x / d->scale)) + d->out_zp;
        } else {
            int32_t x = (int32_t)((uint32_t)load_int(in->data, in->dtype, i) - (uint32_t)d->in_zp);
            v = (int64_t)mtf_arith_mul_by_qm(x, d->multiplier, d->shift) + d->out_zp;
        }
        v = v < d->qmin ? d->qmin : v;
        v = v > d->qmax ? d->qmax : v;
        store_int(out->data, out->dtype, i, (int32_t)v);
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_quantize = {quantize_prepare, quantize_eval};
