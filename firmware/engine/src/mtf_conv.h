/*
 * mtf_conv.h - what CONV_2D and DEPTHWISE_CONV_2D share at eval (defined in
 * mtf_conv_operands.c): the requantization of their outputs, the clipped
 * window of an output pixel, and the plain kernel of one pixel that both use
 * for the channels their packed kernels leave. Private to the two operators.
 */
#ifndef MTF_CONV_H
#define MTF_CONV_H

#include "mtf_window.h"

/* The quantization of one convolution, copied out of the op data into the
 * evaluation's locals (every int8 store may alias the op data as far as the
 * compiler knows, which would force reloads). */
typedef struct {
    mtf_requant_t q4;  /* what mtf_conv_store4 needs */
    int32_t off;       /* output offset */
    int32_t in_off;    /* input offset */
    int32_t offp;      /* the same in both 16-bit lanes */
    int32_t fast;      /* q->fast */
} mtf_conv_rq_t;

/* Fill r from q (at the start of an evaluation). */
void mtf_conv_rq(const mtf_conv_channels_t *q, mtf_conv_rq_t *r);

/*
 * Requantize the accumulators a0..a(n-1) of channels c..c+n-1 (n <= 4) to
 * out[0..n-1]: TFLite's MultiplyByQuantizedMultiplier, offset and activation
 * clamp. One out-of-line copy serves every kernel; the accumulators come in
 * registers.
 */
void mtf_conv_out(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const mtf_conv_rq_t *r, int32_t c, int8_t *out,
                  int32_t n);

/*
 * The clipped window of one output pixel as rows x cols runs of n bytes that
 * are contiguous in both input and weights (CONV_2D: the input channels of
 * one tap, or a whole filter row, or the whole window; DEPTHWISE_CONV_2D:
 * single taps).
 */
typedef struct {
    int32_t rows, cols, n;
    int32_t x_col, x_row; /* input step from run to run in a row, and from row to row */
    int32_t w_col, w_row; /* the same in the weights */
    int32_t w_channel;    /* weight step from one output channel to the next */
} mtf_runs_t;

/* What the window of every output pixel needs, per evaluation. */
typedef struct {
    const mtf_window_t *win;
    const int8_t *filter;
    int32_t in_h, in_w, cin, row_len;
    int32_t tap; /* weight bytes per tap: CONV_2D input channels per group, DEPTHWISE_CONV_2D output channels */
} mtf_conv_geo_t;

/*
 * The valid taps of the window with origin (iy0, ix0) (any clipping) as
 * g->rows x g->cols single taps (g->n 1; rows that continue one another in
 * both input and weights merged into one; w_channel not set). *w gets the
 * weights of channel 0 at the first valid tap; returns the input (channel
 * 0) there, or in (the batch start) when no tap is valid: nothing is read
 * then.
 */
const int8_t *mtf_conv_window(const mtf_conv_geo_t *k, const int8_t *in, int32_t iy0, int32_t ix0, mtf_runs_t *g,
                              const int8_t **w);

/*
 * Output channels [c, end) of one pixel that all read the same input values
 * (one group), four at a time (a last 1-3 one by one), in plain C. x is the
 * input at the first valid tap, w the weights of channel c at it.
 */
void mtf_conv_pixel(const int8_t *x, const int8_t *w, int32_t c, int32_t end, const mtf_runs_t *g,
                    const uint8_t *bias, const mtf_conv_rq_t *r, int8_t *out);

#endif /* MTF_CONV_H */
