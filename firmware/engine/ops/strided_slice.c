/*
 * STRIDED_SLICE: input[begin:end:strides] per axis, for inputs of 1 to 4 dims.
 *
 * Inputs: data, begin, end, strides; the last three must be constant int32
 * vectors with one entry per input dim (as TFLite Micro requires).
 * Options (StridedSliceOptions): begin_mask = 0, end_mask = 1,
 * ellipsis_mask = 2, new_axis_mask = 3, shrink_axis_mask = 4, offset = 5.
 *
 * TFLite Micro's quirks, reproduced on purpose:
 *  - ellipsis_mask and new_axis_mask are ignored (TFLite Micro zeroes them):
 *    the converter never emits them, and a model that sets them is sliced as
 *    if they were 0 (if its output shape then disagrees, both refuse it).
 *  - offset is ignored (TFLite Micro never copies it into its parameters).
 *  - the output shape is checked with TFLite Micro's prepare formulas
 *    (ceil of a float division); eval uses its eval formulas. Where the two
 *    disagree (a shrunk axis with a negative stride, or whose index falls
 *    outside the input) we refuse: TFLite Micro would leave the output unwritten.
 */
#include "mtf_kernel.h"

#include <math.h>

#define SS_DIMS 4 /* TFLite Micro handles 1 to 4 dims */

typedef struct {
    int32_t start[SS_DIMS];   /* first index per axis, leading axes padded */
    int32_t count[SS_DIMS];   /* elements taken per axis */
    int32_t step[SS_DIMS];    /* byte distance between taken elements per axis */
    int32_t run;              /* bytes copied at once on the innermost axis (0: one element at a time) */
    int32_t size;             /* element size in bytes */
} ss_data_t;

static int ss_elem_size(int dtype)
{
    switch (dtype) {
    case MTF_INT8:
    case MTF_UINT8:
    case MTF_BOOL:
        return 1;
    case MTF_INT16:
        return 2;
    case MTF_INT32:
    case MTF_FLOAT32:
        return 4;
    default:
        return 0;
    }
}

static int32_t ss_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Start of an axis as TFLite Micro's prepare computes it (mask first, then wrap and clamp). */
static int32_t ss_check_start(int32_t begin, int32_t stride, int masked, int32_t size)
{
    if (masked)
        begin = stride > 0 ? INT32_MIN : INT32_MAX;
    if (begin < 0)
        begin += size;
    return stride > 0 ? ss_clamp(begin, 0, size) : ss_clamp(begin, -1, size - 1);
}

static int32_t ss_check_stop(int32_t end, int32_t stride, int masked, int32_t size)
{
    if (masked)
        end = stride > 0 ? INT32_MAX : INT32_MIN;
    if (end < 0)
        end += size;
    return stride > 0 ? ss_clamp(end, 0, size) : ss_clamp(end, -1, size - 1);
}

/* Start of an axis as TFLite Micro's eval computes it (wrap and clamp, then the mask). */
static int32_t ss_eval_start(int32_t begin, int32_t stride, int masked, int32_t size)
{
    if (begin < 0)
        begin += size;
    begin = stride > 0 ? ss_clamp(begin, 0, size) : ss_clamp(begin, -1, size - 1);
    if (masked)
        begin = stride > 0 ? 0 : size - 1;
    return begin;
}

static int32_t ss_eval_stop(int32_t end, int32_t start, int32_t stride, int masked, int shrink, int32_t size)
{
    if (shrink)
        return start >= size ? start : start + 1;
    if (end < 0)
        end += size;
    end = stride > 0 ? ss_clamp(end, 0, size) : ss_clamp(end, -1, size - 1);
    if (masked)
        end = stride > 0 ? size : -1;
    return end;
}

/* Number of iterations of TFLite Micro's loop "for (i = start; stride > 0 ? i < stop : i > stop; i += stride)". */
static int32_t ss_iterations(int32_t start, int32_t stop, int32_t stride)
{
    /* 64-bit: a model may give a stride near INT32_MAX or INT32_MIN. */
    int64_t span = stride > 0 ? (int64_t)stop - start : (int64_t)start - stop;
    int64_t step = stride > 0 ? (int64_t)stride : -(int64_t)stride;
    return span > 0 ? (int32_t)((span + step - 1) / step) : 0;
}

