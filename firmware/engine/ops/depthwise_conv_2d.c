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

#include "mtf_window.h"

/*
 * The valid taps of one output pixel's window: ny rows of nx taps. From one
 * tap to the next along a row the input advances x_step and the weights
 * cout; at the end of a row the input advances x_row more and the weights
 * w_row more.
 */
typedef struct {
    int32_t ny, nx;
    int32_t x_step, x_row;
    int32_t cout, w_row;
    /* Per operator: the requantization of q and the packed input offset,
     * computed once rather than at every pixel. */
    mtf_requant_t r;
    int32_t offp;
} dw_taps_t;

/*
 * Depth multiplier 1: channels [0, count) (count a multiple of 4) of one
 * output pixel, four at a time with the accumulators in registers across all
 * taps. x is the input at the first valid tap (channel 0), w its weights.
 * Sums wrap in uint32 like TFLite Micro's int32 accumulation in practice.
 */
static MTF_NOINLINE void dw_pixel4_m1(const mtf_conv_channels_t *q, const uint8_t *bias, const int8_t *x,
                                      const int8_t *w, int8_t *out, int32_t count, const dw_taps_t *t)
{
    const int32_t ny = t->ny, nx = t->nx, x_step = t->x_step, x_row = t->x_row, cout = t->cout, w_row = t->w_row;
    const int32_t off = q->in_offset;
#if MTF_DSP
    /* Four channels per word: the offset goes on in packed 16-bit adds and
     * each lane pair takes one 16x16 MAC (word loads: see MTF_ALIGN_MASK). */
    const int packed = ((((uintptr_t)x | (uintptr_t)w | (uint32_t)x_step | (uint32_t)x_row | (uint32_t)cout |
                          (uint32_t)w_row) & MTF_ALIGN_MASK) == 0);
    const int32_t offp = t->offp, fast = q->fast;
    const mtf_requant_t *const r = &t->r;
#endif
    for (int32_t c = 0; c < count; c += 4, out += 4) {
        /* Scalars, not an array: an array whose address goes to the
         * requantization would live on the stack. */
        uint32_t a0 = (uint32_t)mtf_conv_bias(bias, c), a1 = (uint32_t)mtf_conv_bias(bias, c + 1);
        uint32_t a2 = (uint32_t)mtf_conv_bias(bias, c + 2), a3 = (uint32_t)mtf_conv_bias(bias, c + 3);
        const int8_t *xt = x + c, *wt = w + c;
#if MTF_DSP
        if (packed) {
            int32_t s0 = (int32_t)a0, s1 = (int32_t)a1, s2 = (int32_t)a2, s3 = (int32_t)a3;
            for (int32_t fy = 0; fy < ny; fy++, xt += x_row, wt += w_row) {
                const int8_t *const x_end = xt + nx * x_step;
                while (xt != x_end) {
                    const int32_t xv = mtf_load4(xt), wv = mtf_load4(wt);
                    const int32_t xe = mtf_sxtab16(offp, xv), xo = mtf_sxtab16_odd(offp, xv);
                    const int32_t we = __sxtb16(wv), wo = mtf_sxtb16_odd(wv);
                    s0 = __smlabb(we, xe, s0);
                    s2 = __smlatt(we, xe, s2);
                    s1 = __smlabb(wo, xo, s1);
                    s3 = __smlatt(wo, xo, s3);
                    xt += x_step;
                    wt += cout;
                }
            }
            if (fast) {
                mtf_conv_store4(r, c, s0, s1, s2, s3, out);
                continue;
            }
            a0 = (uint32_t)s0;
            a1 = (uint32_t)s1;
            a2 = (uint32_t)s2;
            a3 = (uint32_t)s3;
        } else
#endif
        {
            for (int32_t fy = 0; fy < ny; fy++, xt += x_row, wt += w_row) {
                for (int32_t fx = 0; fx < nx; fx++, xt += x_step, wt += cout) {
                    a0 += (uint32_t)(wt[0] * (xt[0] + off));
                    a1 += (uint32_t)(wt[1] * (xt[1] + off));
                    a2 += (uint32_t)(wt[2] * (xt[2] + off));
                    a3 += (uint32_t)(wt[3] * (xt[3] + off));
                }
            }
        }
        const uint32_t a[4] = { a0, a1, a2, a3 };
        mtf_conv_requant(q, c, a, 4, out);
    }
}

