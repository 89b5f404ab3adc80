/*
 * mtf_conv_operands.c - what CONV_2D and DEPTHWISE_CONV_2D share: one prepare
 * (operands, window, quantization), the eval operands, the requantization,
 * the clipped window of a pixel and the plain kernel (mtf_conv.h); plus the
 * window checks the pools use too.
 */
#include "mtf_conv.h"

mtf_status_t mtf_window_init(mtf_model_t *m, mtf_window_t *w, int padding, const int32_t geo[6], int32_t in_h,
                             int32_t in_w, int32_t out_h, int32_t out_w)
{
    MTF_ENSURE(m, padding == MTF_PADDING_SAME || padding == MTF_PADDING_VALID, MTF_ERR_UNSUPPORTED_TYPE,
               "unsupported padding");
    /* The window is stored in int16: every value up to 32767, which also
     * keeps (size - 1) * dilation below 2^30. */
    for (int k = 0; k < 6; k++) {
        MTF_ENSURE(m, geo[k] > 0, MTF_ERR_BAD_MODEL, "stride, dilation and filter size must be positive");
        MTF_ENSURE(m, geo[k] <= 32767, MTF_ERR_UNSUPPORTED_TYPE, "stride or window span above 32767");
    }
    int16_t pad[2];
    for (int a = 0; a < 2; a++) { /* height, then width */
        const int32_t stride = geo[MTF_GEO_STRIDE_H + a], dil = geo[MTF_GEO_DILATION_H + a];
        const int32_t filter = geo[MTF_GEO_FILTER_H + a], span = (filter - 1) * dil;
        const int32_t in = a ? in_w : in_h, out = a ? out_w : out_h;
        /* A span (dilated filter less one) below 32767 also bounds the
         * padding: SAME pads less than the span, VALID pads nothing. */
        MTF_ENSURE(m, span < 32767, MTF_ERR_UNSUPPORTED_TYPE, "stride or window span above 32767");
        const int32_t want = mtf_out_size(padding, in, filter, stride, dil);
        MTF_ENSURE(m, want > 0 && out == want, MTF_ERR_SHAPE, "output size does not match window, padding and strides");
        /* Bounds that keep the window arithmetic of eval (origins, clipping,
         * dilated steps through the input) inside int32; real models are
         * orders of magnitude below them, hostile ones must not make it
         * undefined. The span of all windows less one is (out - 1) * stride
         * (below in, by the output size just checked) plus the span: uint32
         * holds it exactly once in <= 2^28, and beyond that the test fails
         * anyway. */
        const uint32_t limit = 1u << 28;
        MTF_ENSURE(m, (uint32_t)in <= limit && (uint32_t)(out - 1) * (uint32_t)stride + (uint32_t)span < limit,
                   MTF_ERR_UNSUPPORTED_TYPE, "window geometry too large");
        int32_t offset;
        pad[a] = (int16_t)mtf_padding(stride, dil, in, filter, out, &offset);
    }
    w->stride_h = (int16_t)geo[MTF_GEO_STRIDE_H];
    w->stride_w = (int16_t)geo[MTF_GEO_STRIDE_W];
    w->dilation_h = (int16_t)geo[MTF_GEO_DILATION_H];
    w->dilation_w = (int16_t)geo[MTF_GEO_DILATION_W];
    w->filter_h = (int16_t)geo[MTF_GEO_FILTER_H];
    w->filter_w = (int16_t)geo[MTF_GEO_FILTER_W];
    w->pad_h = pad[0];
    w->pad_w = pad[1];
    return MTF_OK;
}

void mtf_window_clip(int32_t origin, int32_t dilation, int32_t k_size, int32_t in_size, int32_t *start,
                     int32_t *end)
{
    /* Rounding up divisions (a dilation of 1 needs none, but one path is
     * smaller; clipping runs once per window row or column). */
    const int32_t left = in_size - origin; /* input positions at or after the origin */
    const int32_t s = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    int32_t e = left > 0 ? (left + dilation - 1) / dilation : 0;
    if (e > k_size)
        e = k_size;
    *start = s;
    if (e < s)
        e = s;
    *end = e;
}

