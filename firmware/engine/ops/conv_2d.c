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

#include "mtf_conv.h"

#if MTF_DSP
/*
 * Four taps of four channels at a time over [*xp, mem->x_end) (a non-empty
 * multiple of 4 bytes) into acc[0..3], advancing *xp, *p and *p2. Written out because the compiler spills some of the
 * fourteen registers this loop would need (29 instructions per 16 MACs
 * instead of about 32); x_end, offp and wc stay in memory (mem), so that the
 * asm needs ten registers and compiles with a frame pointer too. Without
 * optimization (no register allocation worth the name) the C loop is used.
 */
typedef struct {
    const int8_t *x_end;
    int32_t offp, wc;
} mac_mem_t;

static inline void mac16_loop(const int8_t **xp, const int8_t **pp, const int8_t **pp2, const mac_mem_t *mem,
                              int32_t acc[4])
{
    const int8_t *x = *xp, *p = *pp, *p2 = *pp2;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if defined(__OPTIMIZE__)
    int32_t v, t, xe, xo;
    __asm__("1:\n\t"
            "ldr %[v], [%[x]], #4\n\t"
            "ldr %[t], %[offp]\n\t"
            "sxtab16 %[xe], %[t], %[v]\n\t"
            "sxtab16 %[xo], %[t], %[v], ror #8\n\t"
            "ldr %[v], %[wc]\n\t"
            "ldr %[v], [%[p], %[v]]\n\t"
            "sxtb16 %[t], %[v]\n\t"
            "smlad %[a1], %[t], %[xe], %[a1]\n\t"
            "sxtb16 %[v], %[v], ror #8\n\t"
            "smlad %[a1], %[v], %[xo], %[a1]\n\t"
            "ldr %[v], [%[p]], #4\n\t"
            "sxtb16 %[t], %[v]\n\t"
            "smlad %[a0], %[t], %[xe], %[a0]\n\t"
            "sxtb16 %[v], %[v], ror #8\n\t"
            "smlad %[a0], %[v], %[xo], %[a0]\n\t"
            "ldr %[v], %[wc]\n\t"
            "ldr %[v], [%[p2], %[v]]\n\t"
            "sxtb16 %[t], %[v]\n\t"
            "smlad %[a3], %[t], %[xe], %[a3]\n\t"
            "sxtb16 %[v], %[v], ror #8\n\t"
            "smlad %[a3], %[v], %[xo], %[a3]\n\t"
            "ldr %[v], [%[p2]], #4\n\t"
            "sxtb16 %[t], %[v]\n\t"
            "smlad %[a2], %[t], %[xe], %[a2]\n\t"
            "sxtb16 %[v], %[v], ror #8\n\t"
            "smlad %[a2], %[v], %[xo], %[a2]\n\t"
            "ldr %[t], %[end]\n\t"
            "cmp %[x], %[t]\n\t"
            "blo 1b"
            : [x] "+r"(x), [p] "+r"(p), [p2] "+r"(p2), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
              [v] "=&r"(v), [t] "=&r"(t), [xe] "=&r"(xe), [xo] "=&r"(xo)
            : [end] "m"(mem->x_end), [wc] "m"(mem->wc), [offp] "m"(mem->offp)
            : "cc", "memory");
#else
    const int32_t offp = mem->offp, wc = mem->wc;
    do {
        /* The input offset goes on while the input bytes are widened
         * (SXTAB16, shared by four channels), then two dual MACs per
         * channel; the weights of channels 1 and 3 are read at wc past those
         * of 0 and 2. */
        const int32_t xv = mtf_load4(x), xe = mtf_sxtab16(offp, xv), xo = mtf_sxtab16_odd(offp, xv);
        int32_t v = mtf_load4(p);
        a0 = __smlad(__sxtb16(v), xe, __smlad(mtf_sxtb16_odd(v), xo, a0));
        v = mtf_load4(p + wc);
        a1 = __smlad(__sxtb16(v), xe, __smlad(mtf_sxtb16_odd(v), xo, a1));
        v = mtf_load4(p2);
        a2 = __smlad(__sxtb16(v), xe, __smlad(mtf_sxtb16_odd(v), xo, a2));
        v = mtf_load4(p2 + wc);
        a3 = __smlad(__sxtb16(v), xe, __smlad(mtf_sxtb16_odd(v), xo, a3));
        x += 4;
        p += 4;
        p2 += 4;
    } while (x < mem->x_end);
#endif
    *xp = x;
    *pp = p;
    *pp2 = p2;
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif

/* Consecutive output pixels (all channels, one group) whose windows are one
 * run of n bytes each, at the same weights, the input advancing x_step from
 * pixel to pixel. */
typedef struct {
    const int8_t *x; /* input at the first valid tap of the first pixel */
    const int8_t *w; /* weights of channel 0 at that tap */
    int32_t x_step, pixels, n;
} span_t;

/*
 * mtf_conv_pixel for pixels whose window is one run of n bytes (every window of a
 * 1-D model, or of whole input rows, and every 1x1 convolution): the
 * accumulators stay in registers from bias to output. Kept out of line: its
 * own register allocation keeps them and the pointers out of the stack.
 */
static MTF_NOINLINE void conv_span(const span_t *sp, int32_t cout, int32_t w_channel, const uint8_t *bias,
                                   const mtf_conv_rq_t *q, int8_t *out)
{
    const int32_t n = sp->n, wc = w_channel;
    const int8_t *x = sp->x;
    /* The channels the packed code leaves (all of them without it). */
    const mtf_runs_t g = { 1, 1, n, 0, 0, 0, 0, wc };
    int32_t c4 = 0;
#if MTF_DSP
    /* Word loads where the core allows them unaligned, else only when every
     * pointer is word aligned (see MTF_ALIGN_MASK); runs of at least 4 taps
     * and the usual requantization (q->fast), inline: the hot loop. */
    if (q->fast && n >= 4 &&
        (((uintptr_t)x | (uintptr_t)sp->w | (uint32_t)wc | (uint32_t)sp->x_step) & MTF_ALIGN_MASK) == 0)
        c4 = cout & ~(int32_t)3;
    const int32_t off = q->in_off, n4 = n & ~(int32_t)3, back = -n & 3;
    const uint32_t keep_e = back == 3 ? 0u : 0xffff0000u, keep_o = back == 1 ? ~0u : 0xffff0000u;
    mac_mem_t mem = { x, q->offp, wc };
#endif
    for (int32_t pix = sp->pixels; pix > 0; pix--, x += sp->x_step, out += cout) {
#if MTF_DSP
        mem.x_end = x + n4;
        for (int32_t c = 0; c < c4; c += 4) {
            const int8_t *w = sp->w + c * wc;
            int32_t acc[4] = { 0, 0, 0, 0 };
            if (bias != NULL) {
                acc[0] = mtf_conv_bias(bias, c);
                acc[1] = mtf_conv_bias(bias, c + 1);
                acc[2] = mtf_conv_bias(bias, c + 2);
                acc[3] = mtf_conv_bias(bias, c + 3);
            }
            const int8_t *p = w, *p2 = w + 2 * wc, *xp = x;
            mac16_loop(&xp, &p, &p2, &mem, acc);
            /* The last n % 4 taps (|sums| < 2^30 with q->fast: no overflow). */
            int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
            if (MTF_ALIGN_MASK == 0 && back != 0) {
                /* One more step of four over the last four bytes of the run
                 * (inside it, n >= 4), the lanes of the taps counted already
                 * cleared. */
                const int32_t xv = mtf_load4(xp - back);
                const int32_t xe = (int32_t)((uint32_t)mtf_sxtab16(q->offp, xv) & keep_e);
                const int32_t xo = (int32_t)((uint32_t)mtf_sxtab16_odd(q->offp, xv) & keep_o);
                int32_t v = mtf_load4(p - back);
                a0 = __smlad(__sxtb16(v), xe, __smlad(mtf_sxtb16_odd(v), xo, a0));
                v = mtf_load4(p - back + wc);
                a1 = __smlad(__sxtb16(v), xe, __smlad(mtf_sxtb16_odd(v), xo, a1));
                v = mtf_load4(p2 - back);
                a2 = __smlad(__sxtb16(v), xe, __smlad(mtf_sxtb16_odd(v), xo, a2));
                v = mtf_load4(p2 - back + wc);
                a3 = __smlad(__sxtb16(v), xe, __smlad(mtf_sxtb16_odd(v), xo, a3));
            }
            for (int32_t i = MTF_ALIGN_MASK == 0 ? n : n4; i < n; i++) {
                const int32_t xv = x[i] + off;
                a0 += w[i] * xv;
                a1 += w[i + wc] * xv;
                a2 += w[i + 2 * wc] * xv;
                a3 += w[i + 3 * wc] * xv;
            }
            mtf_conv_store4(&q->q4, c, a0, a1, a2, a3, out + c);
        }
#endif
        if (c4 < cout)
            mtf_conv_pixel(x, sp->w + c4 * wc, c4, cout, &g, bias, q, out + c4);
    }
}

static mtf_status_t conv_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_conv_prepare(m, node, 0);
}

