/*
 * mtf_pool.c - AVERAGE_POOL_2D and MAX_POOL_2D on int8, as TFLite Micro's
 * reference integer pools. MAX: the largest input among the taps inside the
 * input (padding never wins), starting from -128. AVERAGE: the sum over the
 * taps inside the input (padding is left out of both sum and count) divided
 * by the count, rounding half away from zero with C's truncating division.
 * Both clamp to the fused activation range; input and output share their
 * quantization.
 */
#include <math.h>

#include "mtf_activation.h"
#include "mtf_window.h"

/* Channels handled together: the inner loop runs over contiguous channels of
 * one tap, the accumulators stay on the stack. */
#define BLOCK 32

/*
 * Prepare of AVERAGE_POOL_2D and MAX_POOL_2D (TFLite Micro's PoolingPrepare):
 * int8 only, input and output sharing scale (within 1e-6) and zero point,
 * since the pools never requantize.
 */
mtf_status_t mtf_pool_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *t[2];
    MTF_TRY(mtf_arith_io(m, node, 1, 1, t));
    const mtf_tensor_t *input = t[0], *output = t[1];
    /* TFLite Micro's TF_LITE_ENSURE_NEAR(scale, scale, 1e-6): the difference in
     * float, compared in double, where no float lies between 1e-6f and 1e-6. */
    const float scale_diff = fabsf(input->scale - output->scale);
    MTF_ENSURE(m, input->dtype == MTF_INT8 && output->dtype == MTF_INT8 && scale_diff <= 1.0e-6f &&
                      input->zero_point == output->zero_point,
               MTF_ERR_UNSUPPORTED_TYPE, "int8 only, with equal input and output quantization");
    MTF_ENSURE(m, input->ndims == 4 && output->ndims == 4 && input->dims[0] == output->dims[0] &&
                      input->dims[3] == output->dims[3],
               MTF_ERR_SHAPE, "input and output shapes differ");
    mtf_pool_data_t *d = (mtf_pool_data_t *)mtf_alloc_persistent(m, sizeof(mtf_pool_data_t));
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    const int32_t geo[6] = { mtf_opt_i32(node, MTF_POOL_OPT_STRIDE_H, 0), mtf_opt_i32(node, MTF_POOL_OPT_STRIDE_W, 0),
                             1,
                             1,
                             mtf_opt_i32(node, MTF_POOL_OPT_FILTER_H, 0),
                             mtf_opt_i32(node, MTF_POOL_OPT_FILTER_W, 0) };
    MTF_TRY(mtf_window_init(m, &d->win, mtf_opt_u8(node, MTF_POOL_OPT_PADDING, MTF_PADDING_SAME), geo,
                            input->dims[1], input->dims[2], output->dims[1], output->dims[2]));
    const int activation = mtf_opt_u8(node, MTF_POOL_OPT_ACTIVATION, 0);
    MTF_TRY(mtf_check_act_output(m, activation, output));
    /* Cannot fail for an int8 output. */
    (void)mtf_activation_range_quantized(m, activation, output, &d->act_min, &d->act_max);
    mtf_node_set_data(node, d);
    return MTF_OK;
}

mtf_status_t mtf_pool_eval(mtf_model_t *m, mtf_node_t *node, int is_max)
{
    const mtf_pool_data_t *d = (const mtf_pool_data_t *)mtf_node_data(node);
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    mtf_tensor_t *output = mtf_node_output(m, node, 0);
    const int32_t batches = input->dims[0], in_h = input->dims[1], in_w = input->dims[2], depth = input->dims[3];
    const int32_t out_h = output->dims[1], out_w = output->dims[2];
    const int32_t row_len = in_w * depth;
    const int8_t *in_batch = (const int8_t *)input->data;
    int8_t *out = (int8_t *)output->data;
    int32_t acc[BLOCK];

    for (int32_t b = 0; b < batches; b++, in_batch += in_h * row_len) {
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t iy0 = oy * d->win.stride_h - d->win.pad_h;
            int32_t fy0, fy1;
            mtf_window_clip(iy0, 1, d->win.filter_h, in_h, &fy0, &fy1);
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t ix0 = ox * d->win.stride_w - d->win.pad_w;
                int32_t fx0, fx1;
                mtf_window_clip(ix0, 1, d->win.filter_w, in_w, &fx0, &fx1);
                const int32_t count = fy1 > fy0 && fx1 > fx0 ? (fy1 - fy0) * (fx1 - fx0) : 0;
                /* An empty window gives -128 (then clamped) for MAX; TFLite Micro fails the
                 * invoke of AVERAGE on it. */
                MTF_ENSURE(m, is_max || count > 0, MTF_ERR_INTERNAL, "pooling window outside the input");
                const int8_t *in_win = in_batch;
                if (count > 0)
                    in_win += (iy0 + fy0) * row_len + (ix0 + fx0) * depth;
                for (int32_t c0 = 0; c0 < depth; c0 += BLOCK) {
                    const int32_t n = depth - c0 < BLOCK ? depth - c0 : BLOCK;
                    for (int32_t i = 0; i < n; i++)
                        acc[i] = is_max ? INT8_MIN : 0;
                    const int8_t *row = in_win + c0;
                    for (int32_t fy = fy0; fy < fy1; fy++, row += row_len) {
                        const int8_t *x = row;
                        for (int32_t fx = fx0; fx < fx1; fx++, x += depth) {
                            if (is_max) {
                                for (int32_t i = 0; i < n; i++)
                                    acc[i] = x[i] > acc[i] ? x[i] : acc[i];
                            } else {
                                for (int32_t i = 0; i < n; i++)
                                    acc[i] += x[i];
                            }
                        }
                    }
                    for (int32_t i = 0; i < n; i++) {
                        int32_t a = acc[i];
                        if (!is_max)
                            a = (a + (a > 0 ? count / 2 : -(count / 2))) / count;
                        a = a < d->act_min ? d->act_min : a;
                        a = a > d->act_max ? d->act_max : a;
                        *out++ = (int8_t)a;
                    }
                }
            }
        }
    }
    return MTF_OK;
}
