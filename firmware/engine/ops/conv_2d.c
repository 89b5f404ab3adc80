/*
 * conv_2d.c - CONV_2D, int8 activations with int8 weights (per-tensor or
 * per-channel) and an optional int32 bias, as TFLite Micro's reference
 * ConvPerChannel computes it (grouped convolution included).
 *
 * Layouts: input [N, H, W, Cin], filter [Cout, KH, KW, Cin / groups],
 * output [N, OH, OW, Cout]. Like the reference, the input offset is added at
 * every tap inside the input and padding taps are skipped; sums wrap in
 * uint32, giving the reference's int32 accumulator bit for bit.
 */
#include <stdint.h>

#include "mtf_kernel.h"
#include "mtf_quant.h"
#include "mtf_window.h"

/* Conv2DOptions fields (schema.fbs). */
enum { OPT_PADDING = 0, OPT_STRIDE_W = 1, OPT_STRIDE_H = 2, OPT_ACTIVATION = 3, OPT_DILATION_W = 4,
       OPT_DILATION_H = 5 };

typedef struct {
    mtf_window_t win;
    mtf_conv_channels_t q;
    int32_t filter_depth; /* input channels per group */
    int32_t per_group;    /* output channels per group */
} conv_data_t;

/* Geometry of the clipped window of one output pixel when one filter row
 * meets one contiguous run of input (unit width dilation, one group). */
typedef struct {
    int32_t rows;      /* filter rows inside the input */
    int32_t run_len;   /* contiguous bytes of input and weights per filter row */
    int32_t x_row;     /* input step between filter rows */
    int32_t w_row;     /* weight step between filter rows */
    int32_t w_channel; /* weight step between output channels */
} run_window_t;

/*
 * sum w[i] * (x[i] + off) for i < n, added to acc of channels 0..3 (weights
 * w + k * w_channel for channel k). Wrapping uint32 sums: TFLite Micro's int32
 * accumulation wraps in practice, and hostile biases must not make it
 * undefined here.
 */
