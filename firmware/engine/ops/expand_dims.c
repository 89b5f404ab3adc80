/*
 * EXPAND_DIMS: insert a dim of size 1; the bytes are copied unchanged.
 *
 * Inputs: data, axis (constant int32 with one element; negative counts from
 * the end of the output's dims). The output shape stored in the model must
 * be the input's with a 1 inserted at axis, as TFLite Micro checks.
 */
#include "mtf_slices.h"

/* Element types TFLite Micro expands. */
#define EXPAND_DIMS_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_INT16) | MTF_DT(MTF_INT32) | \
     MTF_DT(MTF_FLOAT32))

static mtf_status_t expand_dims_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_move_io_t io;
    MTF_TRY(mtf_move_io(m, node, MTF_INS(2, 2) | EXPAND_DIMS_TYPES, &io));
    const mtf_tensor_t *axis_t = mtf_node_input(m, node, 1);
    int32_t axis;
    MTF_TRY(mtf_move_ints(m, axis_t, -1, &axis)); /* present, constant int32, not empty */
    MTF_ENSURE(m, axis_t->ndims <= 1, MTF_ERR_UNSUPPORTED_TYPE, "axis must be one int32");
    MTF_TRY(mtf_move_axis(m, &axis, io.in->ndims + 1));
    return mtf_move_dims(m, io.out, io.in, MTF_DIMS_INSERT(1u << axis));
}

const mtf_kernel_t mtf_kernel_expand_dims = {expand_dims_prepare, mtf_copy_through_eval};