/* What every pixel of one evaluation shares. */
typedef struct {
    const mtf_conv_data_t *d;
    mtf_conv_io_t io;
    mtf_conv_rq_t rq;
    mtf_conv_geo_t geo;
    int32_t cout, w_channel;
} conv_ctx_t;

/* count pixels whose windows are one run of n bytes, the first at x (out),
 * the next x_step further, all at the weights w. */
static void span(const conv_ctx_t *k, const int8_t *x, const int8_t *w, int32_t n, int32_t x_step, int32_t count,
                 int8_t *out)
{
    const span_t sp = { x, w, x_step, count, n };
    conv_span(&sp, k->cout, k->w_channel, k->io.bias, &k->rq, out);
}

/* One output pixel, window origin (iy0, ix0), any clipping. */
static MTF_NOINLINE void conv_one(const conv_ctx_t *k, const int8_t *in_batch, int32_t iy0, int32_t ix0,
                                  int8_t *out)
{
    const mtf_conv_data_t *d = k->d;
    const int32_t fdepth = d->depth;
    mtf_runs_t g;
    const int8_t *w;
    const int8_t *x = mtf_conv_window(&k->geo, in_batch, iy0, ix0, &g, &w);
    g.n = fdepth;
    g.w_channel = k->w_channel;
    if (g.x_col == fdepth) {
        /* Unit width dilation, one group: the taps of a (merged) row are
         * one contiguous run of input and weights. */
        g.n *= g.cols;
        g.cols = 1;
        if (g.rows <= 1) {
            span(k, x, w, g.rows * g.n, 0, 1, out);
            return;
        }
    }
    for (int32_t c = 0; c < k->cout; c += d->per_group, x += fdepth)
        mtf_conv_pixel(x, w + c * g.w_channel, c, c + d->per_group, &g, k->io.bias, &k->rq, out + c);
}

