/*
 * FULLY_CONNECTED: output[b][c] = act(sum_d input[b][d] * weights[c][d] + bias[c]).
 *
 * int8 (per-tensor or per-channel weights, int32 bias) and float32, as TFLite
 * Micro's reference kernels compute them. Options (FullyConnectedOptions):
 * fused_activation_function = 0, weights_format = 1 (DEFAULT only),
 * keep_num_dims = 2 (only shapes the output, which the converter wrote).
 *
 * int8 arithmetic: TFLite Micro sums (w + w_offset) * (x + x_offset) in int32.
 * In modular (uint32) arithmetic that equals
 *     sum(w*x) + x_offset*sum(w) + bias + w_offset*(sum(x) + x_offset*depth),
 * so prepare folds bias + x_offset*sum(w) into one int32 per output channel
 * (constant weights) and eval's inner loop is a bare int8 dot product.
 * Depth is capped at 65536, where the bare dot product cannot overflow int32.
 */
#include "mtf_kernel.h"
#include "mtf_quant.h"

#include <math.h>

#define FC_MAX_DEPTH 65536

typedef struct {
    int32_t batches, depth, out_depth;
    int32_t in_offset, w_offset, out_offset;
    int32_t act_min, act_max;
    float f_min, f_max;
    int32_t *mult;  /* one per channel (per-channel weights) or one in all */
    int8_t *shift;
    int32_t *fold;  /* bias + in_offset*sum(w) per channel; NULL when weights are not constant */
    const uint8_t *weights; /* constant weights and bias (NULL: none), kept when both are */
    const uint8_t *bias;    /* constant, so that eval decodes no constant tensor */
    uint8_t kept;
    uint8_t per_channel;
} fc_data_t;