static mtf_status_t ss_read_vector(mtf_model_t *m, const mtf_tensor_t *t, const char *what, int dims,
                                   int32_t *out)
{
    MTF_ENSURE(m, t != NULL, MTF_ERR_BAD_MODEL, "missing %s tensor", what);
    MTF_ENSURE(m, (t->flags & MTF_TENSOR_CONST) != 0, MTF_ERR_UNSUPPORTED_TYPE, "non-constant %s tensor", what);
    MTF_ENSURE(m, t->dtype == MTF_INT32, MTF_ERR_UNSUPPORTED_TYPE, "%s tensor must be int32", what);
    MTF_ENSURE(m, t->ndims == 1 && t->dims[0] == dims && t->bytes >= 4 * dims, MTF_ERR_SHAPE,
               "%s tensor must hold %d values", what, dims);
    for (int i = 0; i < dims; i++)
        out[i] = mtf_load_i32(t->data + 4 * i); /* model bytes: maybe unaligned */
    return MTF_OK;
}

/* One axis of the slice, as the model gives it. */
typedef struct {
    int32_t begin, end, stride, size;
    int begin_masked, end_masked, shrink;
} ss_axis_t;

/*
 * Check axis i against the output shape with TFLite Micro's prepare-time rule,
 * then give the first index and the number of elements its eval loop takes.
 * out_axis counts the output dims matched so far (shrunk axes have none).
 */
static mtf_status_t ss_plan_axis(mtf_model_t *m, const mtf_tensor_t *out, int i, const ss_axis_t *ax,
                                 int *out_axis, int32_t *start, int32_t *count)
{
    MTF_ENSURE(m, ax->stride != 0, MTF_ERR_BAD_MODEL, "stride of axis %d is 0", i);
    MTF_ENSURE(m, ax->size > 0, MTF_ERR_SHAPE, "axis %d is empty", i);

    int32_t s = ss_check_start(ax->begin, ax->stride, ax->begin_masked, ax->size);
    int32_t e = ax->shrink ? s + 1 : ss_check_stop(ax->end, ax->stride, ax->end_masked, ax->size);
    /* float division and ceil, as TFLite Micro computes the expected length */
    int32_t want = (int32_t)ceilf((float)(e - s) / (float)ax->stride);
    want = want < 0 ? 0 : want;
    if (!ax->shrink) {
        MTF_ENSURE(m, *out_axis < out->ndims && out->dims[*out_axis] == want, MTF_ERR_SHAPE,
                   "output dim %d should be %d", *out_axis, want);
        (*out_axis)++;
    }

    *start = ss_eval_start(ax->begin, ax->stride, ax->begin_masked, ax->size);
    int32_t stop = ss_eval_stop(ax->end, *start, ax->stride, ax->end_masked, ax->shrink, ax->size);
    *count = ss_iterations(*start, stop, ax->stride);
    /* A shrunk axis must take exactly one element; with a negative stride or an index past the
     * end TFLite Micro's loop takes none and leaves the output unwritten, so refuse. */
    MTF_ENSURE(m, !ax->shrink || *count == 1, MTF_ERR_SHAPE, "shrunk axis %d index out of range", i);
    return MTF_OK;
}

