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
    return mtf_slices_prepare(m, node, MTF_SPLIT_FROM(1, 0, 2) | MTF_PARTS_EQUAL, MTF_SPLIT_TYPES);
}

const mtf_kernel_t mtf_kernel_split = {split_prepare, mtf_slices_eval};
