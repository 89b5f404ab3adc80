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

#include "mtf_window.h"

/*
 * The clipped window of one output pixel as rows x cols runs of n bytes that
 * are contiguous in both input and weights (the input channels of one tap,
 * or a whole filter row when width dilation is 1 and there is one group, or
 * even the whole window when it spans whole input rows).
 */
typedef struct {
    int32_t rows, cols, n;
    int32_t x_col, x_row; /* input step from run to run in a row, and from row to row */
    int32_t w_col, w_row; /* the same in the weights */
    int32_t w_channel;    /* weight step from one output channel to the next */
} runs_t;

#if MTF_DSP
/* Four taps of four channels (accumulators a0..a3): the input offset goes on
 * while the input bytes xv are widened (SXTAB16, shared by four channels),
 * then two dual MACs per channel. keep_e / keep_o clear the lanes of taps
 * already counted (the overlapping last step of a run). The weights of
 * channels 1 and 3 are read at wc past those of 0 and 2: fewer pointers, no
 * spills. A macro: the accumulators must stay in registers. */
#define MAC16(xv, keep_e, keep_o, p, p2)                                      \
    do {                                                                     \
        const int32_t xe_ = (int32_t)((uint32_t)mtf_sxtab16(offp, xv) & (keep_e)); \
        const int32_t xo_ = (int32_t)((uint32_t)mtf_sxtab16_odd(offp, xv) & (keep_o)); \
        int32_t v_ = mtf_load4(p);                                           \
        a0 = __smlad(__sxtb16(v_), xe_, a0);                                 \
        a0 = __smlad(mtf_sxtb16_odd(v_), xo_, a0);                           \
        v_ = mtf_load4((p) + wc);                                            \
        a1 = __smlad(__sxtb16(v_), xe_, a1);                                 \
        a1 = __smlad(mtf_sxtb16_odd(v_), xo_, a1);                           \
        v_ = mtf_load4(p2);                                                  \
        a2 = __smlad(__sxtb16(v_), xe_, a2);                                 \
        a2 = __smlad(mtf_sxtb16_odd(v_), xo_, a2);                           \
        v_ = mtf_load4((p2) + wc);                                           \
        a3 = __smlad(__sxtb16(v_), xe_, a3);                                 \
        a3 = __smlad(mtf_sxtb16_odd(v_), xo_, a3);                           \
    } while (0)

/*
 * MAC16 over [*xp, mem->x_end) (a non-empty multiple of 4 bytes), advancing
 * *xp, *p and *p2. Written out because the compiler spills some of the
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
        const int32_t xv = mtf_load4(x);
        MAC16(xv, ~0u, ~0u, p, p2);
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

/*
 * acc[k] += sum w[k * wc + i] * (x[i] + off) for i < n, k < 4: one run of a
 * window of several runs (the general case, which no model at hand takes
 * but for a few short runs: plain C). Sums wrap in uint32: TFLite
 * Micro's int32 accumulation wraps in practice, and hostile biases must not
 * make it undefined here.
 */