mtf_status_t mtf_check_act_output(mtf_model_t *m, int activation, const mtf_tensor_t *output)
{
    /* The scale: hostile models only, a real int8 scale is far above 6 / 2^30. */
    const float six = 6.0f / output->scale;
    MTF_ENSURE(m,
               output->zero_point >= -128 && output->zero_point <= 127 &&
                   (activation == MTF_ACT_NONE || (six > -1.0e9f && six < 1.0e9f)),
               MTF_ERR_UNSUPPORTED_TYPE, "output zero point outside int8, or scale too small for the activation");
    return MTF_OK;
}

/*
 * The options tables of the two ops differ only from field 3 on, where
 * DEPTHWISE_CONV_2D has depth_multiplier: its later fields are one further.
 * Conv2DOptions: padding 0, stride_w 1, stride_h 2, activation 3, dilation_w 4, dilation_h 5.
 */
enum { OPT_PADDING = 0, OPT_STRIDE_W = 1, OPT_STRIDE_H = 2, OPT_DEPTH_MULTIPLIER = 3, OPT_ACTIVATION = 3,
       OPT_DILATION_W = 4, OPT_DILATION_H = 5 };

mtf_status_t mtf_conv_prepare(mtf_model_t *m, mtf_node_t *node, int depthwise)
{
    const int n_in = mtf_node_num_inputs(node);
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    const mtf_tensor_t *filter = mtf_node_input(m, node, 1);
    const mtf_tensor_t *output = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, (n_in == 2 || n_in == 3) && mtf_node_num_outputs(node) == 1 && input && filter && output,
               MTF_ERR_BAD_MODEL, "expects input, filter, optional bias and 1 output");
    MTF_ENSURE(m, (input->dtype | filter->dtype | output->dtype) == MTF_INT8 && filter->data != NULL &&
                      (filter->flags & MTF_TENSOR_CONST),
               MTF_ERR_UNSUPPORTED_TYPE, "needs int8 input and output and a constant int8 filter");
    MTF_ENSURE(m, input->q_count >= 1 && filter->q_count >= 1 && output->q_count >= 1, MTF_ERR_BAD_MODEL,
               "input, filter and output must be quantized");
    /* CONV_2D: filter [Cout, KH, KW, Cin / groups]; DEPTHWISE: [1, KH, KW, Cout]. */
    const int32_t cin = input->dims[3], cout = filter->dims[depthwise ? 3 : 0];
    int32_t depth = filter->dims[3], ok = input->ndims == 4 && filter->ndims == 4 && output->ndims == 4;
    for (int i = 0; i < 4; i++)
        ok &= input->dims[i] > 0 && filter->dims[i] > 0 && output->dims[i] > 0;
    ok &= input->dims[0] == output->dims[0] && output->dims[3] == cout;
    if (depthwise) {
        depth = mtf_opt_i32(node, OPT_DEPTH_MULTIPLIER, 0);
        ok &= filter->dims[0] == 1 && depth > 0 && (int64_t)cout == (int64_t)cin * depth;
    } else {
        ok &= ok && cin % depth == 0 && cout % (cin / depth) == 0;
    }
    MTF_ENSURE(m, ok, MTF_ERR_SHAPE, "shapes, groups or depth multiplier disagree");
    const mtf_tensor_t *bias = n_in == 3 ? mtf_node_input(m, node, 2) : NULL;
    if (bias != NULL) {
        MTF_ENSURE(m, bias->dtype == MTF_INT32 && bias->data != NULL && (bias->flags & MTF_TENSOR_CONST),
                   MTF_ERR_UNSUPPORTED_TYPE, "bias must be constant int32");
        MTF_ENSURE(m, mtf_elements(bias) == cout, MTF_ERR_SHAPE, "bias and output channels differ");
    }

    mtf_conv_data_t *d = (mtf_conv_data_t *)mtf_alloc_persistent(m, sizeof(mtf_conv_data_t));
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    d->depth = depth;
    d->per_group = depthwise ? cout : cout / (cin / depth);
    d->filter = (const int8_t *)filter->data;
    d->bias = bias != NULL ? bias->data : NULL;
    mtf_window_t *w = &d->win;
    const int32_t geo[6] = { mtf_opt_i32(node, OPT_STRIDE_H, 0),
                             mtf_opt_i32(node, OPT_STRIDE_W, 0),
                             mtf_opt_i32(node, OPT_DILATION_H + depthwise, 1),
                             mtf_opt_i32(node, OPT_DILATION_W + depthwise, 1),
                             filter->dims[1],
                             filter->dims[2] };
    MTF_TRY(mtf_window_init(m, w, mtf_opt_u8(node, OPT_PADDING, MTF_PADDING_SAME), geo, input->dims[1],
                            input->dims[2], output->dims[1], output->dims[2]));
    /* The dilated steps through the input, dilation_h rows and dilation_w
     * pixels, must fit int32 too (both below (dil_h | dil_w) rows). */
    MTF_ENSURE(m, (int64_t)(w->dilation_h | w->dilation_w) * input->dims[2] * cin <= ((int64_t)1 << 28),
               MTF_ERR_UNSUPPORTED_TYPE, "dilation too large for the input");

    /* Quantization, as TFLite Micro's PopulateConvolutionQuantizationParams
     * (double math, per channel or one scale broadcast). */
    mtf_conv_channels_t *q = &d->q;
    const int activation = mtf_opt_u8(node, OPT_ACTIVATION + depthwise, 0);
    MTF_ENSURE(m,
               (filter->q_count == 1 ||
                (filter->q_count == cout && filter->q_dim >= 0 && filter->q_dim < 4 &&
                 filter->dims[filter->q_dim] == cout)) &&
                   input->scale > 0.0f && output->scale > 0.0f,
               MTF_ERR_BAD_MODEL, "filter scales not per output channel, or a scale not positive");
    MTF_TRY(mtf_check_act_output(m, activation, output));
    int32_t act_min, act_max;
    MTF_TRY(mtf_activation_range_quantized(m, activation, output, &act_min, &act_max));
    /* The input offset is added to int8 values in 16-bit lanes on DSP cores.
     * (mtf_check_act_output bounded the output zero point, hence the range.) */
    MTF_ENSURE(m, input->zero_point >= -128 && input->zero_point <= 128, MTF_ERR_UNSUPPORTED_TYPE,
               "input zero point outside the int8 range");
    q->act_min = (int16_t)act_min;
    q->act_max = (int16_t)act_max;
    q->in_offset = (int16_t)-input->zero_point;
    q->out_offset = (int16_t)output->zero_point;
    q->channels = cout;
    q->table = (int32_t *)mtf_alloc_persistent(m, (size_t)cout * (sizeof(int32_t) + 1));
    if (q->table == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    int8_t *const r1 = (int8_t *)(void *)(q->table + cout);
    const double in_scale = (double)input->scale;
    const double out_scale = (double)output->scale;
    int32_t fast = 1;
    uint32_t max_bias = 0;
    for (int32_t c = 0; c < cout; c++) {
        const int32_t b = mtf_conv_bias(d->bias, c);
        const uint32_t mag = b < 0 ? 0u - (uint32_t)b : (uint32_t)b;
        max_bias = mag > max_bias ? mag : max_bias;
        double filter_scale = (double)mtf_tensor_scale(filter, filter->q_count > 1 ? (int)c : 0);
        int shift;
        mtf_quantize_multiplier(in_scale * filter_scale / out_scale, &q->table[c], &shift);
        /* TFLite Micro shifts left by (1 << shift): beyond 30 its arithmetic
         * is undefined, so such a scale has no result to reproduce. INT32_MIN
         * (a scale near -1 rounded) would make the doubling high multiply
         * saturate, which the requantization leaves out. */
        MTF_ENSURE(m, shift <= 30 && q->table[c] != INT32_MIN, MTF_ERR_UNSUPPORTED_TYPE,
                   "output multiplier out of range");
        r1[c] = (int8_t)~shift; /* -shift - 1: the right shift minus one when shift < 0 */
        fast &= shift <= -1;
    }
    /* |accumulator| <= |bias| + 256 * 128 * taps stays below 2^30 (real
     * models; hostile ones take the general requantization). The taps:
     * filter_h * filter_w (each <= 32767, mtf_window_init), times the input
     * depth of a group in CONV_2D. */
    const uint64_t taps = (uint64_t)(uint32_t)(w->filter_h * w->filter_w) * (uint32_t)(depthwise ? 1 : depth);
    q->fast = fast && taps < 32768 && max_bias < (1u << 30) - 32768u * (uint32_t)taps;
    mtf_node_set_data(node, d);
    return MTF_OK;
}

