/*
 * depthwise_conv_2d.c - DEPTHWISE_CONV_2D, int8 activations with int8 weights
 * (per-tensor or per-channel along dimension 3) and an optional int32 bias,
 * as TFLite Micro's reference DepthwiseConvPerChannel computes it.
 *
 * Layouts: input [N, H, W, Cin], filter [1, KH, KW, Cout], output
 * [N, OH, OW, Cout] with Cout = Cin * depth_multiplier; output channel c reads
 * input channel c / depth_multiplier. Windows wholly inside the input start
 * from the folded bias (see mtf_conv_channels_init); clipped ones add the
 * input offset tap by tap like the reference.
 */
#include "mtf_kernel.h"
#include "mtf_quant.h"
#include "mtf_window.h"

/* DepthwiseConv2DOptions fields (schema.fbs). */
enum { OPT_PADDING = 0, OPT_STRIDE_W = 1, OPT_STRIDE_H = 2, OPT_DEPTH_MULTIPLIER = 3, OPT_ACTIVATION = 4,
       OPT_DILATION_W = 5, OPT_DILATION_H = 6 };

typedef struct {
    mtf_window_t win;
    mtf_conv_channels_t q;
    int32_t depth_multiplier;
} dw_data_t;

/* Channels accumulated together when the depth multiplier is 1: the inner
 * loop runs over contiguous channels of one tap, accumulators on the stack. */
#define BLOCK 32

/*
 * Channels [c_begin, cout) of one output pixel with depth multiplier 1:
 * ny x nx valid taps, x at the first tap's channel c_begin, w at its weights,
 * out at channel c_begin. x advances x_step per tap along a row and x_row per
 * row; w advances cout per tap and w_row per row.
 */
static void dw_pixel_m1(const mtf_conv_channels_t *q, const uint8_t *bias, const int8_t *x, const int8_t *w,
                        int8_t *out, int32_t c_begin, int32_t cout, int32_t ny, int32_t nx, int32_t x_step, int32_t x_row,
                        int32_t w_row, int full)
{
    int32_t acc[BLOCK];
    const int32_t *const mult = mtf_cc_multiplier(q), *const fold = mtf_cc_fold(q);
    const int8_t *const shift = mtf_cc_shift(q);
    const int32_t off = q->in_offset, out_offset = q->out_offset, act_min = q->act_min, act_max = q->act_max;
    const int32_t count = cout - c_begin;
    for (int32_t c0 = 0; c0 < count; c0 += BLOCK) {
        const int32_t n = count - c0 < BLOCK ? count - c0 : BLOCK;
        if (full) {
            for (int32_t i = 0; i < n; i++)
                acc[i] = fold[c_begin + c0 + i];
        } else {
            for (int32_t i = 0; i < n; i++)
                acc[i] = mtf_conv_bias(bias, c_begin + c0 + i);
        }
        const int8_t *xr = x + c0, *wr = w + c0;
        for (int32_t fy = 0; fy < ny; fy++, xr += x_row, wr += w_row) {
            const int8_t *xt = xr, *wt = wr;
            for (int32_t fx = 0; fx < nx; fx++, xt += x_step, wt += cout) {
                if (full) {
                    for (int32_t i = 0; i < n; i++)
                        acc[i] += (int32_t)wt[i] * xt[i];
                } else {
                    for (int32_t i = 0; i < n; i++)
                        acc[i] += (int32_t)wt[i] * (xt[i] + off);
                }
            }
        }
        for (int32_t i = 0; i < n; i++)
            out[c0 + i] = mtf_requant_i8(acc[i], mult[c_begin + c0 + i], shift[c_begin + c0 + i], out_offset, act_min,
                                         act_max);
    }
}

/*
 * Channels [0, count) (count a multiple of 4) of one output pixel with depth
 * multiplier 1 whose kh x kw window lies inside the input: four channels at
 * a time with the accumulators in registers across all taps. x and w as in
 * dw_pixel_m1 (x_row: step from the end of one filter row to the next).
 */
