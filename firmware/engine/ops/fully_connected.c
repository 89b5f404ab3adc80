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

    if ((w->flags & MTF_TENSOR_CONST) && (bias == NULL || (bias->flags & MTF_TENSOR_CONST))) {
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

static void fc_eval_float(const fc_data_t *d, const mtf_tensor_t *in, const mtf_tensor_t *w,
                          const mtf_tensor_t *bias, mtf_tensor_t *out)
{
    float *o = (float *)(void *)out->data;
    for (int32_t b = 0; b < d->batches; b++) {
        const uint8_t *x = in->data + (size_t)4 * b * d->depth;
        for (int32_t c = 0; c < d->out_depth; c++) {
            const uint8_t *wr = w->data + (size_t)4 * c * d->depth;
            float total = 0.0f;
            for (int32_t k = 0; k < d->depth; k++)
                total += mtf_load_f32(x + 4 * k) * mtf_load_f32(wr + 4 * k);
            float v = total + (bias ? mtf_load_f32(bias->data + 4 * c) : 0.0f);
            /* min(max(v, lo), hi) in TFLite's argument order: NaN passes through. */
            v = v < d->f_min ? d->f_min : v;
            v = d->f_max < v ? d->f_max : v;
            o[(size_t)b * d->out_depth + c] = v;
        }
    }
}

/* int8 dot product, unrolled by four: 4 instructions per MAC on a Cortex-M4
 * (two byte loads and a multiply-accumulate each, the loop overhead shared: 16
 * instructions per 4 MACs with arm-none-eabi-gcc 12 -O2). */
static inline int32_t dot_i8(const int8_t *w, const int8_t *x, int32_t n)
{
    int32_t acc = 0;
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        acc += w[k] * x[k];
        acc += w[k + 1] * x[k + 1];
        acc += w[k + 2] * x[k + 2];
        acc += w[k + 3] * x[k + 3];
    }
    for (; k < n; k++)
        acc += w[k] * x[k];
    return acc;
}

static mtf_status_t fc_eval(mtf_model_t *m, mtf_node_t *node)
{
    const fc_data_t *d = mtf_node_data(node);
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    const mtf_tensor_t *w = mtf_node_input(m, node, 1);
    const mtf_tensor_t *bias = mtf_node_input(m, node, 2);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    if (in->dtype == MTF_FLOAT32) {
        fc_eval_float(d, in, w, bias, out);
        return MTF_OK;
    }
    const int32_t depth = d->depth;
    const int8_t *wd = (const int8_t *)w->data;
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
        for (int32_t c = 0; c < d->out_depth; c++) {
            const int8_t *wr = wd + (size_t)c * depth;
            int32_t acc = dot_i8(wr, x, depth);
            uint32_t fold;
            if (d->fold != NULL) {
                fold = (uint32_t)d->fold[c];
            } else {
                int32_t sw = 0;
                for (int32_t k = 0; k < depth; k++)
                    sw += wr[k];
                fold = (uint32_t)d->in_offset * (uint32_t)sw;
                if (bias != NULL)
                    fold += (uint32_t)mtf_load_i32(bias->data + 4 * c);
            }
            int ch = d->per_channel ? c : 0;
            int32_t v = (int32_t)((uint32_t)acc + fold + row_term);
            v = mtf_mul_by_qm(v, d->mult[ch], d->shift[ch]) + d->out_offset;
            v = v < d->act_min ? d->act_min : v;
            v = v > d->act_max ? d->act_max : v;
            o[(size_t)b * d->out_depth + c] = (int8_t)v;
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_fully_connected = {fc_prepare, fc_eval};