static mtf_status_t conv_eval(mtf_model_t *m, mtf_node_t *node)
{
    conv_ctx_t k;
    const mtf_conv_data_t *d = mtf_conv_io(m, node, &k.io);
    k.d = d;
    mtf_conv_rq(&d->q, &k.rq);
    const int32_t batches = k.io.in_dims[0], cin = k.io.in_dims[3], cout = k.cout = k.io.out_dims[3];
    int32_t in_h = k.io.in_dims[1], in_w = k.io.in_dims[2], out_h = k.io.out_dims[1], out_w = k.io.out_dims[2];
    const int32_t kh = d->win.filter_h, kw = d->win.filter_w;
    const int32_t dil_h = d->win.dilation_h, dil_w = d->win.dilation_w;
    const int32_t stride_h = d->win.stride_h, stride_w = d->win.stride_w, pad_h = d->win.pad_h, pad_w = d->win.pad_w;
    k.w_channel = kh * kw * d->depth;
    /* A 1x1 filter at stride 1 (no padding then) reads every input pixel
     * once, in order: the image is one column of in_h * in_w pixels. */
    if ((kh | kw | stride_h | stride_w) == 1) {
        in_h *= in_w;
        out_h *= out_w;
        in_w = out_w = 1;
    }
    k.geo.win = &d->win;
    k.geo.filter = k.io.filter;
    k.geo.in_h = in_h;
    k.geo.in_w = in_w;
    k.geo.cin = cin;
    k.geo.tap = d->depth;
    const int32_t row_len = k.geo.row_len = in_w * cin;
    /* A column of pixels (out_w 1, the window inside horizontally, one group,
     * unit width dilation): the rows whose windows lie inside vertically,
     * [oy_a, oy_b), make one span when a whole window is one run. Other
     * pixels go one by one (conv_one). */
    const int32_t oy_a = (pad_h + stride_h - 1) / stride_h;
    int32_t oy_b = (in_h - 1 - (kh - 1) * dil_h + pad_h) / stride_h + 1;
    oy_b = in_h - 1 - (kh - 1) * dil_h + pad_h < 0 ? 0 : (oy_b > out_h ? out_h : oy_b);
    const int column = out_w == 1 && pad_w == 0 && (kw - 1) * dil_w < in_w && dil_w == 1 && d->depth == cin &&
                       oy_b > oy_a && (kh == 1 || (dil_h == 1 && kw == in_w));
    const int8_t *in_batch = k.io.input;
    int8_t *out = k.io.output;

    for (int32_t b = 0; b < batches; b++, in_batch += in_h * row_len) {
        for (int32_t oy = 0; oy < out_h; oy++, out += out_w * cout) {
            const int32_t iy0 = oy * stride_h - pad_h;
            if (column && oy == oy_a) {
                span(&k, in_batch + iy0 * row_len - pad_w * cin, k.io.filter, kh * kw * cin, stride_h * row_len,
                     oy_b - oy_a, out);
                out += (oy_b - oy_a - 1) * cout;
                oy = oy_b - 1;
                continue;
            }
            for (int32_t ox = 0; ox < out_w; ox++)
                conv_one(&k, in_batch, iy0, ox * stride_w - pad_w, out + ox * cout);
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_conv_2d = { conv_prepare, conv_eval };
