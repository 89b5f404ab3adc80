/*
 * max_pool_2d.c - MAX_POOL_2D on int8, as TFLite Micro's reference integer
 * MaxPool: the largest input among the taps inside the input (padding never
 * wins), starting from -128, clamped to the fused activation range. Input
 * and output share their quantization.
 */
#include "mtf_kernel.h"
#include "mtf_quant.h"
#include "mtf_window.h"

/* Channels handled together: the inner loop runs over contiguous channels
 * of one tap, the running maxima stay on the stack. */
#define BLOCK 64

static mtf_status_t max_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_pool_prepare(m, node);
}

static mtf_status_t max_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_pool_data_t *d = (const mtf_pool_data_t *)mtf_node_data(node);
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    mtf_tensor_t *output = mtf_node_output(m, node, 0);
    const int32_t batches = input->dims[0], in_h = input->dims[1], in_w = input->dims[2], depth = input->dims[3];
    const int32_t out_h = output->dims[1], out_w = output->dims[2];
    const int32_t row_len = in_w * depth;
    const int8_t act_min = (int8_t)d->act_min, act_max = (int8_t)d->act_max;
    const int8_t *in_batch = (const int8_t *)input->data;
    int8_t *out = (int8_t *)output->data;
    int8_t best[BLOCK];

    for (int32_t b = 0; b < batches; b++, in_batch += in_h * row_len) {
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t iy0 = oy * d->win.stride_h - d->win.pad_h;
            int32_t fy0, fy1;
            mtf_window_clip(iy0, 1, d->win.filter_h, in_h, &fy0, &fy1);
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t ix0 = ox * d->win.stride_w - d->win.pad_w;
                int32_t fx0, fx1;
                mtf_window_clip(ix0, 1, d->win.filter_w, in_w, &fx0, &fx1);
                const int8_t *in_win = in_batch;
                if (fy1 > fy0 && fx1 > fx0)
                    in_win += (iy0 + fy0) * row_len + (ix0 + fx0) * depth;
                for (int32_t c0 = 0; c0 < depth; c0 += BLOCK) {
                    const int32_t n = depth - c0 < BLOCK ? depth - c0 : BLOCK;
                    for (int32_t i = 0; i < n; i++)
                        best[i] = INT8_MIN;
                    const int8_t *row = in_win + c0;
                    for (int32_t fy = fy0; fy < fy1; fy++, row += row_len) {
                        const int8_t *x = row;
                        for (int32_t fx = fx0; fx < fx1; fx++, x += depth)
                            for (int32_t i = 0; i < n; i++)
                                best[i] = x[i] > best[i] ? x[i] : best[i];
                    }
                    for (int32_t i = 0; i < n; i++) {
                        int8_t v = best[i] < act_min ? act_min : best[i];
                        *out++ = v > act_max ? act_max : v;
                    }
                }
            }
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_max_pool_2d = { max_prepare, max_eval };