/*
 * Depth multiplier a multiple of 4: all output channels of one pixel, four
 * at a time; the four share one input channel, so each input value (offset
 * added once) feeds four MACs.
 */
static MTF_NOINLINE void dw_pixel4_shared(const mtf_conv_channels_t *q, const uint8_t *bias, const int8_t *x,
                                          const int8_t *w, int8_t *out, int32_t depth_mult, const dw_taps_t *t)
{
    const int32_t ny = t->ny, nx = t->nx, x_step = t->x_step, x_row = t->x_row, cout = t->cout, w_row = t->w_row;
    const int32_t off = q->in_offset;
#if MTF_DSP
    const int packed = ((((uintptr_t)w | (uint32_t)cout | (uint32_t)w_row) & MTF_ALIGN_MASK) == 0);
#endif
    for (int32_t c = 0; c < cout; c += 4, out += 4) {
        uint32_t a0 = (uint32_t)mtf_conv_bias(bias, c), a1 = (uint32_t)mtf_conv_bias(bias, c + 1);
        uint32_t a2 = (uint32_t)mtf_conv_bias(bias, c + 2), a3 = (uint32_t)mtf_conv_bias(bias, c + 3);
        const int8_t *xt = x + c / depth_mult, *wt = w + c;
#if MTF_DSP
        /* Two taps per step, each input value against the four weights of a
         * word: SMLABB/SMLATB take a 16-bit lane of the widened weights
         * times the plain (offset) input, no packing of the input needed. */
        if (packed) {
            int32_t s0 = (int32_t)a0, s1 = (int32_t)a1, s2 = (int32_t)a2, s3 = (int32_t)a3;
            for (int32_t fy = 0; fy < ny; fy++, xt += x_row, wt += w_row) {
                for (int32_t pairs = nx >> 1; pairs > 0; pairs--) {
                    const int32_t x0 = xt[0] + off, x1 = xt[x_step] + off;
                    const int32_t v0 = mtf_load4(wt), v1 = mtf_load4(wt + cout);
                    const int32_t e0 = __sxtb16(v0), o0 = mtf_sxtb16_odd(v0);
                    s0 = __smlabb(e0, x0, s0);
                    s2 = __smlatb(e0, x0, s2);
                    s1 = __smlabb(o0, x0, s1);
                    s3 = __smlatb(o0, x0, s3);
                    const int32_t e1 = __sxtb16(v1), o1 = mtf_sxtb16_odd(v1);
                    s0 = __smlabb(e1, x1, s0);
                    s2 = __smlatb(e1, x1, s2);
                    s1 = __smlabb(o1, x1, s1);
                    s3 = __smlatb(o1, x1, s3);
                    xt += 2 * x_step;
                    wt += 2 * cout;
                }
                if (nx & 1) {
                    const int32_t x0 = xt[0] + off, v0 = mtf_load4(wt);
                    const int32_t e0 = __sxtb16(v0), o0 = mtf_sxtb16_odd(v0);
                    s0 = __smlabb(e0, x0, s0);
                    s2 = __smlatb(e0, x0, s2);
                    s1 = __smlabb(o0, x0, s1);
                    s3 = __smlatb(o0, x0, s3);
                    xt += x_step;
                    wt += cout;
                }
            }
            if (q->fast) {
                mtf_conv_store4(&t->r, c, s0, s1, s2, s3, out);
                continue;
            }
            const uint32_t a[4] = { (uint32_t)s0, (uint32_t)s1, (uint32_t)s2, (uint32_t)s3 };
            mtf_conv_requant(q, c, a, 4, out);
            continue;
        }
#endif
        for (int32_t fy = 0; fy < ny; fy++, xt += x_row, wt += w_row) {
            for (int32_t fx = 0; fx < nx; fx++, xt += x_step, wt += cout) {
                const int32_t xv = *xt + off;
                a0 += (uint32_t)(wt[0] * xv);
                a1 += (uint32_t)(wt[1] * xv);
                a2 += (uint32_t)(wt[2] * xv);
                a3 += (uint32_t)(wt[3] * xv);
            }
        }
        const uint32_t a[4] = { a0, a1, a2, a3 };
        mtf_conv_requant(q, c, a, 4, out);
    }
}

