/*
 * SPLIT: cut a tensor into num_splits equal parts along one axis.
 *
 * Inputs: axis (constant int32, TFLite Micro refuses a computed one), data.
 * Options (SplitOptions): num_splits = 0.
 * Like TFLite Micro, the parts are shaped from the output tensors; prepare
 * checks that they really tile the input.
 */
#include "mtf_slices.h"

static mtf_status_t split_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n = mtf_node_num_outputs(node);
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 2 && n >= 1 && n == mtf_opt_i32(node, 0, n), MTF_ERR_BAD_MODEL,
               "needs 2 inputs and num_splits outputs");
    int32_t axis;
    MTF_TRY(mtf_move_ints(m, mtf_node_input(m, node, 0), -1, &axis));
    return mtf_slices_prepare(m, node, 1, &axis, MTF_SPLIT_TYPES, MTF_PARTS_EQUAL);
}

const mtf_kernel_t mtf_kernel_split = {split_prepare, mtf_slices_eval};
