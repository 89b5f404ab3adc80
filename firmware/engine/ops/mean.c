/*
 * mean.c - MEAN on int8 over any set of axes, keep_dims or not, as TFLite
 * Micro's reduce kernel computes it: the int32 sum of the reduced int8
 * values, minus zp_in * count, requantized with input_scale / output_scale
 * where the 1/count is folded into the multiplier in integers
 * (QuantizedMeanOrSum), plus the output zero point, clamped to int8.
 * Older TFLite Micro releases took a shortcut (truncating sum / count) when
 * input and output quantization are equal; the current one, our oracle,
 * always requantizes, and so does this kernel (fixture mean_gap_same_quant).
 * No fused activation exists for MEAN.
 *
 * Each output element is summed on its own (no scratch buffer): one
 * odometer over input strides runs through the kept and then the reduced axes.
 * Neighbouring axes of the same kind that are contiguous in memory merge into
 * one (global average pooling's H and W become one run of H*W at stride C),
 * which shortens the odometers and keeps the persistent data small.
 */
#include "mtf_activation.h"
#include "mtf_quant.h"
#include "mtf_slices.h"

/* ReducerOptions field (schema.fbs). */
enum { OPT_KEEP_DIMS = 0 };

typedef struct {
    int32_t n_kept, n_reduced; /* axes after merging */
    /* The kept axes first, then the reduced ones (together at most the input's rank). */
    int32_t dims[MTF_MAX_DIMS], strides[MTF_MAX_DIMS];
    int32_t count; /* input elements per output element */
    int32_t multiplier, shift; /* 1/count folded in */
    int32_t in_zp, out_zp;
} mean_data_t;

/* Whether bit i of the reduced-axes mask is set. */
static int is_reduced(unsigned red, int i)
{
    return (int)(red >> i & 1u);
}

static mtf_status_t mean_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *t[3];
    MTF_TRY(mtf_arith_io(m, node, 2, 1, t));
    const mtf_tensor_t *input = t[0], *axis = t[1], *output = t[2];
    MTF_ENSURE(m, input->dtype == MTF_INT8 && output->dtype == MTF_INT8 && (axis->flags & MTF_TENSOR_CONST) &&
                      input->ndims >= 1,
               MTF_ERR_UNSUPPORTED_TYPE, "needs int8 tensors, a constant axis and a non-scalar input");
    MTF_ENSURE(m, axis->dtype == MTF_INT32 && mtf_arith_scale_ok(input->scale) && mtf_arith_scale_ok(output->scale),
               MTF_ERR_BAD_MODEL, "needs an int32 axis and quantized input and output");

    /* Resolve the axes: negative ones count from the end, repeats collapse. */
    const int nd = input->ndims;
    unsigned red = 0; /* bit i: axis i is reduced */
    const int32_t n_axis = mtf_arith_count(axis);
    for (int32_t i = 0; i < n_axis; i++) {
        int32_t a = mtf_load_i32(axis->data + 4 * (size_t)i);
        int32_t r = a < 0 ? a + nd : a;
        MTF_ENSURE(m, r >= 0 && r < nd, MTF_ERR_SHAPE, "axis out of range");
        red |= 1u << r;
    }

    mean_data_t *d = (mean_data_t *)mtf_alloc_persistent(m, sizeof(mean_data_t));
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    const int keep_dims = mtf_opt_u8(node, OPT_KEEP_DIMS, 0) != 0;
    /* Input strides, the reduced count, and the output shape: reduced axes
     * become 1 with keep_dims and vanish without (all of them reduced, the
     * output may also be [1]). */
    int32_t strides[MTF_MAX_DIMS], want[MTF_MAX_DIMS];
    int32_t stride = 1;
    int n_want = 0;
    d->count = 1;
    for (int i = nd - 1; i >= 0; i--) {
        strides[i] = stride;
        stride *= input->dims[i];
    }
    for (int i = 0; i < nd; i++) {
        if (is_reduced(red, i))
            d->count *= input->dims[i];
        if (!is_reduced(red, i) || keep_dims)
            want[n_want++] = is_reduced(red, i) ? 1 : input->dims[i];
    }
    if (n_want == 0 && output->ndims == 1)
        want[n_want++] = 1;
    MTF_TRY(mtf_move_shape(m, output, want, n_want));
    /* Kept axes, then reduced axes, each in input order; an axis contiguous
     * with the previous one of its kind (previous stride = this stride * this
     * size) merges into it. Axes of size 1 are dropped: they move nothing. */
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        const int first = n;
        for (int i = 0; i < nd; i++) {
            if (is_reduced(red, i) != pass || input->dims[i] == 1)
                continue;
            if (n > first && d->strides[n - 1] == strides[i] * input->dims[i]) {
                d->dims[n - 1] *= input->dims[i];
                d->strides[n - 1] = strides[i];
            } else {
                d->dims[n] = input->dims[i];
                d->strides[n++] = strides[i];
            }
        }
        if (pass == 0)
            d->n_kept = n;
    }
    d->n_reduced = n - d->n_kept;
    MTF_ENSURE(m, d->count > 0, MTF_ERR_UNSUPPORTED_TYPE, "empty reduction");

    d->in_zp = input->zero_point;
    d->out_zp = output->zero_point;
    int32_t multiplier;
    int shift = mtf_arith_ratio(input->scale, output->scale, &multiplier);
    /* Fold 1/count: scale the multiplier up by 2^s (s = floor(log2 count),
     * TFLite's 63 - CountLeadingZeros, capped at 32 and at 31 + shift), divide
     * by count, shift back. count < 2^31 here, so s <= 30 and the cap at 32
     * never applies. */
    int s = 31 - __builtin_clz((uint32_t)d->count);
    s = s < 31 + shift ? s : 31 + shift;
    d->multiplier = (int32_t)(((int64_t)multiplier << s) / (int64_t)d->count);
    d->shift = shift - s;
    /* TFLite Micro shifts by these amounts in 32-bit arithmetic: outside
     * [-31, 30] (scales 2^30 apart, only in hostile models) it is undefined. */
    MTF_ENSURE(m, d->shift >= -31 && d->shift <= 30, MTF_ERR_UNSUPPORTED_TYPE, "scales too far apart");
    mtf_node_set_data(node, d);
    return MTF_OK;
}