static mtf_status_t fc_prepare(mtf_model_t *m, mtf_node_t *node)
{
    MTF_ENSURE(m, mtf_node_num_inputs(node) >= 2 && mtf_node_num_inputs(node) <= 3 && mtf_node_num_outputs(node) == 1,
               MTF_ERR_BAD_MODEL, "needs 2 or 3 inputs and 1 output");
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    const mtf_tensor_t *w = mtf_node_input(m, node, 1);
    const mtf_tensor_t *bias = mtf_node_input(m, node, 2);
    const mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, in && w && out, MTF_ERR_BAD_MODEL, "missing input, weights or output");
    MTF_ENSURE(m, mtf_opt_u8(node, 1, 0) == 0, MTF_ERR_UNSUPPORTED_TYPE, "shuffled weights format");
    MTF_ENSURE(m, in->dtype == out->dtype, MTF_ERR_UNSUPPORTED_TYPE, "input type %d, output type %d", in->dtype,
               out->dtype);
    int is_float = in->dtype == MTF_FLOAT32 && w->dtype == MTF_FLOAT32;
    int is_int8 = in->dtype == MTF_INT8 && w->dtype == MTF_INT8;
    MTF_ENSURE(m, is_float || is_int8, MTF_ERR_UNSUPPORTED_TYPE, "input type %d with weights type %d", in->dtype,
               w->dtype);
    MTF_ENSURE(m, bias == NULL || bias->dtype == (is_float ? MTF_FLOAT32 : MTF_INT32), MTF_ERR_UNSUPPORTED_TYPE,
               "bias type %d", bias ? bias->dtype : 0);

    /* Shapes, as TFLite Micro reads them: depth from the weights, channels and batches from the output. */
    MTF_ENSURE(m, w->ndims >= 2 && out->ndims >= 1, MTF_ERR_SHAPE, "weights need 2 dims");
    int32_t depth = w->dims[w->ndims - 1];
    int32_t out_depth = out->dims[out->ndims - 1];
    int32_t batches = out_depth ? mtf_elements(out) / out_depth : 0;
    MTF_ENSURE(m, depth <= FC_MAX_DEPTH, MTF_ERR_UNSUPPORTED_TYPE, "depth %d (max %d)", depth, FC_MAX_DEPTH);
    MTF_ENSURE(m, out_depth <= w->dims[w->ndims - 2] && (int64_t)out_depth * depth <= mtf_elements(w),
               MTF_ERR_SHAPE, "%d outputs but %d weight rows", out_depth, w->dims[w->ndims - 2]);
    MTF_ENSURE(m, (int64_t)batches * depth <= mtf_elements(in), MTF_ERR_SHAPE,
               "input has %d values, needs %d x %d", mtf_elements(in), batches, depth);
    MTF_ENSURE(m, bias == NULL || mtf_elements(bias) >= out_depth, MTF_ERR_SHAPE, "bias shorter than %d",
               out_depth);

    fc_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    d->batches = batches;
    d->depth = depth;
    d->out_depth = out_depth;
    if ((w->flags & MTF_TENSOR_CONST) && (bias == NULL || (bias->flags & MTF_TENSOR_CONST))) {
        d->weights = w->data;
        d->bias = bias != NULL ? bias->data : NULL;
        d->kept = 1;
    }
    int activation = mtf_opt_i8(node, 0, MTF_ACT_NONE);
    if (is_float) {
        MTF_ENSURE(m, activation <= MTF_ACT_RELU6, MTF_ERR_UNSUPPORTED_TYPE, "fused activation %d", activation);
        mtf_activation_range_float(activation, &d->f_min, &d->f_max);
        return MTF_OK;
    }

    d->per_channel = w->q_count > 1;
    int n_mult = d->per_channel ? w->q_count : 1;
    if (d->per_channel)
        MTF_ENSURE(m, w->q_dim == 0 && w->q_count == w->dims[0] && w->q_count >= out_depth,
                   MTF_ERR_UNSUPPORTED_TYPE, "%d weight scales on dim %d", w->q_count, w->q_dim);
    MTF_ENSURE(m, w->q_count >= 1 && in->q_count >= 1 && out->q_count >= 1, MTF_ERR_UNSUPPORTED_TYPE,
               "int8 tensors must be quantized");
    MTF_ENSURE(m, in->zero_point >= -128 && in->zero_point <= 127 && out->zero_point >= -128 &&
                      out->zero_point <= 127 && w->zero_point >= -128 && w->zero_point <= 127,
               MTF_ERR_BAD_MODEL, "int8 zero point out of range");
    d->mult = mtf_alloc_persistent(m, sizeof(int32_t) * (size_t)n_mult);
    d->shift = mtf_alloc_persistent(m, (size_t)n_mult);
    if (d->mult == NULL || d->shift == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    /* Both TFLite Micro paths compute input_scale * weight_scale / output_scale in double. */
    for (int c = 0; c < n_mult; c++) {
        double product = (double)in->scale * (double)mtf_tensor_scale(w, c);
        int shift;
        if (!d->per_channel && bias != NULL) {
            double diff = fabs(product - (double)bias->scale);
            MTF_ENSURE(m, diff / (double)out->scale <= 0.02, MTF_ERR_BAD_MODEL, "bias scale does not match");
        }
        mtf_quantize_multiplier(product / (double)out->scale, &d->mult[c], &shift);
        d->shift[c] = (int8_t)shift;
    }
    d->in_offset = -in->zero_point;
    /* TFLite Micro applies the weight offset only with per-tensor weights. */
    d->w_offset = d->per_channel ? 0 : -w->zero_point;
    d->out_offset = out->zero_point;
    MTF_TRY(mtf_activation_range_quantized(m, activation, out, &d->act_min, &d->act_max));

    if (d->kept) {
        d->fold = mtf_alloc_persistent(m, sizeof(int32_t) * (size_t)(out_depth ? out_depth : 1));
        if (d->fold == NULL)
            return MTF_ERR_ARENA_TOO_SMALL;
        const int8_t *wd = (const int8_t *)w->data;
        for (int32_t c = 0; c < out_depth; c++) {
            int32_t sum = 0;
            for (int32_t k = 0; k < depth; k++)
                sum += wd[(int64_t)c * depth + k];
            uint32_t f = (uint32_t)d->in_offset * (uint32_t)sum;
            if (bias != NULL)
                f += (uint32_t)mtf_load_i32(bias->data + 4 * c);
            d->fold[c] = (int32_t)f;
        }
    }
    return MTF_OK;
}