static MTF_NOINLINE void dw_pixel_full4(const mtf_conv_channels_t *q, const int8_t *x, const int8_t *w, int8_t *out,
                                        int32_t count, int32_t kh, int32_t kw, int32_t x_step, int32_t x_row,
                                        int32_t cout)
{
    const int32_t *const mult = mtf_cc_multiplier(q), *const fold = mtf_cc_fold(q);
    const int8_t *const shift = mtf_cc_shift(q);
    const int32_t out_offset = q->out_offset, act_min = q->act_min, act_max = q->act_max;
    for (int32_t c = 0; c < count; c += 4) {
        int32_t a0 = fold[c], a1 = fold[c + 1], a2 = fold[c + 2], a3 = fold[c + 3];
        const int8_t *xt = x + c, *wt = w + c;
        for (int32_t fy = 0; fy < kh; fy++, xt += x_row) {
            for (int32_t fx = 0; fx < kw; fx++, xt += x_step, wt += cout) {
                a0 += wt[0] * xt[0];
                a1 += wt[1] * xt[1];
                a2 += wt[2] * xt[2];
                a3 += wt[3] * xt[3];
            }
        }
        if (q->right_only) {
            out[c] = mtf_requant_right_i8(a0, mult[c], -shift[c], out_offset, act_min, act_max);
            out[c + 1] = mtf_requant_right_i8(a1, mult[c + 1], -shift[c + 1], out_offset, act_min, act_max);
            out[c + 2] = mtf_requant_right_i8(a2, mult[c + 2], -shift[c + 2], out_offset, act_min, act_max);
            out[c + 3] = mtf_requant_right_i8(a3, mult[c + 3], -shift[c + 3], out_offset, act_min, act_max);
            continue;
        }
        out[c] = mtf_requant_i8(a0, mult[c], shift[c], out_offset, act_min, act_max);
        out[c + 1] = mtf_requant_i8(a1, mult[c + 1], shift[c + 1], out_offset, act_min, act_max);
        out[c + 2] = mtf_requant_i8(a2, mult[c + 2], shift[c + 2], out_offset, act_min, act_max);
        out[c + 3] = mtf_requant_i8(a3, mult[c + 3], shift[c + 3], out_offset, act_min, act_max);
    }
}

static mtf_status_t dw_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n_in = mtf_node_num_inputs(node);
    MTF_ENSURE(m, (n_in == 2 || n_in == 3) && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "expects 2 or 3 inputs and 1 output");
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    const mtf_tensor_t *filter = mtf_node_input(m, node, 1);
    const mtf_tensor_t *bias = n_in == 3 ? mtf_node_input(m, node, 2) : NULL;
    const mtf_tensor_t *output = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, input != NULL && filter != NULL && output != NULL, MTF_ERR_BAD_MODEL, "missing tensor");
    MTF_ENSURE(m, input->dtype == MTF_INT8 && output->dtype == MTF_INT8, MTF_ERR_UNSUPPORTED_TYPE,
               "only int8 input and output are supported (input type %d, output type %d)", input->dtype,
               output->dtype);
    MTF_ENSURE(m, filter->dtype == MTF_INT8, MTF_ERR_UNSUPPORTED_TYPE, "only int8 filters are supported (type %d)",
               filter->dtype);
    MTF_ENSURE(m, filter->flags & MTF_TENSOR_CONST, MTF_ERR_UNSUPPORTED_TYPE, "non-constant filter");
    MTF_ENSURE(m, input->ndims == 4 && filter->ndims == 4 && output->ndims == 4, MTF_ERR_SHAPE,
               "input, filter and output must be 4-D");
    MTF_ENSURE(m, input->q_count >= 1 && filter->q_count >= 1 && output->q_count >= 1, MTF_ERR_BAD_MODEL,
               "input, filter and output must be quantized");

    const int32_t cin = input->dims[3];
    const int32_t cout = filter->dims[3];
    const int32_t multiplier = mtf_opt_i32(node, OPT_DEPTH_MULTIPLIER, 0);
    MTF_ENSURE(m, filter->dims[0] == 1, MTF_ERR_SHAPE, "filter must be [1, KH, KW, C]");
    MTF_ENSURE(m, input->dims[0] == output->dims[0], MTF_ERR_SHAPE, "batch of input and output differ");
    MTF_ENSURE(m, output->dims[3] == cout, MTF_ERR_SHAPE, "output has %d channels, filter %d", output->dims[3],
               cout);
    MTF_ENSURE(m, multiplier > 0 && cout == cin * multiplier, MTF_ERR_SHAPE,
               "%d output channels are not %d input channels times depth multiplier %d", cout, cin, multiplier);
    if (bias != NULL) {
        MTF_ENSURE(m, bias->dtype == MTF_INT32, MTF_ERR_UNSUPPORTED_TYPE, "bias must be int32 (type %d)",
                   bias->dtype);
        MTF_ENSURE(m, mtf_elements(bias) == cout, MTF_ERR_SHAPE, "bias has %d values for %d channels",
                   mtf_elements(bias), cout);
    }

    dw_data_t *d = (dw_data_t *)mtf_alloc_persistent(m, sizeof(dw_data_t));
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    d->win.stride_w = mtf_opt_i32(node, OPT_STRIDE_W, 0);
    d->win.stride_h = mtf_opt_i32(node, OPT_STRIDE_H, 0);
    d->win.dilation_w = mtf_opt_i32(node, OPT_DILATION_W, 1);
    d->win.dilation_h = mtf_opt_i32(node, OPT_DILATION_H, 1);
    d->win.filter_h = filter->dims[1];
    d->win.filter_w = filter->dims[2];
    MTF_TRY(mtf_window_init(m, &d->win, mtf_opt_u8(node, OPT_PADDING, MTF_PADDING_SAME), input->dims[1],
                            input->dims[2], output->dims[1], output->dims[2]));
    d->depth_multiplier = multiplier;
    MTF_TRY(mtf_conv_channels_init(m, &d->q, input, filter, bias, output, mtf_opt_u8(node, OPT_ACTIVATION, 0), cout, 1,
                                   cout, filter->dims[1] * filter->dims[2]));
    mtf_node_set_data(node, d);
    return MTF_OK;
}

