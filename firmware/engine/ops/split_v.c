/*
 * SPLIT_V: cut a tensor into parts of given sizes along one axis.
 *
 * Inputs: data, size_splits (int32 vector, one entry may be -1), axis
 * (constant int32, TFLite Micro refuses a computed one).
 * Options (SplitVOptions): num_splits = 0.
 * Like TFLite Micro, the parts are shaped from the output tensors; prepare
 * checks that they tile the input and agree with a constant size_splits.
 */
#include "mtf_kernel.h"

typedef struct {
    int32_t outer;   /* product of the dims before the axis */
    int32_t outputs;
    int32_t chunk[]; /* bytes output i takes per outer step */
} split_v_data_t;

static int split_v_elem_size(int dtype)
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

/* A constant size_splits must match the outputs, with at most one -1 standing for the rest. */
static mtf_status_t split_v_check_sizes(mtf_model_t *m, const mtf_tensor_t *sizes, int n, int axis,
                                        mtf_node_t *node)
{
    if (sizes == NULL || (sizes->flags & MTF_TENSOR_CONST) == 0)
        return MTF_OK; /* TFLite Micro never reads it: the output shapes decide */
    MTF_ENSURE(m, sizes->dtype == MTF_INT32, MTF_ERR_UNSUPPORTED_TYPE, "size_splits must be int32");
    MTF_ENSURE(m, sizes->ndims == 1 && sizes->dims[0] == n && sizes->bytes >= 4 * n, MTF_ERR_SHAPE,
               "size_splits must hold %d values", n);
    int unknown = 0;
    for (int i = 0; i < n; i++) {
        int32_t v = mtf_load_i32(sizes->data + 4 * i); /* model bytes: maybe unaligned */
        if (v == -1) {
            unknown++;
            continue;
        }
        MTF_ENSURE(m, v == mtf_node_output(m, node, i)->dims[axis], MTF_ERR_SHAPE,
                   "size_splits[%d] = %d disagrees with output", i, v);
    }
    MTF_ENSURE(m, unknown <= 1, MTF_ERR_BAD_MODEL, "size_splits has %d entries of -1", unknown);
    return MTF_OK;
}

static mtf_status_t split_v_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n = mtf_node_num_outputs(node);
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 3 && n >= 1, MTF_ERR_BAD_MODEL, "needs 3 inputs and outputs");
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    const mtf_tensor_t *axis_t = mtf_node_input(m, node, 2);
    MTF_ENSURE(m, axis_t != NULL && in != NULL, MTF_ERR_BAD_MODEL, "missing input");
    MTF_ENSURE(m, (axis_t->flags & MTF_TENSOR_CONST) != 0, MTF_ERR_UNSUPPORTED_TYPE, "non-constant axis tensor");
    MTF_ENSURE(m, axis_t->dtype == MTF_INT32 && axis_t->bytes >= 4, MTF_ERR_UNSUPPORTED_TYPE,
               "axis tensor must be int32");
    int32_t num_splits = mtf_opt_i32(node, 0, n);
    MTF_ENSURE(m, num_splits == n, MTF_ERR_BAD_MODEL, "num_splits %d but %d outputs", num_splits, n);
    int size = split_v_elem_size(in->dtype);
    MTF_ENSURE(m, size > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d", in->dtype);

    int dims = in->ndims;
    int32_t axis = mtf_load_i32(axis_t->data); /* model bytes: maybe unaligned */
    if (axis < 0)
        axis += dims;
    MTF_ENSURE(m, axis >= 0 && axis < dims, MTF_ERR_SHAPE, "axis out of range for %d dims", dims);
    int64_t along = 0;
    for (int i = 0; i < n; i++) {
        const mtf_tensor_t *out = mtf_node_output(m, node, i);
        MTF_ENSURE(m, out != NULL, MTF_ERR_BAD_MODEL, "missing output %d", i);
        MTF_ENSURE(m, out->dtype == in->dtype, MTF_ERR_UNSUPPORTED_TYPE, "output %d type differs", i);
        MTF_ENSURE(m, out->ndims == dims, MTF_ERR_SHAPE, "output %d has %d dims, input %d", i, out->ndims, dims);
        for (int k = 0; k < dims; k++) {
            if (k != axis)
                MTF_ENSURE(m, out->dims[k] == in->dims[k], MTF_ERR_SHAPE, "output %d dim %d mismatch", i, k);
        }
        MTF_ENSURE(m, out->dims[axis] >= 0, MTF_ERR_SHAPE, "output %d has a negative dim", i);
        MTF_ENSURE(m, (int64_t)mtf_elements(out) * size == out->bytes, MTF_ERR_SHAPE, "output %d size", i);
        along += out->dims[axis];
    }
    MTF_ENSURE(m, along == in->dims[axis], MTF_ERR_SHAPE, "outputs do not add up to input dim %d", axis);
    MTF_ENSURE(m, (int64_t)mtf_elements(in) * size == in->bytes, MTF_ERR_SHAPE, "input size mismatch");
    MTF_TRY(split_v_check_sizes(m, mtf_node_input(m, node, 1), n, axis, node));

    split_v_data_t *d = mtf_alloc_persistent(m, sizeof *d + (size_t)n * sizeof d->chunk[0]);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    int32_t inner = size;
    for (int k = axis + 1; k < dims; k++)
        inner *= in->dims[k];
    d->outer = 1;
    for (int k = 0; k < axis; k++)
        d->outer *= in->dims[k];
    for (int i = 0; i < n; i++)
        d->chunk[i] = mtf_node_output(m, node, i)->dims[axis] * inner;
    d->outputs = n;
    mtf_node_set_data(node, d);
    return MTF_OK;
}

static mtf_status_t split_v_eval(mtf_model_t *m, mtf_node_t *node)
{
    const split_v_data_t *d = mtf_node_data(node);
    const uint8_t *src = mtf_node_input(m, node, 0)->data;
    /* The input is read once, front to back; each outer step deals a chunk to every output. */
    for (int32_t k = 0; k < d->outer; k++) {
        for (int i = 0; i < d->outputs; i++) {
            size_t chunk = (size_t)d->chunk[i];
            memcpy(mtf_node_output(m, node, i)->data + (size_t)k * chunk, src, chunk);
            src += chunk;
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_split_v = {split_v_prepare, split_v_eval};