const mtf_conv_data_t *mtf_conv_io(mtf_model_t *m, const mtf_node_t *node, mtf_conv_io_t *io)
{
    const mtf_conv_data_t *d = (const mtf_conv_data_t *)mtf_node_data(node);
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    mtf_tensor_t *output = mtf_node_output(m, node, 0);
    io->input = (const int8_t *)input->data;
    io->filter = d->filter;
    io->bias = d->bias;
    io->output = (int8_t *)output->data;
    io->in_dims = input->dims;
    io->out_dims = output->dims;
    return d;
}

void mtf_conv_rq(const mtf_conv_channels_t *q, mtf_conv_rq_t *r)
{
    r->q4 = mtf_requant_params(q);
    r->off = q->out_offset;
    r->in_off = q->in_offset;
    r->offp = (int32_t)(((uint32_t)q->in_offset & 0xffffu) * 0x10001u);
    r->fast = q->fast;
}

/* The general MultiplyByQuantizedMultiplier (any shift, any accumulator),
 * out of line: the requantization's rare case. */
static MTF_NOINLINE int32_t requant_general(int32_t x, int32_t multiplier, int32_t shift, int32_t off)
{
    return mtf_sat_i8(mtf_mul_by_qm_fast(x, multiplier, shift) + off);
}