static mtf_status_t dw_eval(mtf_model_t *m, mtf_node_t *node)
{
    const dw_data_t *d = (const dw_data_t *)mtf_node_data(node);
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    const mtf_tensor_t *filter = mtf_node_input(m, node, 1);
    const mtf_tensor_t *bias_t = mtf_node_num_inputs(node) == 3 ? mtf_node_input(m, node, 2) : NULL;
    mtf_tensor_t *output = mtf_node_output(m, node, 0);
    const uint8_t *bias = bias_t != NULL ? bias_t->data : NULL;

    const int32_t batches = input->dims[0], in_h = input->dims[1], in_w = input->dims[2], cin = input->dims[3];
    const int32_t out_h = output->dims[1], out_w = output->dims[2], cout = output->dims[3];
    const int32_t kh = d->win.filter_h, kw = d->win.filter_w, depth_mult = d->depth_multiplier;
    const int32_t row_len = in_w * cin;
    const int32_t in_offset = d->q.in_offset, out_offset = d->q.out_offset;
    const int32_t act_min = d->q.act_min, act_max = d->q.act_max;
    /* Locals, not d->..., in the loops: every int8 store may alias the op
     * data as far as the compiler knows, which would force reloads. */
    const int32_t *const mult = mtf_cc_multiplier(&d->q), *const fold = mtf_cc_fold(&d->q);
    const int8_t *const shift = mtf_cc_shift(&d->q);
    const int32_t stride_h = d->win.stride_h, stride_w = d->win.stride_w, pad_h = d->win.pad_h, pad_w = d->win.pad_w;

    const int8_t *in_batch = (const int8_t *)input->data;
    const int8_t *weights = (const int8_t *)filter->data;
    int8_t *out = (int8_t *)output->data;

    for (int32_t b = 0; b < batches; b++, in_batch += in_h * row_len) {
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t iy0 = oy * stride_h - pad_h;
            int32_t fy0, fy1;
            mtf_window_clip(iy0, d->win.dilation_h, kh, in_h, &fy0, &fy1);
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t ix0 = ox * stride_w - pad_w;
                int32_t fx0, fx1;
                mtf_window_clip(ix0, d->win.dilation_w, kw, in_w, &fx0, &fx1);
                const int full = fy0 == 0 && fy1 == kh && fx0 == 0 && fx1 == kw;
                const int32_t nx = fx1 - fx0;
                /* Steps between taps, in elements: input along x and y, weights along x and y. */
                const int32_t x_step = d->win.dilation_w * cin;
                const int32_t y_step = d->win.dilation_h * row_len - nx * x_step;
                const int32_t wy_step = (kw - nx) * cout;
                const int8_t *in_origin = in_batch;
                if (fy1 > fy0 && nx > 0)
                    in_origin += (iy0 + fy0 * d->win.dilation_h) * row_len + (ix0 + fx0 * d->win.dilation_w) * cin;
                const int8_t *w_origin = weights + (fy0 * kw + fx0) * cout;
                if (depth_mult == 1) {
                    int32_t c4 = 0;
                    if (full) {
                        c4 = cout & ~(int32_t)3;
                        dw_pixel_full4(&d->q, in_origin, w_origin, out, c4, kh, kw, x_step, y_step, cout);
                    }
                    dw_pixel_m1(&d->q, bias, in_origin + c4, w_origin + c4, out + c4, c4, cout, fy1 - fy0, nx, x_step,
                                y_step + nx * x_step, kw * cout, full);
                    out += cout;
                    continue;
                }
                for (int32_t c = 0; c < cout; c++) {
                    const int8_t *x = in_origin + c / depth_mult;
                    const int8_t *w = w_origin + c;
                    int32_t acc;
                    if (full) {
                        acc = fold[c];
                        for (int32_t fy = 0; fy < kh; fy++, x += y_step, w += wy_step)
                            for (int32_t fx = 0; fx < kw; fx++, x += x_step, w += cout)
                                acc += (int32_t)*w * *x;
                    } else {
                        acc = mtf_conv_bias(bias, c);
                        for (int32_t fy = fy0; fy < fy1; fy++, x += y_step, w += wy_step)
                            for (int32_t fx = fx0; fx < fx1; fx++, x += x_step, w += cout)
                                acc += (int32_t)*w * (*x + in_offset);
                    }
                    *out++ = mtf_requant_i8(acc, mult[c], shift[c], out_offset, act_min, act_max);
                }
            }
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_depthwise_conv_2d = { dw_prepare, dw_eval };
