/*
 * SPLIT: cut a tensor into num_splits equal parts along one axis.
 *
 * Inputs: axis (constant int32, TFLite Micro refuses a computed one), data.
 * Options (SplitOptions): num_splits = 0.
 * Like TFLite Micro, the parts are shaped from the output tensors; prepare
 * checks that they really tile the input.
 */
#include "mtf_kernel.h"

typedef struct {
    int32_t outer;   /* product of the dims before the axis */
    int32_t chunk;   /* bytes each output takes per outer step */
    int32_t outputs;
} split_data_t;

static int split_elem_size(int dtype)
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
    default:
        return 0;
    }
}

static mtf_status_t split_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n = mtf_node_num_outputs(node);
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 2 && n >= 1, MTF_ERR_BAD_MODEL, "needs 2 inputs and outputs");
    const mtf_tensor_t *axis_t = mtf_node_input(m, node, 0);
    const mtf_tensor_t *in = mtf_node_input(m, node, 1);
    MTF_ENSURE(m, axis_t != NULL && in != NULL, MTF_ERR_BAD_MODEL, "missing input");
    MTF_ENSURE(m, (axis_t->flags & MTF_TENSOR_CONST) != 0, MTF_ERR_UNSUPPORTED_TYPE, "non-constant axis tensor");
    MTF_ENSURE(m, axis_t->dtype == MTF_INT32 && axis_t->bytes >= 4, MTF_ERR_UNSUPPORTED_TYPE,
               "axis tensor must be int32");
    int32_t num_splits = mtf_opt_i32(node, 0, n);
    MTF_ENSURE(m, num_splits == n, MTF_ERR_BAD_MODEL, "num_splits %d but %d outputs", num_splits, n);
    int size = split_elem_size(in->dtype);
    MTF_ENSURE(m, size > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d", in->dtype);

    int dims = in->ndims;
    int32_t axis = mtf_load_i32(axis_t->data); /* model bytes: maybe unaligned */
    if (axis < 0)
        axis += dims;
    MTF_ENSURE(m, axis >= 0 && axis < dims, MTF_ERR_SHAPE, "axis out of range for %d dims", dims);
    MTF_ENSURE(m, in->dims[axis] % n == 0, MTF_ERR_SHAPE, "axis size %d does not split in %d", in->dims[axis], n);
    for (int i = 0; i < n; i++) {
        const mtf_tensor_t *out = mtf_node_output(m, node, i);
        MTF_ENSURE(m, out != NULL, MTF_ERR_BAD_MODEL, "missing output %d", i);
        MTF_ENSURE(m, out->dtype == in->dtype, MTF_ERR_UNSUPPORTED_TYPE, "output %d type differs", i);
        MTF_ENSURE(m, out->ndims == dims, MTF_ERR_SHAPE, "output %d has %d dims, input %d", i, out->ndims, dims);
        for (int k = 0; k < dims; k++) {
            int32_t want = k == axis ? in->dims[k] / n : in->dims[k];
            MTF_ENSURE(m, out->dims[k] == want, MTF_ERR_SHAPE, "output %d dim %d should be %d", i, k, want);
        }
        MTF_ENSURE(m, (int64_t)mtf_elements(out) * size == out->bytes, MTF_ERR_SHAPE, "output %d size", i);
    }
    MTF_ENSURE(m, (int64_t)mtf_elements(in) * size == in->bytes, MTF_ERR_SHAPE, "input size mismatch");

    split_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    int32_t inner = size;
    for (int k = axis + 1; k < dims; k++)
        inner *= in->dims[k];
    d->outer = 1;
    for (int k = 0; k < axis; k++)
        d->outer *= in->dims[k];
    d->chunk = in->dims[axis] / n * inner;
    d->outputs = n;
    mtf_node_set_data(node, d);
    return MTF_OK;
}

static mtf_status_t split_eval(mtf_model_t *m, mtf_node_t *node)
{
    const split_data_t *d = mtf_node_data(node);
    const uint8_t *src = mtf_node_input(m, node, 1)->data;
    size_t chunk = (size_t)d->chunk;
    /* The input is read once, front to back; each outer step deals one chunk to every output. */
    for (int32_t k = 0; k < d->outer; k++) {
        for (int i = 0; i < d->outputs; i++) {
            memcpy(mtf_node_output(m, node, i)->data + (size_t)k * chunk, src, chunk);
            src += chunk;
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_split = {split_prepare, split_eval};