static void fc_eval_float(const fc_data_t *d, const mtf_tensor_t *in, const uint8_t *w, const uint8_t *bias,
                          mtf_tensor_t *out)
{
    float *o = (float *)(void *)out->data;
    for (int32_t b = 0; b < d->batches; b++) {
        const uint8_t *x = in->data + (size_t)4 * b * d->depth;
        for (int32_t c = 0; c < d->out_depth; c++) {
            const uint8_t *wr = w + (size_t)4 * c * d->depth;
            float total = 0.0f;
            for (int32_t k = 0; k < d->depth; k++)
                total += mtf_load_f32(x + 4 * k) * mtf_load_f32(wr + 4 * k);
            float v = total + (bias ? mtf_load_f32(bias + 4 * c) : 0.0f);
            /* min(max(v, lo), hi) in TFLite's argument order: NaN passes through. */
            v = v < d->f_min ? d->f_min : v;
            v = d->f_max < v ? d->f_max : v;
            o[(size_t)b * d->out_depth + c] = v;
        }
    }
}

/*
 * int8 dot products. Four weight rows share each input byte, so one input
 * load feeds four MACs (about 2.5-3 instructions per MAC on a Cortex-M4 in
 * plain C). With the DSP extension (Cortex-M4/M7/M33/M55), SXTB16 widens
 * pairs of bytes and SMLAD does two MACs at once. Every sum is exact: depth
 * <= 65536 bounds |sum| by 2^30, so int32 never wraps and the order of the
 * additions does not matter (bit-exact with TFLite Micro's loop).
 */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define FC_DSP 1
#endif

#ifdef FC_DSP
/* Four bytes from any address (weights sit in the model bytes, unaligned). */
static inline uint32_t fc_ld32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
/* Bytes 1 and 3 widened: SXTB16 with its rotate operand (gcc 12 does not
 * fold a C rotate into it, which would cost one instruction per word). */
