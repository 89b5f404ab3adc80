/*
 * STRIDED_SLICE: input[begin:end:strides] per axis, for inputs of 1 to 4 dims.
 *
 * Inputs: data, begin, end, strides; the last three must be constant int32
 * tensors holding one value per input dim (TFLite Micro reads that many).
 * Options (StridedSliceOptions): begin_mask = 0, end_mask = 1,
 * ellipsis_mask = 2, new_axis_mask = 3, shrink_axis_mask = 4, offset = 5.
 *
 * TFLite Micro's quirks, reproduced on purpose:
 *  - ellipsis_mask and new_axis_mask are ignored (TFLite Micro zeroes them):
 *    the converter never emits them, and a model that sets them is sliced as
 *    if they were 0 (if its output shape then disagrees, both refuse it).
 *  - offset is ignored (TFLite Micro never copies it into its parameters).
 *  - the output shape is checked with TFLite Micro's prepare formula (ceil
 *    of a float division); eval takes the elements its eval loop takes.
 *    Prepare (mask first, then wrap and clamp) and eval (wrap and clamp,
 *    then the mask) compute one start and one stop for every axis of size
 *    >= 1, except on a shrunk axis, where eval takes one element only when
 *    the stride is positive and the start inside the axis; otherwise TFLite
 *    Micro would leave the output unwritten, so we refuse.
 * The copy is a box (mtf_slices.h) gathered from the input.
 */
#include "mtf_slices.h"

#include <math.h>

#define SS_DIMS 4 /* TFLite Micro handles 1 to 4 dims */

#define SS_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_BOOL) | MTF_DT(MTF_INT16) | MTF_DT(MTF_INT32) | \
     MTF_DT(MTF_FLOAT32))

/*
 * begin or end of an axis of size n >= 1, as TFLite Micro's prepare and eval both compute
 * it. The loop "for (i = start; stride > 0 ? i < stop : i > stop; i += stride)" starts and
 * stops within [lo, lo + n] (lo = 0 with a positive stride, else -1): a masked bound is one
 * end of that range (masked_low: the low one); any other counts from the end when negative
 * and is clamped into it.
 */
static int32_t ss_index(int32_t v, int masked, int masked_low, int32_t lo, int32_t n)
{
    int32_t hi = lo + n;
    if (masked)
        return masked_low ? lo : hi;
    if (v < 0)
        v += n;
    return v < lo ? lo : (v > hi ? hi : v);
}

static mtf_status_t ss_prepare(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in, *out;
    int size;
    MTF_TRY(mtf_move_io(m, node, 4, 4, SS_TYPES, &in, &out, &size));
    int dims = in->ndims;
    MTF_ENSURE(m, dims <= SS_DIMS, MTF_ERR_UNSUPPORTED_TYPE, "input has more than 4 dims");

    int32_t v[3][SS_DIMS]; /* begin, end, strides */
    for (int j = 0; j < 3; j++)
        MTF_TRY(mtf_move_ints(m, mtf_node_input(m, node, j + 1), dims, v[j]));
    int32_t begin_mask = mtf_opt_i32(node, 0, 0);
    int32_t end_mask = mtf_opt_i32(node, 1, 0);
    int32_t shrink_mask = mtf_opt_i32(node, 4, 0);

    mtf_box_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    d->gather = 1;

    /* Axis i of the input is axis a = i + pad of the box; leading pad axes take their only element. */
    int pad = SS_DIMS - dims;
    int32_t want[SS_DIMS];
    int kept = 0;
    int32_t pitch = in->bytes; /* bytes per index of the axis, found going inwards */
    int32_t runs = 1;
    for (int a = 0; a < SS_DIMS; a++) {
        int i = a - pad;
        d->count[a] = 1;
        if (i < 0)
            continue;
        int32_t n = in->dims[i], stride = v[2][i];
        MTF_ENSURE(m, stride != 0, MTF_ERR_BAD_MODEL, "stride of 0");
        MTF_ENSURE(m, n > 0, MTF_ERR_SHAPE, "empty axis");
        pitch /= n;
        int32_t lo = stride > 0 ? 0 : -1;
        int32_t s = ss_index(v[0][i], (begin_mask >> i) & 1, stride > 0, lo, n);
        int32_t e = ss_index(v[1][i], (end_mask >> i) & 1, stride < 0, lo, n);
        int32_t count;
        if ((shrink_mask >> i) & 1) {
            MTF_ENSURE(m, stride > 0 && s < n, MTF_ERR_SHAPE, "shrunk axis index out of range");
            count = 1;
        } else {
            /* float division and ceil, as TFLite Micro computes the expected length */
            int32_t len = (int32_t)ceilf((float)(e - s) / (float)stride);
            want[kept++] = len < 0 ? 0 : len;
            /* The elements the loop takes, exactly: s and e lie in [-1, n], and |stride| may be
             * 2^31, so unsigned. */
            int32_t span = stride > 0 ? e - s : s - e;
            uint32_t step = stride > 0 ? (uint32_t)stride : 0u - (uint32_t)stride;
            count = span > 0 ? (int32_t)(((uint32_t)span - 1) / step + 1) : 0;
        }
        /* Every taken index lies in [0, n): a stride is only applied with 2 or more taken
         * elements, and then |stride| < n, so the product fits; a huge unused one must not. */
        d->count[a] = count;
        d->step[a] = count > 1 ? stride * pitch : 0;
        if (count > 0) /* else s may be -1 or n, and there is nothing to copy */
            d->start += s * pitch;
        runs *= count;
    }
    MTF_TRY(mtf_move_shape(m, out, want, kept));
    /* Where the float formula and the loop disagree (huge values), refuse. */
    MTF_ENSURE(m, runs * size == out->bytes, MTF_ERR_SHAPE, "slice does not fill the output");
    d->run = size;
    mtf_box_finish(d);
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_strided_slice = {ss_prepare, mtf_box_eval};
