/*
 * PACK: stack values_count tensors of one shape along a new axis.
 *
 * Options (PackOptions): values_count = 0, axis = 1 (negative counts from
 * the end of the output's dims, as in TFLite Micro).
 */
#include "mtf_slices.h"

/* Element types TFLite Micro packs. */
#define PACK_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_INT16) | \
     MTF_DT(MTF_INT32) | MTF_DT(MTF_FLOAT32) | MTF_DT(MTF_INT64))

static mtf_status_t pack_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n = mtf_node_num_inputs(node);
    int32_t values = mtf_opt_i32(node, 0, 0);
    MTF_ENSURE(m, n >= 1 && values == n, MTF_ERR_BAD_MODEL, "values_count %d but %d inputs", values, n);
    MTF_ENSURE(m, mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL, "needs 1 output");
    const mtf_tensor_t *out = mtf_node_output(m, node, 0);
    const mtf_tensor_t *in0 = mtf_node_input(m, node, 0);
    MTF_ENSURE(m, out != NULL && in0 != NULL, MTF_ERR_BAD_MODEL, "missing input or output");
    int size = mtf_elem_size(out->dtype, PACK_TYPES);
    MTF_ENSURE(m, size > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d", out->dtype);

    int dims = out->ndims;
    MTF_ENSURE(m, dims == in0->ndims + 1, MTF_ERR_SHAPE, "output needs one dim more than the inputs");
    int32_t axis = mtf_opt_i32(node, 1, 0);
    if (axis < 0)
        axis += dims;
    MTF_ENSURE(m, axis >= 0 && axis < dims, MTF_ERR_SHAPE, "axis out of range for %d dims", dims);
    for (int k = 0; k < dims; k++) {
        int32_t want = k < axis ? in0->dims[k] : (k == axis ? n : in0->dims[k - 1]);
        MTF_ENSURE(m, out->dims[k] == want, MTF_ERR_SHAPE, "output dim %d should be %d", k, want);
    }
    MTF_ENSURE(m, (int64_t)mtf_elements(out) * size == out->bytes, MTF_ERR_SHAPE, "output size mismatch");
    for (int i = 0; i < n; i++) {
        const mtf_tensor_t *in = mtf_node_input(m, node, i);
        MTF_ENSURE(m, in != NULL, MTF_ERR_BAD_MODEL, "missing input %d", i);
        MTF_ENSURE(m, in->dtype == out->dtype, MTF_ERR_UNSUPPORTED_TYPE, "input %d type differs", i);
        MTF_ENSURE(m, in->ndims == in0->ndims, MTF_ERR_SHAPE, "input %d rank differs", i);
        for (int k = 0; k < in->ndims; k++)
            MTF_ENSURE(m, in->dims[k] == in0->dims[k], MTF_ERR_SHAPE, "input %d dim %d differs", i, k);
        MTF_ENSURE(m, in->bytes == out->bytes / n, MTF_ERR_SHAPE, "input %d size mismatch", i);
    }

    mtf_slices_t *d = mtf_slices_alloc(m, node, n);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    d->outer = 1;
    for (int k = 0; k < axis; k++)
        d->outer *= out->dims[k];
    /* Output slab k holds chunk k of input 0, then chunk k of input 1, ...: a concatenation. */
    int32_t chunk = size;
    for (int k = axis + 1; k < dims; k++)
        chunk *= out->dims[k];
    for (int i = 0; i < n; i++)
        d->chunk[i] = chunk;
    d->whole = -1;
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_pack = {pack_prepare, mtf_slices_eval};