static inline int16x2_t fc_sxtb16_odd(uint32_t v)
{
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
/* Two MACs of bytes 0 and 2, then two of bytes 1 and 3 of w against x02/x13. */
#define FC_MAC4(acc, wv, x02, x13)                                       \
    do {                                                                 \
        (acc) = __smlad(__sxtb16((int8x4_t)(wv)), (x02), (acc));       \
        (acc) = __smlad(fc_sxtb16_odd(wv), (x13), (acc));              \
    } while (0)
#endif

static inline int32_t dot_i8(const int8_t *w, const int8_t *x, int32_t n)
{
    int32_t acc = 0;
    int32_t k = 0;
#ifdef FC_DSP
    for (; k + 4 <= n; k += 4) {
        uint32_t xv = fc_ld32(x + k);
        int16x2_t x02 = __sxtb16((int8x4_t)xv), x13 = fc_sxtb16_odd(xv);
        uint32_t wv = fc_ld32(w + k);
        FC_MAC4(acc, wv, x02, x13);
    }
#else
    for (; k + 4 <= n; k += 4) {
        acc += w[k] * x[k];
        acc += w[k + 1] * x[k + 1];
        acc += w[k + 2] * x[k + 2];
        acc += w[k + 3] * x[k + 3];
    }
#endif
    for (; k < n; k++)
        acc += w[k] * x[k];
    return acc;
}

/* Rows w, w + n, w + 2n, w + 3n against x: acc[0..3]. */
static inline void dot4_i8(const int8_t *w, const int8_t *x, int32_t n, int32_t acc[4])
{
    const int8_t *w0 = w, *w1 = w + n, *w2 = w1 + n, *w3 = w2 + n;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int32_t k = 0;
#ifdef FC_DSP
    for (; k + 4 <= n; k += 4) {
        uint32_t xv = fc_ld32(x + k);
        int16x2_t x02 = __sxtb16((int8x4_t)xv), x13 = fc_sxtb16_odd(xv);
        uint32_t v0 = fc_ld32(w0 + k), v1 = fc_ld32(w1 + k), v2 = fc_ld32(w2 + k), v3 = fc_ld32(w3 + k);
        FC_MAC4(a0, v0, x02, x13);
        FC_MAC4(a1, v1, x02, x13);
        FC_MAC4(a2, v2, x02, x13);
        FC_MAC4(a3, v3, x02, x13);
    }
#endif
    for (; k < n; k++) {
        int32_t xk = x[k];
        a0 += w0[k] * xk;
        a1 += w1[k] * xk;
        a2 += w2[k] * xk;
        a3 += w3[k] * xk;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Bias, offsets, requantization and clamp of output channel c. */
static inline int8_t fc_out(const fc_data_t *d, const int8_t *wr, const uint8_t *bias, int32_t c, int32_t acc,
                            uint32_t row_term)
{
    uint32_t fold;
    if (d->fold != NULL) {
        fold = (uint32_t)d->fold[c];
    } else {
        int32_t sw = 0;
        for (int32_t k = 0; k < d->depth; k++)
            sw += wr[k];
        fold = (uint32_t)d->in_offset * (uint32_t)sw;
        if (bias != NULL)
            fold += (uint32_t)mtf_load_i32(bias + 4 * c);
    }
    int ch = d->per_channel ? c : 0;
    int32_t v = (int32_t)((uint32_t)acc + fold + row_term);
    v = mtf_mul_by_qm(v, d->mult[ch], d->shift[ch]) + d->out_offset;
    v = v < d->act_min ? d->act_min : v;
    v = v > d->act_max ? d->act_max : v;
    return (int8_t)v;
}

static mtf_status_t fc_eval(mtf_model_t *m, mtf_node_t *node)
{
    const fc_data_t *d = mtf_node_data(node);
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    /* Constant weights and bias were kept by prepare: no decoding here. */
    const uint8_t *wb = d->weights, *bias = d->bias;
    if (!d->kept) {
        const mtf_tensor_t *w = mtf_node_input(m, node, 1);
        const mtf_tensor_t *b = mtf_node_input(m, node, 2);
        wb = w->data;
        bias = b != NULL ? b->data : NULL;
    }
    if (in->dtype == MTF_FLOAT32) {
        fc_eval_float(d, in, wb, bias, out);
        return MTF_OK;
    }
    const int8_t *wd = (const int8_t *)wb;
    const int32_t depth = d->depth;
    int8_t *o = (int8_t *)out->data;
    for (int32_t b = 0; b < d->batches; b++) {
        const int8_t *x = (const int8_t *)in->data + (size_t)b * depth;
        uint32_t row_term = 0;
        if (d->w_offset != 0) {
            int32_t sx = 0;
            for (int32_t k = 0; k < depth; k++)
                sx += x[k];
            row_term = (uint32_t)d->w_offset * ((uint32_t)sx + (uint32_t)d->in_offset * (uint32_t)depth);
        }
        int8_t *ob = o + (size_t)b * d->out_depth;
        int32_t c = 0;
        for (; c + 4 <= d->out_depth; c += 4) {
            const int8_t *wr = wd + (size_t)c * depth;
            int32_t acc[4];
            dot4_i8(wr, x, depth, acc);
            for (int j = 0; j < 4; j++)
                ob[c + j] = fc_out(d, wr + (size_t)j * depth, bias, c + j, acc[j], row_term);
        }
        for (; c < d->out_depth; c++) {
            const int8_t *wr = wd + (size_t)c * depth;
            ob[c] = fc_out(d, wr, bias, c, dot_i8(wr, x, depth), row_term);
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_fully_connected = {fc_prepare, fc_eval};
