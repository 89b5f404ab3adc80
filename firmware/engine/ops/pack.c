/*
 * PACK: stack values_count tensors of one shape along a new axis.
 *
 * Options (PackOptions): values_count = 0, axis = 1 (negative counts from
 * the end of the output's dims, as in TFLite Micro).
 */
#include "mtf_kernel.h"

typedef struct {
    int32_t outer;  /* product of the output dims before the axis */
    int32_t chunk;  /* bytes of one input per outer step */
    int32_t values;
} pack_data_t;

static int pack_elem_size(int dtype)
{
    switch (dtype) {
    case MTF_INT8:
    case MTF_UINT8:
        return 1;
    case MTF_INT16:
        return 2;
    case MTF_INT32:
    case MTF_FLOAT32:
        return 4;
    case MTF_INT64:
        return 8;
    default:
        return 0;
    }
}

static mtf_status_t pack_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n = mtf_node_num_inputs(node);
    int32_t values = mtf_opt_i32(node, 0, 0);
    MTF_ENSURE(m, n >= 1 && values == n, MTF_ERR_BAD_MODEL, "values_count %d but %d inputs", values, n);
    MTF_ENSURE(m, mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL, "needs 1 output");
    const mtf_tensor_t *out = mtf_node_output(m, node, 0);
    const mtf_tensor_t *in0 = mtf_node_input(m, node, 0);
    MTF_ENSURE(m, out != NULL && in0 != NULL, MTF_ERR_BAD_MODEL, "missing input or output");
    int size = pack_elem_size(out->dtype);
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

    pack_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    d->outer = 1;
    for (int k = 0; k < axis; k++)
        d->outer *= out->dims[k];
    d->chunk = size;
    for (int k = axis + 1; k < dims; k++)
        d->chunk *= out->dims[k];
    d->values = n;
    mtf_node_set_data(node, d);
    return MTF_OK;
}

static mtf_status_t pack_eval(mtf_model_t *m, mtf_node_t *node)
{
    const pack_data_t *d = mtf_node_data(node);
    uint8_t *dst = mtf_node_output(m, node, 0)->data;
    size_t chunk = (size_t)d->chunk;
    /* Output slab k holds chunk k of input 0, then chunk k of input 1, ... */
    for (int i = 0; i < d->values; i++) {
        const uint8_t *src = mtf_node_input(m, node, i)->data;
        for (int32_t k = 0; k < d->outer; k++)
            memcpy(dst + ((size_t)k * (size_t)d->values + (size_t)i) * chunk, src + (size_t)k * chunk, chunk);
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_pack = {pack_prepare, pack_eval};
