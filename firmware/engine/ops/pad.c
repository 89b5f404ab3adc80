/*
 * pad.c - PAD (and the 3-input PADV2 form): copies the input into the middle
 * of a larger output and fills the border with one value, as TFLite Micro's
 * reference Pad does. int8 pads with the output zero point (the real 0.0),
 * int32 and float32 with 0, unless a constant_values scalar is given.
 *
 * The paddings tensor is a constant int32 [rank, 2] read at prepare (it may
 * sit unaligned in the model). Eval fills the whole output with the pad
 * value, then copies the input's innermost rows to their places (a box
 * scattered into the output, mtf_slices.h).
 */
#include "mtf_slices.h"

/* TFLite Micro's reference Pad handles up to 5 dimensions. */
#define PAD_MAX_DIMS 5

#define PAD_TYPES (MTF_DT(MTF_INT8) | MTF_DT(MTF_INT32) | MTF_DT(MTF_FLOAT32))

/* One message per failing status where checks share it (one failure site each). */
#define PAD_BAD_VALUE "constant_values type differs from input, or output zero point outside int8"
#define PAD_UNSUPPORTED "negative padding, or constant_values quantized unlike the output"
#define PAD_BAD_SHAPE "rank not 1 to 5, or output shape disagrees with paddings"

typedef struct {
    mtf_box_t box;   /* first: mtf_box_eval reads it */
    int32_t size;    /* element size in bytes */
    uint8_t fill[4]; /* pad value without constant_values: int8 output zero point, else 0 */
} pad_data_t;

static mtf_status_t pad_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_move_io_t io;
    MTF_TRY(mtf_move_io(m, node, MTF_INS(2, 3) | PAD_TYPES | MTF_DT_MISMATCH_BAD_MODEL, &io));
    const mtf_tensor_t *in = io.in, *out = io.out;
    int size = io.size;
    int nd = in->ndims;
    MTF_ENSURE(m, nd >= 1 && nd <= PAD_MAX_DIMS && out->ndims == nd, MTF_ERR_SHAPE,
               PAD_BAD_SHAPE);
    int32_t p[2 * PAD_MAX_DIMS];
    MTF_TRY(mtf_move_ints(m, mtf_node_input(m, node, 1), 2 * nd, p)); /* checks it is present */
    const mtf_tensor_t *value = mtf_node_input(m, node, 2);
    if (value != NULL) {
        MTF_ENSURE(m, value->dtype == in->dtype, MTF_ERR_BAD_MODEL, PAD_BAD_VALUE);
        MTF_ENSURE(m, value->bytes == size, MTF_ERR_SHAPE, "constant_values must be a scalar");
        if (in->dtype == MTF_INT8) {
            MTF_ENSURE(m, value->zero_point == out->zero_point && (double)value->scale == (double)out->scale,
                       MTF_ERR_UNSUPPORTED_TYPE, PAD_UNSUPPORTED);
        }
    } else if (in->dtype == MTF_INT8) {
        MTF_ENSURE(m, out->zero_point >= -128 && out->zero_point <= 127, MTF_ERR_BAD_MODEL,
                   PAD_BAD_VALUE);
    }
    for (int i = 0; i < nd; i++) {
        int32_t lo = p[2 * i], hi = p[2 * i + 1];
        MTF_ENSURE(m, lo >= 0 && hi >= 0, MTF_ERR_UNSUPPORTED_TYPE, PAD_UNSUPPORTED);
        /* In 64 bits: hostile paddings near INT32_MAX must not overflow the check. */
        MTF_ENSURE(m, (int64_t)in->dims[i] + lo + hi == out->dims[i], MTF_ERR_SHAPE,
                   PAD_BAD_SHAPE);
    }

    pad_data_t *d = mtf_move_alloc(m, node, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    d->size = size;
    if (in->dtype == MTF_INT8)
        d->fill[0] = (uint8_t)(int8_t)out->zero_point;
    /* Runs are the input's innermost rows; input axis i < nd - 1 is box axis i + MTF_BOX_AXES + 1 - nd,
     * stepping by the output's pitch. Unsigned: with a 0 dim the products may wrap (harmlessly:
     * there are no runs then); without one they stay inside the output's bytes. */
    mtf_box_t *b = &d->box;
    uint32_t pitch = (uint32_t)size, start = 0;
    for (int a = 0; a < MTF_BOX_AXES; a++)
        b->count[a] = 1;
    for (int i = nd - 1; i >= 0; i--) {
        start += (uint32_t)p[2 * i] * pitch;
        if (i < nd - 1) {
            int a = i + MTF_BOX_AXES + 1 - nd;
            b->count[a] = in->dims[i];
            b->step[a] = (int32_t)pitch;
        }
        pitch *= (uint32_t)out->dims[i];
    }
    b->start = (int32_t)start;
    b->run = (int32_t)((uint32_t)in->dims[nd - 1] * (uint32_t)size);
    mtf_box_finish(b);
    return MTF_OK;
}

static mtf_status_t pad_eval(mtf_model_t *m, mtf_node_t *node)
{
    const pad_data_t *d = mtf_node_data(node);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    const mtf_tensor_t *value = mtf_node_input(m, node, 2);
    const uint8_t *fill = value != NULL ? value->data : d->fill;
    if (d->size == 1) {
        memset(out->data, fill[0], (size_t)out->bytes);
    } else {
        uint32_t word; /* fill may sit unaligned in the model */
        memcpy(&word, fill, 4);
        for (int32_t i = 0; i < out->bytes; i += 4)
            memcpy(out->data + i, &word, 4);
    }
    return mtf_box_eval(m, node);
}

const mtf_kernel_t mtf_kernel_pad = {pad_prepare, pad_eval};