/*
 * One odometer over all axes, kept then reduced (the order of their
 * strides), so the reduced ones turn fastest: the innermost reduced axis is
 * a plain loop, and each carry into a kept axis (or past the first one)
 * completes one output element. Without reduced axes every element is one
 * output: the loop then covers a single element.
 */
static mtf_status_t mean_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mean_data_t *d = (const mean_data_t *)mtf_node_data(node);
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    mtf_tensor_t *output = mtf_node_output(m, node, 0);
    const int8_t *base = (const int8_t *)input->data;
    int8_t *out = (int8_t *)output->data;
    const int32_t nk = d->n_kept, n = nk + d->n_reduced;
    const int32_t odo = d->n_reduced > 0 ? n - 1 : n; /* axes stepped by the odometer */
    const int32_t inner_n = odo < n ? d->dims[odo] : 1, inner_st = odo < n ? d->strides[odo] : 0;
    const int64_t zp_total = (int64_t)d->in_zp * d->count;
    int32_t idx[MTF_MAX_DIMS] = { 0 };
    int32_t sum = 0;

    for (;;) {
        const int8_t *p = base;
        for (int32_t i = 0; i < inner_n; i++, p += inner_st)
            sum += *p;
        int32_t k = odo - 1;
        for (; k >= 0; k--) {
            base += d->strides[k];
            if (++idx[k] < d->dims[k])
                break;
            base -= d->strides[k] * d->dims[k];
            idx[k] = 0;
        }
        if (k < nk) {
            int32_t shifted = (int32_t)((int64_t)sum - zp_total);
            int32_t v = mtf_arith_mul_by_qm(shifted, d->multiplier, d->shift) + d->out_zp;
            v = v < -128 ? -128 : v;
            v = v > 127 ? 127 : v;
            *out++ = (int8_t)v;
            sum = 0;
            if (k < 0)
                return MTF_OK;
        }
    }
}

const mtf_kernel_t mtf_kernel_mean = { mean_prepare, mean_eval };
