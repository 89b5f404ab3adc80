/*
 * RESHAPE: same bytes, new dims.
 *
 * Inputs: data, and optionally the new shape as a tensor (else the
 * new_shape option, ReshapeOptions field 0). As in TFLite Micro the output
 * shape stored in the model is what counts: neither the shape tensor nor
 * the option is read beyond checking that the element counts agree.
 * The data is copied (no aliasing with the planner); when the core does
 * place both tensors at one address, the copy is skipped.
 */
#include "mtf_slices.h"

/* Element types TFLite Micro reshapes. */
#define RESHAPE_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_BOOL) | MTF_DT(MTF_INT16) | \
     MTF_DT(MTF_FLOAT16) | MTF_DT(MTF_INT32) | MTF_DT(MTF_FLOAT32) | MTF_DT(MTF_INT64) | \
     MTF_DT(MTF_FLOAT64))

static mtf_status_t reshape_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_move_io_t io;
    MTF_TRY(mtf_move_io(m, node, MTF_INS(1, 2) | RESHAPE_TYPES, &io));
    /* One dtype: equal byte counts are equal element counts (the loader rejects negative dims). */
    MTF_ENSURE(m, io.in->bytes == io.out->bytes, MTF_ERR_SHAPE, "input and output elements differ");
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_reshape = {reshape_prepare, mtf_copy_through_eval};
