/*
 * SQUEEZE: drop dims of size 1; the bytes are copied unchanged.
 *
 * Options (SqueezeOptions): squeeze_dims = 0 (empty or absent: every dim of
 * size 1). TFLite Micro takes at most 8 squeeze dims and requires each named
 * dim to have size 1.
 */
#include "mtf_slices.h"

#define SQUEEZE_MAX_DIMS 8

/* Element types TFLite Micro squeezes. */
#define SQUEEZE_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_BOOL) | MTF_DT(MTF_INT16) | \
     MTF_DT(MTF_FLOAT16) | MTF_DT(MTF_INT32) | MTF_DT(MTF_FLOAT32) | MTF_DT(MTF_INT64) | \
     MTF_DT(MTF_FLOAT64))

static mtf_status_t squeeze_prepare(mtf_model_t *m, mtf_node_t *node)
{
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 1 && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "needs 1 input and 1 output");
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    const mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, in != NULL && out != NULL, MTF_ERR_BAD_MODEL, "missing input or output");
    MTF_ENSURE(m, in->dtype == out->dtype, MTF_ERR_UNSUPPORTED_TYPE, "output type differs from input");
    MTF_ENSURE(m, mtf_elem_size(in->dtype, SQUEEZE_TYPES) > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d",
               in->dtype);

    int dims = in->ndims;
    int32_t list[SQUEEZE_MAX_DIMS];
    int count = mtf_opt_i32_vec(node, 0, list, SQUEEZE_MAX_DIMS);
    MTF_ENSURE(m, count <= SQUEEZE_MAX_DIMS, MTF_ERR_UNSUPPORTED_TYPE, "%d squeeze dims (at most %d)", count,
               SQUEEZE_MAX_DIMS);
    uint8_t drop[MTF_MAX_DIMS] = {0};
    if (count <= 0) {
        for (int k = 0; k < dims; k++)
            drop[k] = in->dims[k] == 1;
    } else {
        for (int i = 0; i < count; i++) {
            int32_t k = list[i] < 0 ? list[i] + dims : list[i];
            MTF_ENSURE(m, k >= 0 && k < dims && in->dims[k] == 1, MTF_ERR_SHAPE, "cannot squeeze dim %d", list[i]);
            drop[k] = 1;
        }
    }
    int kept = 0;
    for (int k = 0; k < dims; k++) {
        if (drop[k])
            continue;
        MTF_ENSURE(m, kept < out->ndims && out->dims[kept] == in->dims[k], MTF_ERR_SHAPE,
                   "output dim %d should be %d", kept, in->dims[k]);
        kept++;
    }
    MTF_ENSURE(m, kept == out->ndims, MTF_ERR_SHAPE, "output has %d dims, squeeze gives %d", out->ndims, kept);
    MTF_ENSURE(m, in->bytes == out->bytes, MTF_ERR_SHAPE, "input and output sizes differ");
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_squeeze = {squeeze_prepare, mtf_copy_through_eval};