static MTF_NOINLINE void run4(const int8_t *x, const int8_t *w, int32_t n, int32_t wc, int32_t off, uint32_t acc[4])
{
    uint32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t i = 0; i < n; i++) {
        const int32_t xv = x[i] + off;
        a0 += (uint32_t)(w[i] * xv);
        a1 += (uint32_t)(w[i + wc] * xv);
        a2 += (uint32_t)(w[i + 2 * wc] * xv);
        a3 += (uint32_t)(w[i + 3 * wc] * xv);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/*
 * Output channels [c, end) of one pixel (one group) whose window is rows x
 * cols runs, four at a time (a last 1-3 channels one by one through the
 * same code: four copies of one channel). x is the input at the first valid
 * tap, w the weights of channel c at it.
 */
static void conv_pixel(const int8_t *x, const int8_t *w, int32_t c, int32_t end, const runs_t *g,
                       const uint8_t *bias, const mtf_conv_channels_t *q, int8_t *out)
{
    while (c < end) {
        const int32_t k = end - c >= 4 ? 4 : 1;
        const int32_t wc = k == 4 ? g->w_channel : 0;
        uint32_t a[4];
        for (int j = 0; j < 4; j++)
            a[j] = (uint32_t)mtf_conv_bias(bias, k == 4 ? c + j : c);
        const int8_t *xr = x, *wr = w;
        for (int32_t fy = 0; fy < g->rows; fy++, xr += g->x_row, wr += g->w_row)
            for (int32_t fx = 0; fx < g->cols; fx++)
                run4(xr + fx * g->x_col, wr + fx * g->w_col, g->n, wc, q->in_offset, a);
        mtf_conv_requant(q, c, a, k, out);
        c += k;
        out += k;
        w += k * g->w_channel;
    }
}

/* Consecutive output pixels (all channels, one group) whose windows are one
 * run of n bytes each, at the same weights, the input advancing x_step from
 * pixel to pixel. */
typedef struct {
    const int8_t *x; /* input at the first valid tap of the first pixel */
    const int8_t *w; /* weights of channel 0 at that tap */
    int32_t x_step, pixels, n;
} span_t;

/*
 * conv_pixel for pixels whose window is one run of n bytes (every window of a
 * 1-D model, or of whole input rows, and every 1x1 convolution): the
 * accumulators stay in registers from bias to output. Kept out of line: its
 * own register allocation keeps them and the pointers out of the stack.
 */
static MTF_NOINLINE void conv_span(const span_t *sp, int32_t cout, int32_t w_channel, const uint8_t *bias,
                                   const mtf_conv_channels_t *q, int8_t *out)
{
    const int32_t n = sp->n;
    const int8_t *x = sp->x;
#if MTF_DSP
    /* Word loads where the core allows them unaligned, else only when every
     * pointer is word aligned (see MTF_ALIGN_MASK); runs of at least 4 taps
     * and the usual requantization (q->fast). */
    if (q->fast && n >= 4 &&
        (((uintptr_t)x | (uintptr_t)sp->w | (uint32_t)w_channel | (uint32_t)sp->x_step) & MTF_ALIGN_MASK) == 0) {
        const mtf_requant_t r = mtf_requant_params(q);
        const int32_t off = q->in_offset, offp = (int32_t)(((uint32_t)off & 0xffffu) * 0x10001u);
        const int32_t c4 = cout & ~(int32_t)3, n4 = n & ~(int32_t)3, wc = w_channel;
        /* The last n % 4 taps as one more step over the last four bytes of
         * the run (inside it, as n >= 4), with the lanes of the taps counted
         * already cleared. */
        const int32_t back = (4 - (n & 3)) & 3;
        const uint32_t keep_e = back == 3 ? 0u : 0xffff0000u, keep_o = back == 1 ? ~0u : 0xffff0000u;
        mac_mem_t mem = { x, offp, wc };
        for (int32_t pix = sp->pixels; pix > 0; pix--, x += sp->x_step, out += cout) {
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
                int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
                if (back != 0) {
                    if (MTF_ALIGN_MASK == 0) {
                        const int32_t xv = mtf_load4(xp - back);
                        MAC16(xv, keep_e, keep_o, p - back, p2 - back);
                    } else {
                        for (int32_t i = n4; i < n; i++) {
                            const int32_t xv = x[i] + off;
                            a0 += w[i] * xv;
                            a1 += w[i + wc] * xv;
                            a2 += w[i + 2 * wc] * xv;
                            a3 += w[i + 3 * wc] * xv;
                        }
                    }
                }
                mtf_conv_store4(&r, c, a0, a1, a2, a3, out + c);
            }
            if (c4 < cout) { /* the last 1-3 channels */
                const runs_t g = { 1, 1, n, 0, 0, 0, 0, wc };
                conv_pixel(x, sp->w + c4 * wc, c4, cout, &g, bias, q, out + c4);
            }
        }
        return;
    }
#endif
    const runs_t g = { 1, 1, n, 0, 0, 0, 0, w_channel };
    for (int32_t pix = sp->pixels; pix > 0; pix--, x += sp->x_step, out += cout)
        conv_pixel(x, sp->w, 0, cout, &g, bias, q, out);
}

static mtf_status_t conv_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_conv_prepare(m, node, 0);
}

/* What every pixel of one evaluation shares. */
typedef struct {
    const mtf_conv_data_t *d;
    mtf_conv_io_t io;
    int32_t in_h, in_w, cin, cout, row_len;
    span_t span;     /* pixels gathered for one conv_span call */
    int8_t *span_out;
} conv_ctx_t;

/* Run the gathered span, if any. */
static void flush(conv_ctx_t *k)
{
    if (k->span.pixels > 0)
        conv_span(&k->span, k->cout, k->d->win.filter_h * k->d->win.filter_w * k->d->depth, k->io.bias, &k->d->q,
                  k->span_out);
    k->span.pixels = 0;
}

/* count pixels whose windows are one run of n bytes, the first at x (out),
 * the next x_step further: they extend the gathered span when they continue
 * it (same weights, next outputs, input at the same step). */