/* Channels [c_begin, cout) of one output pixel, one at a time (any depth
 * multiplier; the channels the four-wide kernels leave). */
static void dw_pixel_rest(const mtf_conv_channels_t *q, const uint8_t *bias, const int8_t *x, const int8_t *w,
                          int8_t *out, int32_t c_begin, int32_t depth_mult, const dw_taps_t *t)
{
    const int32_t off = q->in_offset;
    for (int32_t c = c_begin; c < t->cout; c++) {
        const int8_t *xt = x + c / depth_mult, *wt = w + c;
        uint32_t acc = (uint32_t)mtf_conv_bias(bias, c);
        for (int32_t fy = 0; fy < t->ny; fy++, xt += t->x_row, wt += t->w_row)
            for (int32_t fx = 0; fx < t->nx; fx++, xt += t->x_step, wt += t->cout)
                acc += (uint32_t)(*wt * (*xt + off));
        mtf_conv_requant(q, c, &acc, 1, out + c);
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
    const int32_t out_h = io.out_dims[1], out_w = io.out_dims[2], cout = io.out_dims[3];
    const int32_t kh = d->win.filter_h, kw = d->win.filter_w, depth_mult = d->depth;
    const int32_t dil_h = d->win.dilation_h, dil_w = d->win.dilation_w, row_len = in_w * cin;
    /* The four-wide kernel for this depth multiplier, and the channels it covers. */
    const int shared = depth_mult % 4 == 0;
    const int32_t c4 = depth_mult == 1 ? cout & ~(int32_t)3 : (shared ? cout : 0);
    const int8_t *in_batch = io.input;
    int8_t *out = io.output;
    dw_taps_t t;
    t.x_step = dil_w * cin;
    t.cout = cout;
    t.r = mtf_requant_params(&d->q);
    t.offp = (int32_t)(((uint32_t)d->q.in_offset & 0xffffu) * 0x10001u);
    const int32_t stride_h = d->win.stride_h, stride_w = d->win.stride_w, pad_h = d->win.pad_h, pad_w = d->win.pad_w;
    for (int32_t b = 0; b < batches; b++, in_batch += in_h * row_len) {
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t iy0 = oy * stride_h - pad_h;
            int32_t fy0, fy1;
            mtf_window_clip(iy0, dil_h, kh, in_h, &fy0, &fy1);
            t.ny = fy1 - fy0;
            int32_t nx_last = -1;
            for (int32_t ox = 0; ox < out_w; ox++, out += cout) {
                const int32_t ix0 = ox * stride_w - pad_w;
                int32_t fx0, fx1;
                mtf_window_clip(ix0, dil_w, kw, in_w, &fx0, &fx1);
                const int32_t nx = fx1 - fx0;
                if (nx != nx_last) { /* the steps change only where the window is clipped */
                    nx_last = nx;
                    t.nx = nx;
                    t.x_row = dil_h * row_len - nx * t.x_step;
                    t.w_row = (kw - nx) * cout;
                }
                /* Input at the first valid tap (the batch start when no tap
                 * is valid: nothing is read then). */
                const int8_t *x = in_batch;
                if (t.ny > 0 && nx > 0)
                    x += (iy0 + fy0 * dil_h) * row_len + (ix0 + fx0 * dil_w) * cin;
                const int8_t *w = io.filter + (fy0 * kw + fx0) * cout;
                if (c4 > 0) {
                    if (shared)
                        dw_pixel4_shared(&d->q, io.bias, x, w, out, depth_mult, &t);
                    else
                        dw_pixel4_m1(&d->q, io.bias, x, w, out, c4, &t);
                }
                if (c4 < cout)
                    dw_pixel_rest(&d->q, io.bias, x, w, out, c4, depth_mult, &t);
            }
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_depthwise_conv_2d = { dw_prepare, dw_eval };