static mtf_status_t ss_prepare(mtf_model_t *m, mtf_node_t *node)
{
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 4 && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "needs 4 inputs and 1 output");
    mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, in != NULL && out != NULL, MTF_ERR_BAD_MODEL, "missing input or output");
    int size = ss_elem_size(in->dtype);
    MTF_ENSURE(m, size > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d", in->dtype);
    MTF_ENSURE(m, out->dtype == in->dtype, MTF_ERR_UNSUPPORTED_TYPE, "output type differs from input");
    int dims = in->ndims;
    MTF_ENSURE(m, dims <= SS_DIMS, MTF_ERR_UNSUPPORTED_TYPE, "input has %d dims (at most %d)", dims, SS_DIMS);

    int32_t begin[SS_DIMS], end[SS_DIMS], strides[SS_DIMS];
    MTF_TRY(ss_read_vector(m, mtf_node_input(m, node, 1), "begin", dims, begin));
    MTF_TRY(ss_read_vector(m, mtf_node_input(m, node, 2), "end", dims, end));
    MTF_TRY(ss_read_vector(m, mtf_node_input(m, node, 3), "strides", dims, strides));
    int32_t begin_mask = mtf_opt_i32(node, 0, 0);
    int32_t end_mask = mtf_opt_i32(node, 1, 0);
    int32_t shrink_mask = mtf_opt_i32(node, 4, 0);

    ss_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    d->size = size;

    /* Leading pad axes take their only element, as TFLite Micro's padding to more dims does. */
    int pad = SS_DIMS - dims;
    int32_t in_dims[SS_DIMS];
    for (int a = 0; a < pad; a++) {
        in_dims[a] = 1;
        d->start[a] = 0;
        d->count[a] = 1;
    }
    int out_axis = 0;
    int64_t total = 1;
    for (int i = 0; i < dims; i++) {
        ss_axis_t ax = {begin[i], end[i], strides[i], in->dims[i], (begin_mask >> i) & 1, (end_mask >> i) & 1,
                        (shrink_mask >> i) & 1};
        MTF_TRY(ss_plan_axis(m, out, i, &ax, &out_axis, &d->start[pad + i], &d->count[pad + i]));
        in_dims[pad + i] = ax.size;
        total *= d->count[pad + i];
    }
    MTF_ENSURE(m, out_axis == out->ndims, MTF_ERR_SHAPE, "output has %d dims, slice gives %d", out->ndims,
               out_axis);
    MTF_ENSURE(m, total * size == out->bytes, MTF_ERR_SHAPE, "slice fills %d of %d output bytes",
               (int32_t)(total * size), out->bytes);
    MTF_ENSURE(m, (int64_t)mtf_elements(in) * size == in->bytes, MTF_ERR_SHAPE, "input size mismatch");

    /* Byte distance per taken element on each axis: the stride times the axis pitch. The
     * start and every taken index stay inside [0, axis size) by the clamping above. */
    int32_t pitch = size;
    for (int a = SS_DIMS - 1; a >= 0; a--) {
        /* A stride is only ever applied when the axis takes 2 or more elements, and then
         * |stride| < axis size, so the product fits; a huge unused stride must not overflow. */
        int32_t stride = (a >= pad && d->count[a] > 1) ? strides[a - pad] : 0;
        d->step[a] = stride * pitch;
        d->start[a] *= pitch;
        pitch *= in_dims[a];
    }
    /* With stride 1 on the last axis its elements are contiguous: copy them in one go. */
    d->run = (dims == 0 || strides[dims - 1] == 1) ? d->count[SS_DIMS - 1] * size : 0;
    mtf_node_set_data(node, d);
    return MTF_OK;
}

static mtf_status_t ss_eval(mtf_model_t *m, mtf_node_t *node)
{
    const ss_data_t *d = mtf_node_data(node);
    const uint8_t *src = mtf_node_input(m, node, 0)->data;
    uint8_t *dst = mtf_node_output(m, node, 0)->data;
    int32_t size = d->size;
    for (int32_t i0 = 0, o0 = d->start[0]; i0 < d->count[0]; i0++, o0 += d->step[0]) {
        for (int32_t i1 = 0, o1 = o0 + d->start[1]; i1 < d->count[1]; i1++, o1 += d->step[1]) {
            for (int32_t i2 = 0, o2 = o1 + d->start[2]; i2 < d->count[2]; i2++, o2 += d->step[2]) {
                int32_t o3 = o2 + d->start[3];
                if (d->run > 0) {
                    memcpy(dst, src + o3, (size_t)d->run);
                    dst += d->run;
                    continue;
                }
                for (int32_t i3 = 0; i3 < d->count[3]; i3++, o3 += d->step[3]) {
                    memcpy(dst, src + o3, (size_t)size);
                    dst += size;
                }
            }
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_strided_slice = {ss_prepare, ss_eval};
