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
 *  - the output shape is checked with TFLite Micro's prepare formula, the ceil
 *    of float(end - begin) / float(stride). With |end - begin| < 2^24 that
 *    equals the integer ceil, the count of elements its eval loop takes,
 *    so prepare computes that count in integers and refuses axes of 2^24
 *    elements or more (no microcontroller holds one) rather than carry
 *    float code. Prepare (mask first, then wrap and clamp) and eval (wrap
 *    and clamp, then the mask) compute one start and one stop for every
 *    axis of size >= 1, except on a shrunk axis, where eval takes one
 *    element only when the stride is positive and the start inside the
 *    axis; otherwise TFLite Micro would leave the output unwritten, so we
 *    refuse.
 * The copy is a box (mtf_slices.h) gathered from the input.
 */
#include "mtf_slices.h"

#define SS_DIMS 4 /* TFLite Micro handles 1 to 4 dims */

/* One message for both axis checks of status MTF_ERR_SHAPE (one failure site). */
#define SS_BAD_AXIS "empty or huge axis, or shrunk axis index out of range"

#define SS_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_BOOL) | MTF_DT(MTF_INT16) | MTF_DT(MTF_INT32) | \
     MTF_DT(MTF_FLOAT32))

static mtf_status_t ss_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_move_io_t io;
    MTF_TRY(mtf_move_io(m, node, MTF_INS(4, 4) | SS_TYPES, &io));
    const mtf_tensor_t *in = io.in, *out = io.out;
    int size = io.size;
    int dims = in->ndims;
    MTF_ENSURE(m, dims <= SS_DIMS, MTF_ERR_UNSUPPORTED_TYPE, "input has more than 4 dims");

    int32_t v[3][SS_DIMS]; /* begin, end, strides */
    for (int j = 0; j < 3; j++)
        MTF_TRY(mtf_move_ints(m, mtf_node_input(m, node, j + 1), dims, v[j]));
    /* begin_mask, end_mask, shrink_axis_mask */
    int32_t mask[3] = {mtf_opt_i32(node, 0, 0), mtf_opt_i32(node, 1, 0), mtf_opt_i32(node, 4, 0)};

    mtf_box_t *d = mtf_move_alloc(m, node, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    d->gather = 1;
    d->run = size;

    /* Input axis i is box axis i + SS_DIMS - dims; leading box axes take their only element. */
    int32_t want[SS_DIMS];
    int kept = 0;
    int32_t pitch = in->bytes; /* bytes per index of the axis, found going inwards */
    for (int a = 0; a < SS_DIMS; a++)
        d->count[a] = 1;
    for (int i = 0; i < dims; i++) {
        int32_t n = in->dims[i], stride = v[2][i];
        MTF_ENSURE(m, stride != 0, MTF_ERR_BAD_MODEL, "stride of 0");
        MTF_ENSURE(m, n > 0 && n < (1 << 24), MTF_ERR_SHAPE, SS_BAD_AXIS);
        pitch /= n;
        /* The loop "for (i = start; stride > 0 ? i < stop : i > stop; i += stride)" starts and
         * stops within [lo, lo + n] (lo = 0 with a positive stride, else -1): a masked bound
         * (j = 0 begin, 1 end) is one end of that range; any other counts from the end when
         * negative and is clamped into it. */
        int32_t lo = stride > 0 ? 0 : -1, be[2];
        for (int j = 0; j < 2; j++) {
            int32_t x = v[j][i];
            if (x < 0)
                x += n;
            x = x < lo ? lo : (x > lo + n ? lo + n : x);
            if ((mask[j] >> i) & 1)
                x = (j ^ (stride < 0)) ? lo + n : lo;
            be[j] = x;
        }
        int32_t s = be[0];
        /* The elements the loop takes: |span| <= n, and |stride| may be 2^31, so unsigned. */
        int32_t span = stride > 0 ? be[1] - s : s - be[1];
        uint32_t step = stride > 0 ? (uint32_t)stride : 0u - (uint32_t)stride;
        int32_t count = span > 0 ? (int32_t)(((uint32_t)span - 1) / step + 1) : 0;
        if ((mask[2] >> i) & 1) {
            MTF_ENSURE(m, stride > 0 && s < n, MTF_ERR_SHAPE, SS_BAD_AXIS);
            count = 1;
        } else {
            want[kept++] = count;
        }
        /* Unsigned: the step and start only matter with 2 or more (step) or 1 or more (start)
         * taken elements, all of them in [0, n), and then they fit; else they may wrap. */
        int a = i + SS_DIMS - dims;
        d->count[a] = count;
        d->step[a] = (int32_t)((uint32_t)stride * (uint32_t)pitch);
        d->start = (int32_t)((uint32_t)d->start + (uint32_t)s * (uint32_t)pitch);
    }
    /* The output's bytes are then the box's (the loader keeps bytes = elements * size). */
    MTF_TRY(mtf_move_shape(m, out, want, kept));
    mtf_box_finish(d);
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_strided_slice = {ss_prepare, mtf_box_eval};
