/*
 * average_pool_2d.c - AVERAGE_POOL_2D on int8, as TFLite Micro's reference
 * integer AveragePool: the sum over the taps inside the input (padding is
 * left out of both sum and count) is divided by the count, rounding half
 * away from zero with C's truncating division, then clamped to the fused
 * activation range. Input and output share their quantization.
 */
#include "mtf_kernel.h"
#include "mtf_quant.h"
#include "mtf_window.h"

/* Channels summed together: the inner loop runs over contiguous channels of
 * one tap, the accumulators stay on the stack. */
#define BLOCK 32

static mtf_status_t avg_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_pool_prepare(m, node);
}

static mtf_status_t avg_eval(mtf_model_t *m, mtf_node_t *node)
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
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                /* TFLite Micro fails the invoke on a window with no input. */
                MTF_ENSURE(m, count > 0, MTF_ERR_INTERNAL, "pooling window outside the input");
                const int8_t *in_win = in_batch + (iy0 + fy0) * row_len + (ix0 + fx0) * depth;
                for (int32_t c0 = 0; c0 < depth; c0 += BLOCK) {
                    const int32_t n = depth - c0 < BLOCK ? depth - c0 : BLOCK;
                    for (int32_t i = 0; i < n; i++)
                        acc[i] = 0;
                    const int8_t *row = in_win + c0;
                    for (int32_t fy = fy0; fy < fy1; fy++, row += row_len) {
                        const int8_t *x = row;
                        for (int32_t fx = fx0; fx < fx1; fx++, x += depth)
                            for (int32_t i = 0; i < n; i++)
                                acc[i] += x[i];
                    }
                    for (int32_t i = 0; i < n; i++) {
                        int32_t a = acc[i];
                        a = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
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

const mtf_kernel_t mtf_kernel_average_pool_2d = { avg_prepare, avg_eval };