static void add_span(conv_ctx_t *k, const int8_t *x, const int8_t *w, int32_t n, int32_t x_step, int32_t count,
                     int8_t *out)
{
    span_t *sp = &k->span;
    if (sp->pixels > 0 && w == sp->w && n == sp->n && out == k->span_out + sp->pixels * k->cout) {
        const int32_t step = sp->pixels == 1 ? (int32_t)(x - sp->x) : sp->x_step;
        if (x == sp->x + sp->pixels * step && (count == 1 || x_step == step)) {
            sp->x_step = step;
            sp->pixels += count;
            return;
        }
    }
    flush(k);
    sp->x = x;
    sp->w = w;
    sp->n = n;
    sp->x_step = x_step;
    sp->pixels = count;
    k->span_out = out;
}

/* One output pixel, window origin (iy0, ix0), any clipping. */
static MTF_NOINLINE void conv_one(conv_ctx_t *k, const int8_t *in_batch, int32_t iy0, int32_t ix0, int8_t *out)
{
    const mtf_conv_data_t *d = k->d;
    const int32_t kh = d->win.filter_h, kw = d->win.filter_w, fdepth = d->depth, cin = k->cin;
    const int32_t dil_h = d->win.dilation_h, dil_w = d->win.dilation_w, row_len = k->row_len;
    int32_t fy0, fy1, fx0, fx1;
    mtf_window_clip(iy0, dil_h, kh, k->in_h, &fy0, &fy1);
    mtf_window_clip(ix0, dil_w, kw, k->in_w, &fx0, &fx1);
    /* Input at the first valid tap, for channel 0 of group 0 (the batch
     * start when no tap is valid: nothing is read then). */
    const int8_t *x = in_batch;
    if (fy1 > fy0 && fx1 > fx0)
        x += (iy0 + fy0 * dil_h) * row_len + (ix0 + fx0 * dil_w) * cin;
    const int8_t *w = k->io.filter + (fy0 * kw + fx0) * fdepth;
    runs_t g = { fy1 - fy0, fx1 - fx0, fdepth, dil_w * cin, dil_h * row_len, fdepth, kw * fdepth, kh * kw * fdepth };
    if (dil_w == 1 && fdepth == cin) {
        /* Unit width dilation, one group: a filter row meets one contiguous
         * run of input; whole input rows are even one run. */
        g.n *= g.cols;
        g.cols = 1;
        if (g.x_row == g.n && g.w_row == g.n) {
            g.n *= g.rows;
            g.rows = 1;
        }
        if (g.rows <= 1) {
            add_span(k, x, w, g.rows * g.n, 0, 1, out);
            return;
        }
    }
    for (int32_t c = 0; c < k->cout; c += d->per_group, x += fdepth)
        conv_pixel(x, w + c * g.w_channel, c, c + d->per_group, &g, k->io.bias, &d->q, out + c);
}

static mtf_status_t conv_eval(mtf_model_t *m, mtf_node_t *node)
{
    conv_ctx_t k;
    const mtf_conv_data_t *d = mtf_conv_io(m, node, &k.io);
    k.d = d;
    const int32_t batches = k.io.in_dims[0], in_h = k.in_h = k.io.in_dims[1], in_w = k.in_w = k.io.in_dims[2];
    const int32_t cin = k.cin = k.io.in_dims[3];
    const int32_t out_h = k.io.out_dims[1], out_w = k.io.out_dims[2], cout = k.cout = k.io.out_dims[3];
    const int32_t kh = d->win.filter_h, kw = d->win.filter_w;
    const int32_t dil_h = d->win.dilation_h, dil_w = d->win.dilation_w;
    const int32_t stride_h = d->win.stride_h, stride_w = d->win.stride_w, pad_h = d->win.pad_h, pad_w = d->win.pad_w;
    const int32_t row_len = k.row_len = in_w * cin;
    k.span.pixels = 0;
    /* A column of pixels (out_w 1, the window inside horizontally, one group,
     * unit width dilation): the rows whose windows lie inside vertically,
     * [oy_a, oy_b), make one span when a whole window is one run. Other
     * pixels gather into spans one by one (conv_one). */
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
                add_span(&k, in_batch + iy0 * row_len - pad_w * cin, k.io.filter, kh * kw * cin, stride_h * row_len,
                         oy_b - oy_a, out);
                out += (oy_b - oy_a - 1) * cout;
                oy = oy_b - 1;
                continue;
            }
            for (int32_t ox = 0; ox < out_w; ox++)
                conv_one(&k, in_batch, iy0, ox * stride_w - pad_w, out + ox * cout);
        }
    }
    flush(&k);
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_conv_2d = { conv_prepare, conv_eval };
