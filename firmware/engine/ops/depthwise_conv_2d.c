/*
 * depthwise_conv_2d.c - DEPTHWISE_CONV_2D, int8 activations with int8 weights
 * (per-tensor or per-channel along dimension 3) and an optional int32 bias,
 * as TFLite Micro's reference DepthwiseConvPerChannel computes it.
 *
 * Layouts: input [N, H, W, Cin], filter [1, KH, KW, Cout], output
 * [N, OH, OW, Cout] with Cout = Cin * depth_multiplier; output channel c reads
 * input channel c / depth_multiplier. Like the reference, the input offset
 * is added at every tap inside the input and padding taps are skipped.
 */
#include <stdint.h>

#include "mtf_conv.h"

/* What every pixel of one evaluation shares: the valid taps of the current
 * pixel as g.rows x g.cols single taps (g.n 1), and the requantization. */
typedef struct {
    mtf_runs_t g;
    mtf_conv_rq_t r;
    const uint8_t *bias;
} dw_ctx_t;

/*
 * Channels [0, count) (count a multiple of 4) of one output pixel, four at a
 * time with the accumulators in registers across all taps, for depth
 * multiplier 1 (each channel reads its own input channel) or a multiple of
 * 4 (the four share one input channel, so each input value, offset added
 * once, feeds four MACs). x is the input at the first valid tap (channel 0),
 * w its weights. Sums wrap in uint32 like TFLite Micro's int32 accumulation
 * in practice.
 */
static MTF_NOINLINE void dw_pixel4(const dw_ctx_t *t, const int8_t *x, const int8_t *w, int8_t *out, int32_t count,
                                   int32_t depth_mult)
{
    /* From tap to tap along a row, and from the end of a row to the next. */
    const int32_t rows = t->g.rows, cols = t->g.cols, x_step = t->g.x_col, w_step = t->g.w_col;
    const int32_t x_row = t->g.x_row - cols * x_step, w_row = t->g.w_row - cols * w_step, off = t->r.in_off;
    const int32_t xs = depth_mult == 1; /* input step from channel to channel */
#if MTF_DSP
    /* Word loads (see MTF_ALIGN_MASK) of four weights, and with depth
     * multiplier 1 of four input values. */
    const int packed = ((((uintptr_t)w | (uint32_t)w_step | (uint32_t)w_row |
                          (xs ? (uintptr_t)x | (uint32_t)x_step | (uint32_t)x_row : 0u)) & MTF_ALIGN_MASK) == 0);
    const int32_t offp = t->r.offp;
#endif
    for (int32_t c = 0; c < count; c += 4) {
        /* Scalars, not an array: an array whose address goes to the
         * requantization would live on the stack. */
        uint32_t a0 = (uint32_t)mtf_conv_bias(t->bias, c), a1 = (uint32_t)mtf_conv_bias(t->bias, c + 1);
        uint32_t a2 = (uint32_t)mtf_conv_bias(t->bias, c + 2), a3 = (uint32_t)mtf_conv_bias(t->bias, c + 3);
        const int8_t *xt = x + c / depth_mult, *wt = w + c;
#if MTF_DSP
        int32_t s0 = (int32_t)a0, s1 = (int32_t)a1, s2 = (int32_t)a2, s3 = (int32_t)a3;
        if (packed && xs) {
            /* The offset goes on in packed 16-bit adds and each lane pair
             * takes one 16x16 MAC. */
            for (int32_t fy = 0; fy < rows; fy++, xt += x_row, wt += w_row) {
                for (const int8_t *const x_end = xt + cols * x_step; xt != x_end; xt += x_step, wt += w_step) {
                    const int32_t xv = mtf_load4(xt), wv = mtf_load4(wt);
                    const int32_t xe = mtf_sxtab16(offp, xv), xo = mtf_sxtab16_odd(offp, xv);
                    const int32_t we = __sxtb16(wv), wo = mtf_sxtb16_odd(wv);
                    s0 = __smlabb(we, xe, s0);
                    s2 = __smlatt(we, xe, s2);
                    s1 = __smlabb(wo, xo, s1);
                    s3 = __smlatt(wo, xo, s3);
                }
            }
        } else if (packed) {
            /* Each input value against the four weights of a word: SMLABB/
             * SMLATB take a 16-bit lane of the widened weights times the
             * plain (offset) input. One tap per step: fewer registers than
             * two, so nothing spills. */
            for (int32_t fy = 0; fy < rows; fy++, xt += x_row, wt += w_row) {
                for (const int8_t *const x_end = xt + cols * x_step; xt != x_end; xt += x_step, wt += w_step) {
                    const int32_t x0 = xt[0] + off, v0 = mtf_load4(wt);
                    const int32_t e0 = __sxtb16(v0), o0 = mtf_sxtb16_odd(v0);
                    s0 = __smlabb(e0, x0, s0);
                    s2 = __smlatb(e0, x0, s2);
                    s1 = __smlabb(o0, x0, s1);
                    s3 = __smlatb(o0, x0, s3);
                }
            }
        }
        if (packed && t->r.fast) {
            /* The usual requantization inline: the hot path. */
            mtf_conv_store4(&t->r.q4, c, s0, s1, s2, s3, out + c);
            continue;
        }
        a0 = (uint32_t)s0;
        a1 = (uint32_t)s1;
        a2 = (uint32_t)s2;
        a3 = (uint32_t)s3;
        if (!packed)
#endif
        {
            for (int32_t fy = 0; fy < rows; fy++, xt += x_row, wt += w_row) {
                for (int32_t fx = 0; fx < cols; fx++, xt += x_step, wt += w_step) {
                    a0 += (uint32_t)(wt[0] * (xt[0] + off));
                    a1 += (uint32_t)(wt[1] * (xt[xs] + off));
                    a2 += (uint32_t)(wt[2] * (xt[2 * xs] + off));
                    a3 += (uint32_t)(wt[3] * (xt[3 * xs] + off));
                }
            }
        }
        mtf_conv_out((int32_t)a0, (int32_t)a1, (int32_t)a2, (int32_t)a3, &t->r, c, out + c, 4);
    }
}

