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
#include "mtf_window.h"

/* ReducerOptions field (schema.fbs). */
enum { OPT_KEEP_DIMS = 0 };

typedef struct {
    int32_t n_kept, n_axes; /* axes after merging */
    /* The kept axes first, then the reduced ones (together at most the input's rank; at least
     * one reduced axis, of size 1 and stride 0 when nothing is reduced). */
    int32_t dims[MTF_MAX_DIMS], strides[MTF_MAX_DIMS];
    int32_t zp_total; /* input zero point times the input elements per output element, wrapped */
    int32_t multiplier, shift; /* 1/count folded in */
    int32_t out_zp;
} mean_data_t;

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
    uint32_t red = 0; /* bit i: axis i is reduced */
    const int32_t n_axis = (int32_t)((uint32_t)axis->bytes / 4); /* int32 values (bytes >= 0) */
    for (int32_t i = 0; i < n_axis; i++) {
        int32_t a = mtf_load_i32(axis->data + 4 * (size_t)i);
        a = a < 0 ? a + nd : a;
        MTF_ENSURE(m, a >= 0 && a < nd, MTF_ERR_SHAPE, "axis out of range");
        red |= 1u << a;
    }
    /* The output shape: reduced axes become 1 with keep_dims and vanish without (all of
     * them reduced, the output may also be [1]: dim 0 then stays, as a 1). */
    uint32_t drop = mtf_opt_u8(node, OPT_KEEP_DIMS, 0) ? 0 : red;
    if (drop + 1 == 1u << nd && output->ndims == 1)
        drop ^= 1;
    MTF_TRY(mtf_move_dims(m, output, input, MTF_DIMS_DROP(drop) | MTF_DIMS_ONE(red)));

    /* An empty input (TFLite Micro writes nothing) would still produce one output here. */
    MTF_ENSURE(m, input->bytes > 0, MTF_ERR_UNSUPPORTED_TYPE, "empty input");
    mean_data_t *d = (mean_data_t *)mtf_move_alloc(m, node, sizeof(mean_data_t));
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    /* Kept axes, then reduced axes, each in input order; axes of size 1 are dropped (they
     * move nothing), and an axis whose previous axis of size > 1 is of its kind is contiguous
     * with it and merges into it. An axis' stride is the input's elements (bytes: int8)
     * over the product of the dims up to it. */
    int n = 0;
    for (uint32_t pass = 0; pass < 2; pass++) {
        uint32_t prev = 2; /* kind of the previous axis of size > 1: none yet */
        int32_t upto = 1;
        for (int i = 0; i < nd; i++) {
            int32_t dim = input->dims[i];
            uint32_t kind = red >> i & 1;
            upto *= dim;
            if (dim == 1)
                continue;
            if (kind == pass) {
                if (prev != pass)
                    d->dims[n++] = 1;
                d->dims[n - 1] *= dim;
                d->strides[n - 1] = input->bytes / upto;
            }
            prev = kind;
        }
        if (pass == 0)
            d->n_kept = n;
    }
    /* Nothing reduced (or only axes of size 1): then the kept axes all merged into at most
     * one, and a reduced axis of one element follows. */
    if (n == d->n_kept)
        d->dims[n++] = 1;
    d->n_axes = n;
    /* The product of the reduced dims (int8: bytes are elements; the output's, checked
     * above, are the kept dims' product, at least 1). */
    const int32_t count = input->bytes / output->bytes;
    /* Wrapped as TFLite Micro's int32 arithmetic wraps. */
    d->zp_total = (int32_t)((uint32_t)input->zero_point * (uint32_t)count);
    d->out_zp = output->zero_point;
    int32_t multiplier;
    int shift = mtf_arith_ratio(input->scale, output->scale, &multiplier);
    /* Fold 1/count: scale the multiplier up by 2^s (s = floor(log2 count),
     * TFLite's 63 - CountLeadingZeros, capped at 32 and at 31 + shift), divide
     * by count, shift back. count < 2^31 here, so s <= 30 and the cap at 32
     * never applies. */
    int s = 31 - __builtin_clz((uint32_t)count);
    s = s < 31 + shift ? s : 31 + shift;
    d->multiplier = (int32_t)((int64_t)multiplier * (int32_t)(1 << s) / count); /* s <= 30 */
    d->shift = shift - s;
    /* TFLite Micro shifts by these amounts in 32-bit arithmetic: outside
     * [-31, 30] (scales 2^30 apart, only in hostile models) it is undefined. */
    MTF_ENSURE(m, d->shift >= -31 && d->shift <= 30, MTF_ERR_UNSUPPORTED_TYPE, "scales too far apart");
    return MTF_OK;
}

/*
 * One odometer over all axes, kept then reduced (the order of their
 * strides), so the reduced ones turn fastest: the innermost reduced axis is
 * a plain loop, and each carry into a kept axis (or past the first one)
 * completes one output element. Without reduced axes every element is one
 * output: the inner loop then covers a single element.
 */
static mtf_status_t mean_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mean_data_t *d = (const mean_data_t *)mtf_node_data(node);
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    mtf_tensor_t *output = mtf_node_output(m, node, 0);
    const int8_t *base = (const int8_t *)input->data;
    int8_t *out = (int8_t *)output->data;
    const int32_t nk = d->n_kept, odo = d->n_axes - 1; /* axes before odo are stepped by the odometer */
    const int32_t inner_n = d->dims[odo], inner_st = d->strides[odo];
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
            int32_t shifted = (int32_t)((uint32_t)sum - (uint32_t)d->zp_total);
            *out++ = (int8_t)mtf_sat_i8(mtf_arith_mul_by_qm(shifted, d->multiplier, d->shift) + d->out_zp);
            sum = 0;
            if (k < 0)
                return MTF_OK;
        }
    }
}

const mtf_kernel_t mtf_kernel_mean = { mean_prepare, mean_eval };