static inline void run4(const int8_t *x, const int8_t *w, int32_t n, int32_t w_channel, int32_t off, uint32_t acc[4])
{
    int32_t i = 0;
#if MTF_DSP
    /* Four taps per step: the input offset goes on while the input bytes are
     * widened (SXTAB16, shared by four channels), then two dual MACs per
     * channel. Word loads where the core allows them unaligned, else only
     * when every pointer is word aligned (see MTF_ALIGN_MASK). The
     * weights of channels 1 and 3 are read at w_channel past those of 0 and
     * 2: fewer pointers, no spills. */
    if ((((uintptr_t)x | (uintptr_t)w | (uint32_t)w_channel) & MTF_ALIGN_MASK) == 0 && n >= 4) {
        const int32_t offp = (int32_t)(((uint32_t)off & 0xffffu) * 0x10001u);
        int32_t a0 = (int32_t)acc[0], a1 = (int32_t)acc[1], a2 = (int32_t)acc[2], a3 = (int32_t)acc[3];
        const int8_t *p = w, *p2 = w + 2 * w_channel;
        const int8_t *const x_end = x + (n & ~(int32_t)3);
        const int8_t *xp = x;
        while (xp < x_end) {
            const int32_t xv = mtf_load4(xp);
            const int32_t xe = mtf_sxtab16(offp, xv), xo = mtf_sxtab16_odd(offp, xv);
            int32_t v = mtf_load4(p);
            a0 = __smlad(__sxtb16(v), xe, a0);
            a0 = __smlad(mtf_sxtb16_odd(v), xo, a0);
            v = mtf_load4(p + w_channel);
            a1 = __smlad(__sxtb16(v), xe, a1);
            a1 = __smlad(mtf_sxtb16_odd(v), xo, a1);
            v = mtf_load4(p2);
            a2 = __smlad(__sxtb16(v), xe, a2);
            a2 = __smlad(mtf_sxtb16_odd(v), xo, a2);
            v = mtf_load4(p2 + w_channel);
            a3 = __smlad(__sxtb16(v), xe, a3);
            a3 = __smlad(mtf_sxtb16_odd(v), xo, a3);
            xp += 4;
            p += 4;
            p2 += 4;
        }
        acc[0] = (uint32_t)a0;
        acc[1] = (uint32_t)a1;
        acc[2] = (uint32_t)a2;
        acc[3] = (uint32_t)a3;
        i = n & ~(int32_t)3;
        if (i == n)
            return;
    }
#endif
    const int8_t *w0 = w, *w1 = w + w_channel, *w2 = w1 + w_channel, *w3 = w2 + w_channel;
    uint32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (; i < n; i++) {
        const int32_t xv = x[i] + off;
        a0 += (uint32_t)(w0[i] * xv);
        a1 += (uint32_t)(w1[i] * xv);
        a2 += (uint32_t)(w2[i] * xv);
        a3 += (uint32_t)(w3[i] * xv);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/*
 * Output channels [0, count) (count a multiple of 4) of one pixel, four
 * channels at a time so that each input byte is loaded once per four MACs.
 * x is the input at the first valid tap, w the weights of channel 0 at it.
 * Kept out of line: its own register allocation keeps the accumulators and
 * pointers out of the stack.
 */
static MTF_NOINLINE void conv_pixel4(const int8_t *x, const int8_t *w, int32_t count, const run_window_t *g,
                                     const uint8_t *bias, const mtf_conv_channels_t *q, int8_t *out)
{
    const int32_t *const mult = mtf_cc_multiplier(q);
    const int8_t *const shift = mtf_cc_shift(q);
    const int32_t n = g->run_len, rows = g->rows, x_row = g->x_row, w_row = g->w_row, w_channel = g->w_channel;
    const int32_t off = q->in_offset, out_offset = q->out_offset, act_min = q->act_min, act_max = q->act_max;
    const int right_only = q->right_only;
    for (int32_t c = 0; c < count; c += 4, w += 4 * w_channel) {
        uint32_t a[4];
        for (int k = 0; k < 4; k++)
            a[k] = (uint32_t)mtf_conv_bias(bias, c + k);
        const int8_t *xr = x, *wr = w;
        for (int32_t fy = 0; fy < rows; fy++, xr += x_row, wr += w_row)
            run4(xr, wr, n, w_channel, off, a);
        if (right_only) {
            for (int k = 0; k < 4; k++)
                out[c + k] = mtf_requant_right_i8((int32_t)a[k], mult[c + k], -shift[c + k], out_offset, act_min,
                                                  act_max);
            continue;
        }
        for (int k = 0; k < 4; k++)
            out[c + k] = mtf_requant_i8((int32_t)a[k], mult[c + k], shift[c + k], out_offset, act_min, act_max);
    }
}

/* sum w[i] * (x[i] + offset), the reference's accumulation, wrapping. */
static inline uint32_t dot_i8_offset(const int8_t *w, const int8_t *x, int32_t n, int32_t offset)
{
    uint32_t acc = 0;
    for (int32_t i = 0; i < n; i++)
        acc += (uint32_t)(w[i] * (x[i] + offset));
    return acc;
}

static mtf_status_t conv_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_conv_operands_t ops;
    MTF_TRY(mtf_conv_operands(m, node, &ops));
    const mtf_tensor_t *input = ops.input, *filter = ops.filter, *bias = ops.bias, *output = ops.output;

    const int32_t cout = filter->dims[0];
    const int32_t cin = input->dims[3];
    const int32_t fdepth = filter->dims[3];
    MTF_ENSURE(m, input->dims[0] == output->dims[0], MTF_ERR_SHAPE, "batch of input and output differ");
    MTF_ENSURE(m, output->dims[3] == cout, MTF_ERR_SHAPE, "output has %d channels, filter %d", output->dims[3],
               cout);
    for (int i = 0; i < 4; i++) {
        MTF_ENSURE(m, input->dims[i] > 0 && filter->dims[i] > 0 && output->dims[i] > 0, MTF_ERR_SHAPE,
                   "input, filter and output dimensions must be positive");
    }
    MTF_ENSURE(m, cin % fdepth == 0, MTF_ERR_SHAPE, "input depth %d is not a multiple of filter depth %d",
               cin, fdepth);
    const int32_t groups = cin / fdepth;
    MTF_ENSURE(m, cout % groups == 0, MTF_ERR_SHAPE, "%d output channels do not split into %d groups", cout, groups);
    if (bias != NULL) {
        MTF_ENSURE(m, bias->dtype == MTF_INT32, MTF_ERR_UNSUPPORTED_TYPE, "bias must be int32 (type %d)",
                   bias->dtype);
        MTF_ENSURE(m, mtf_elements(bias) == cout, MTF_ERR_SHAPE, "bias has %d values for %d channels",
                   mtf_elements(bias), cout);
    }

    conv_data_t *d = (conv_data_t *)mtf_alloc_persistent(m, sizeof(conv_data_t));
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
    MTF_TRY(mtf_window_check_steps(m, &d->win, input->dims[2], input->dims[3]));
    d->filter_depth = fdepth;
    d->per_group = cout / groups;
    MTF_TRY(mtf_conv_channels_init(m, &d->q, input, filter, bias, output, mtf_opt_u8(node, OPT_ACTIVATION, 0), cout));
    mtf_node_set_data(node, d);
    return MTF_OK;
}

static mtf_status_t conv_eval(mtf_model_t *m, mtf_node_t *node)
{
    const conv_data_t *d = (const conv_data_t *)mtf_node_data(node);
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    const mtf_tensor_t *filter = mtf_node_input(m, node, 1);
    const mtf_tensor_t *bias_t = mtf_node_num_inputs(node) == 3 ? mtf_node_input(m, node, 2) : NULL;
    mtf_tensor_t *output = mtf_node_output(m, node, 0);
    const uint8_t *bias = bias_t != NULL ? bias_t->data : NULL;

    const int32_t batches = input->dims[0], in_h = input->dims[1], in_w = input->dims[2], cin = input->dims[3];
    const int32_t out_h = output->dims[1], out_w = output->dims[2], cout = output->dims[3];
    const int32_t kh = d->win.filter_h, kw = d->win.filter_w, fdepth = d->filter_depth;
    const int32_t dil_h = d->win.dilation_h, dil_w = d->win.dilation_w;
    const int32_t row_len = in_w * cin;
    const int32_t filter_len = kh * kw * fdepth;
    const int32_t in_offset = d->q.in_offset, out_offset = d->q.out_offset;
    const int32_t act_min = d->q.act_min, act_max = d->q.act_max;
    /* Locals, not d->..., in the loops: every int8 store may alias the op
     * data as far as the compiler knows, which would force reloads. */
    const int32_t *const mult = mtf_cc_multiplier(&d->q);
    const int8_t *const shift = mtf_cc_shift(&d->q);
    const int32_t stride_h = d->win.stride_h, stride_w = d->win.stride_w, pad_h = d->win.pad_h, pad_w = d->win.pad_w;
    /* With unit width dilation and one group, one filter row meets one
     * contiguous run of input: a single dot product per filter row. */
    const int runs = dil_w == 1 && fdepth == cin;
    const int32_t c4 = runs ? cout & ~(int32_t)3 : 0;

    const int8_t *in_batch = (const int8_t *)input->data;
    const int8_t *weights = (const int8_t *)filter->data;
    int8_t *out = (int8_t *)output->data;

    for (int32_t b = 0; b < batches; b++, in_batch += in_h * row_len) {
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t iy0 = oy * stride_h - pad_h;
            int32_t fy0, fy1;
            mtf_window_clip(iy0, dil_h, kh, in_h, &fy0, &fy1);
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t ix0 = ox * stride_w - pad_w;
                int32_t fx0, fx1;
                mtf_window_clip(ix0, dil_w, kw, in_w, &fx0, &fx1);
                /* Input at the first valid tap, for channel 0 of group 0 (the
                 * batch start when no tap is valid: nothing is read then). */
                const int8_t *in_origin = in_batch;
                if (fy1 > fy0 && fx1 > fx0)
                    in_origin += (iy0 + fy0 * dil_h) * row_len + (ix0 + fx0 * dil_w) * cin;
                const int8_t *w_origin = weights + (fy0 * kw + fx0) * fdepth;
                const int32_t run_len = (fx1 - fx0) * fdepth;
                if (c4 > 0) {
                    run_window_t g = { fy1 - fy0, run_len, dil_h * row_len, kw * fdepth, filter_len };
                    if (g.x_row == run_len && g.w_row == run_len) { /* whole input rows: one run */
                        g.run_len *= g.rows;
                        g.rows = 1;
                    }
                    conv_pixel4(in_origin, w_origin, c4, &g, bias, &d->q, out);
                    out += c4;
                }
                for (int32_t c = c4; c < cout; c++) {
                    const int32_t group = c / d->per_group;
                    const int8_t *w_c = w_origin + c * filter_len;
                    const int8_t *x_c = in_origin + group * fdepth;
                    uint32_t acc = (uint32_t)mtf_conv_bias(bias, c);
                    for (int32_t fy = fy0; fy < fy1; fy++, w_c += kw * fdepth, x_c += dil_h * row_len) {
                        if (runs) {
                            acc += dot_i8_offset(w_c, x_c, run_len, in_offset);
                            continue;
                        }
                        const int8_t *w = w_c;
                        const int8_t *x = x_c;
                        for (int32_t fx = fx0; fx < fx1; fx++, w += fdepth, x += dil_w * cin)
                            acc += dot_i8_offset(w, x, fdepth, in_offset);
                    }
                    *out++ = mtf_requant_i8((int32_t)acc, mult[c], shift[c], out_offset, act_min, act_max);
                }
            }
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_conv_2d = { conv_prepare, conv_eval };