static mtf_status_t dw_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_conv_prepare(m, node, 1);
}

static mtf_status_t dw_eval(mtf_model_t *m, mtf_node_t *node)
{
    mtf_conv_io_t io;
    const mtf_conv_data_t *d = mtf_conv_io(m, node, &io);
    const int32_t batches = io.in_dims[0], in_h = io.in_dims[1], in_w = io.in_dims[2], cin = io.in_dims[3];
    const int32_t out_h = io.out_dims[1], out_w = io.out_dims[2], cout = io.out_dims[3], depth_mult = d->depth;
    const mtf_conv_geo_t geo = { &d->win, io.filter, in_h, in_w, cin, in_w * cin, cout };
    /* The channels the four-wide kernel covers (depth multiplier 1 or a
     * multiple of 4); the others (a last 1-3 channels, other multipliers)
     * take the plain kernel, one input channel at a time. */
    const int32_t c4 = depth_mult == 1 ? cout & ~(int32_t)3 : (depth_mult % 4 == 0 ? cout : 0);
    const int8_t *in_batch = io.input;
    int8_t *out = io.output;
    dw_ctx_t t;
    mtf_conv_rq(&d->q, &t.r);
    t.bias = io.bias;
    const int32_t stride_h = d->win.stride_h, stride_w = d->win.stride_w, pad_h = d->win.pad_h, pad_w = d->win.pad_w;
    /* From the first input column of a window to its last. */
    const int32_t span_w = (d->win.filter_w - 1) * d->win.dilation_w;
    for (int32_t b = 0; b < batches; b++, in_batch += in_h * geo.row_len) {
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int8_t *w = io.filter, *x = in_batch;
            for (int32_t ox = 0; ox < out_w; ox++, out += cout) {
                const int32_t ix0 = ox * stride_w - pad_w;
                /* A window inside the input horizontally, like the one
                 * before it, has the same taps one stride further. */
                if (ox > 0 && ix0 - stride_w >= 0 && ix0 + span_w < in_w)
                    x += stride_w * cin;
                else
                    x = mtf_conv_window(&geo, in_batch, oy * stride_h - pad_h, ix0, &t.g, &w);
                t.g.w_channel = 1;
                dw_pixel4(&t, x, w, out, c4, depth_mult);
                for (int32_t c = c4; c < cout; c += depth_mult)
                    mtf_conv_pixel(x + c / depth_mult, w + c, c, c + depth_mult, &t.g, t.bias, &t.r, out + c);
            }
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_depthwise_conv_2d = { dw_prepare, dw_eval };