void mtf_conv_out(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const mtf_conv_rq_t *r, int32_t c, int8_t *out,
                  int32_t n)
{
    if (r->fast && n == 4) {
        mtf_conv_store4(&r->q4, c, a0, a1, a2, a3, out);
        return;
    }
    const int32_t *const mult = r->q4.mult + c;
    const int8_t *const r1 = r->q4.r1 + c;
    const int32_t a[4] = { a0, a1, a2, a3 };
    for (int32_t i = 0; i < n; i++) {
        /* mtf_requant_fast where it applies (|x| < 2^30 and r1 >= 0: the
         * sign bit of one OR), else the general code. */
        const int32_t x = a[i];
        int32_t v;
        if (((((uint32_t)x + 0x40000000u) | (uint32_t)r1[i]) >> 31) == 0)
            v = mtf_requant_fast(x, mult[i], r1[i], r->q4.off2);
        else
            v = requant_general(x, mult[i], ~r1[i], r->off);
        v = v < r->q4.lo ? r->q4.lo : v;
        v = v > r->q4.hi ? r->q4.hi : v;
        out[i] = (int8_t)v;
    }
}

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

/* A last 1-3 channels go through the same code as four copies of one
 * channel. */
void mtf_conv_pixel(const int8_t *x, const int8_t *w, int32_t c, int32_t end, const mtf_runs_t *g,
                    const uint8_t *bias, const mtf_conv_rq_t *r, int8_t *out)
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
                run4(xr + fx * g->x_col, wr + fx * g->w_col, g->n, wc, r->in_off, a);
        mtf_conv_out((int32_t)a[0], (int32_t)a[1], (int32_t)a[2], (int32_t)a[3], r, c, out, k);
        c += k;
        out += k;
        w += k * g->w_channel;
    }
}

const int8_t *mtf_conv_window(const mtf_conv_geo_t *k, const int8_t *in, int32_t iy0, int32_t ix0, mtf_runs_t *g,
                              const int8_t **w)
{
    const int32_t kw = k->win->filter_w, dil_h = k->win->dilation_h, dil_w = k->win->dilation_w;
    int32_t fy0, fy1, fx0, fx1;
    mtf_window_clip(iy0, dil_h, k->win->filter_h, k->in_h, &fy0, &fy1);
    mtf_window_clip(ix0, dil_w, kw, k->in_w, &fx0, &fx1);
    g->rows = fy1 - fy0;
    g->cols = fx1 - fx0;
    g->n = 1;
    g->x_col = dil_w * k->cin;
    g->x_row = dil_h * k->row_len;
    g->w_col = k->tap;
    g->w_row = kw * k->tap;
    *w = k->filter + (fy0 * kw + fx0) * k->tap;
    if (g->rows > 0 && g->cols > 0)
        in += (iy0 + fy0 * dil_h) * k->row_len + (ix0 + fx0 * dil_w) * k->cin;
    /* E.g. a filter one tap wide over an input one pixel wide. */
    if (g->x_row == g->cols * g->x_col && g->w_row == g->cols * g->w_col) {
        g->cols *= g->rows;
        g->rows = 1;
    }
    return in;
}
