/*
 * SHAPE: the input's dims as an int32 vector.
 *
 * Options (ShapeOptions): out_type = 0. TFLite Micro writes int32 only.
 * The dims are static, but the output lives in the planned arena and may be
 * overwritten between invokes, so eval writes them every time (from the
 * input's tensor struct: no op data needed).
 */
#include "mtf_activation.h"

static mtf_status_t shape_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *t[2];
    MTF_TRY(mtf_arith_io(m, node, 1, 1, t)); /* 1 input and 1 output, present */
    const mtf_tensor_t *in = t[0], *out = t[1];
    MTF_ENSURE(m, out->dtype == MTF_INT32, MTF_ERR_UNSUPPORTED_TYPE, "output must be int32");
    MTF_ENSURE(m, out->ndims == 1 && out->dims[0] == in->ndims, MTF_ERR_SHAPE, "output must hold one value per dim");
    return MTF_OK;
}

static mtf_status_t shape_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    memcpy(mtf_node_output(m, node, 0)->data, in->dims, (size_t)in->ndims * sizeof in->dims[0]);
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_shape = {shape_prepare, shape_eval};
