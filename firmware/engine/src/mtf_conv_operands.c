/*
 * mtf_conv_operands.c - what CONV_2D and DEPTHWISE_CONV_2D share: one prepare
 * (operands, window, quantization), the eval operands and the requantization;
 * plus the window checks the pools use too.
 */
#include "mtf_window.h"

mtf_status_t mtf_window_init(mtf_model_t *m, mtf_window_t *w, int padding, const int32_t geo[6], int32_t in_h,
                             int32_t in_w, int32_t out_h, int32_t out_w)
{
    MTF_ENSURE(m, padding == MTF_PADDING_SAME || padding == MTF_PADDING_VALID, MTF_ERR_UNSUPPORTED_TYPE,
               "unsupported padding");
    for (int k = 0; k < 6; k++)
        MTF_ENSURE(m, geo[k] > 0, MTF_ERR_BAD_MODEL, "stride, dilation and filter size must be positive");
    const int32_t stride_h = geo[MTF_GEO_STRIDE_H], stride_w = geo[MTF_GEO_STRIDE_W];
    const int32_t dil_h = geo[MTF_GEO_DILATION_H], dil_w = geo[MTF_GEO_DILATION_W];
    const int32_t filter_h = geo[MTF_GEO_FILTER_H], filter_w = geo[MTF_GEO_FILTER_W];
    /* The window is stored in int16: every value up to 32767 (their OR, as
     * all are positive), which also keeps (size - 1) * dilation below 2^30.
     * A span (dilated filter) up to 32767 also bounds the padding: SAME pads
     * less than the span, VALID pads nothing. */
    const uint32_t all = (uint32_t)(stride_h | stride_w | dil_h | dil_w | filter_h | filter_w);
    MTF_ENSURE(m, all <= 32767 && (filter_h - 1) * dil_h < 32767 && (filter_w - 1) * dil_w < 32767,
               MTF_ERR_UNSUPPORTED_TYPE, "stride or window span above 32767");
    int32_t want_h = mtf_out_size(padding, in_h, filter_h, stride_h, dil_h);
    int32_t want_w = mtf_out_size(padding, in_w, filter_w, stride_w, dil_w);
    MTF_ENSURE(m, want_h > 0 && want_w > 0, MTF_ERR_SHAPE, "window larger than the input");
    MTF_ENSURE(m, out_h == want_h && out_w == want_w, MTF_ERR_SHAPE, "output size does not match padding and strides");
    /* Bounds that keep the window arithmetic of eval (origins, clipping,
     * dilated steps through the input) inside int32; real models are orders
     * of magnitude below them, hostile ones must not make it undefined.
     * The span less one is (out - 1) * stride (below in, by the output size
     * just checked) plus (filter - 1) * dilation (below 32767): uint32 holds
     * it exactly once in <= 2^28, and beyond that the test fails anyway. */
    const uint32_t limit = 1u << 28;
    MTF_ENSURE(m,
               (uint32_t)in_h <= limit && (uint32_t)in_w <= limit &&
                   (uint32_t)(out_h - 1) * (uint32_t)stride_h + (uint32_t)((filter_h - 1) * dil_h) < limit &&
                   (uint32_t)(out_w - 1) * (uint32_t)stride_w + (uint32_t)((filter_w - 1) * dil_w) < limit,
               MTF_ERR_UNSUPPORTED_TYPE, "window geometry too large");
    int32_t offset;
    w->stride_h = (int16_t)stride_h;
    w->stride_w = (int16_t)stride_w;
    w->dilation_h = (int16_t)dil_h;
    w->dilation_w = (int16_t)dil_w;
    w->filter_h = (int16_t)filter_h;
    w->filter_w = (int16_t)filter_w;
    w->pad_h = (int16_t)mtf_padding(stride_h, dil_h, in_h, filter_h, out_h, &offset);
    w->pad_w = (int16_t)mtf_padding(stride_w, dil_w, in_w, filter_w, out_w, &offset);
    return MTF_OK;
}

void mtf_window_clip(int32_t origin, int32_t dilation, int32_t k_size, int32_t in_size, int32_t *start,
                     int32_t *end)
{
    int32_t s, e;
    int32_t left = in_size - origin; /* input positions at or after the origin */
    if (dilation == 1) { /* the usual case, without divisions */
        s = origin < 0 ? -origin : 0;
        e = left > 0 ? left : 0;
    } else {
        s = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
        e = left > 0 ? (left + dilation - 1) / dilation : 0;
    }
    if (e > k_size)
        e = k_size;
    if (e < s)
        e = s;
    *start = s;
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
     * pixels, must fit int32 too. */
    const int64_t limit = (int64_t)1 << 28;
    MTF_ENSURE(m, (int64_t)w->dilation_h * input->dims[2] * cin <= limit && (int64_t)w->dilation_w * cin <= limit,
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
    for (int32_t c = 0; c < cout; c++) {
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
     * models; hostile ones take the general requantization). */
    uint32_t max_bias = 0;
    for (int32_t c = 0; d->bias != NULL && c < cout; c++) {
        const int32_t b = mtf_conv_bias(d->bias, c);
        const uint32_t mag = b < 0 ? 0u - (uint32_t)b : (uint32_t)b;
        max_bias = mag > max_bias ? mag : max_bias;
    }
    int32_t taps = w->filter_h * w->filter_w; /* both <= 32767 (mtf_window_init) */
    if (!depthwise && taps < 32768)
        taps = depth < 32768 ? taps * depth : 32768;
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

/* The general MultiplyByQuantizedMultiplier (any shift, any accumulator),
 * out of line: the requantization's rare case. */
static MTF_NOINLINE int32_t requant_general(int32_t x, int32_t multiplier, int32_t shift, int32_t off)
{
    return mtf_sat_i8(mtf_mul_by_qm_fast(x, multiplier, shift) + off);
}

/* MultiplyByQuantizedMultiplier(x, multiplier, -(r1 + 1)) + off saturated to
 * int8 for any accumulator and shift: mtf_requant_fast where it applies
 * (both conditions are the sign bit of one OR), else the general code. */
static inline int32_t requant1(int32_t x, int32_t multiplier, int32_t r1, int32_t off, int32_t off2)
{
    if (((((uint32_t)x + 0x40000000u) | (uint32_t)r1) >> 31) == 0)
        return mtf_requant_fast(x, multiplier, r1, off2);
    return requant_general(x, multiplier, ~r1, off);
}

void mtf_conv_requant(const mtf_conv_channels_t *q, int32_t c, const uint32_t *acc, int32_t n, int8_t *out)
{
    const int32_t *const mult = q->table + c;
    const int8_t *const r1 = (const int8_t *)(const void *)(q->table + q->channels) + c;
    const int32_t off = q->out_offset, off2 = 2 * off + 1, lo = q->act_min, hi = q->act_max;
    for (int32_t i = 0; i < n; i++) {
        int32_t v = requant1((int32_t)acc[i], mult[i], r1[i], off, off2);
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        out[i] = (int8_t)v;
    }
}
