/*
 * Shared slab copy of the movement operators; see mtf_slices.h.
 */
#include "mtf_slices.h"

#include "mtf_arena.h"

int mtf_elem_size(int dtype, uint32_t allowed)
{
    if (dtype < 0 || dtype > 31 || (allowed & MTF_DT(dtype)) == 0)
        return 0;
    return mtf_dtype_size(dtype);
}

mtf_slices_t *mtf_slices_alloc(mtf_model_t *m, mtf_node_t *node, int n)
{
    mtf_slices_t *s = mtf_alloc_persistent(m, sizeof *s + (size_t)n * sizeof s->chunk[0]);
    if (s != NULL) {
        s->parts = n;
        mtf_node_set_data(node, s);
    }
    return s;
}

mtf_status_t mtf_slices_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_slices_t *s = mtf_node_data(node);
    int split = s->whole >= 0;
    /* The whole tensor is walked once, front to back; part i advances by chunk[i] per step. */
    uint8_t *whole = split ? mtf_node_input(m, node, s->whole)->data : mtf_node_output(m, node, 0)->data;
    for (int32_t k = 0; k < s->outer; k++) {
        for (int i = 0; i < s->parts; i++) {
            size_t chunk = (size_t)s->chunk[i];
            uint8_t *part = (split ? mtf_node_output(m, node, i) : mtf_node_input(m, node, i))->data;
            part += (size_t)k * chunk;
            if (split)
                memcpy(part, whole, chunk);
            else
                memcpy(whole, part, chunk);
            whole += chunk;
        }
    }
    return MTF_OK;
}

mtf_status_t mtf_copy_through_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    if (out->data != in->data)
        memcpy(out->data, in->data, (size_t)in->bytes);
    return MTF_OK;
}

/* Element types TFLite Micro splits. */
#define SPLIT_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_INT16) | MTF_DT(MTF_INT32) | MTF_DT(MTF_FLOAT32))

mtf_status_t mtf_split_check(mtf_model_t *m, mtf_node_t *node, int inputs, int data_index, int axis_index,
                             const mtf_tensor_t **in_out, int *size, int32_t *axis)
{
    int n = mtf_node_num_outputs(node);
    MTF_ENSURE(m, mtf_node_num_inputs(node) == inputs && n >= 1, MTF_ERR_BAD_MODEL, "needs %d inputs and outputs",
               inputs);
    const mtf_tensor_t *in = mtf_node_input(m, node, data_index);
    const mtf_tensor_t *axis_t = mtf_node_input(m, node, axis_index);
    MTF_ENSURE(m, axis_t != NULL && in != NULL, MTF_ERR_BAD_MODEL, "missing input");
    MTF_ENSURE(m, (axis_t->flags & MTF_TENSOR_CONST) != 0, MTF_ERR_UNSUPPORTED_TYPE, "non-constant axis tensor");
    MTF_ENSURE(m, axis_t->dtype == MTF_INT32 && axis_t->bytes >= 4, MTF_ERR_UNSUPPORTED_TYPE,
               "axis tensor must be int32");
    int32_t num_splits = mtf_opt_i32(node, 0, n);
    MTF_ENSURE(m, num_splits == n, MTF_ERR_BAD_MODEL, "num_splits %d but %d outputs", num_splits, n);
    *size = mtf_elem_size(in->dtype, SPLIT_TYPES);
    MTF_ENSURE(m, *size > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d", in->dtype);
    int dims = in->ndims;
    int32_t a = mtf_load_i32(axis_t->data); /* model bytes: maybe unaligned */
    if (a < 0)
        a += dims;
    MTF_ENSURE(m, a >= 0 && a < dims, MTF_ERR_SHAPE, "axis out of range for %d dims", dims);
    *axis = a;
    *in_out = in;
    return MTF_OK;
}

mtf_status_t mtf_split_setup(mtf_model_t *m, mtf_node_t *node, const mtf_tensor_t *in, int whole_index, int32_t axis,
                             int size)
{
    int n = mtf_node_num_outputs(node);
    mtf_slices_t *d = mtf_slices_alloc(m, node, n);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    int32_t inner = size;
    for (int k = axis + 1; k < in->ndims; k++)
        inner *= in->dims[k];
    d->outer = 1;
    for (int k = 0; k < axis; k++)
        d->outer *= in->dims[k];
    for (int i = 0; i < n; i++)
        d->chunk[i] = mtf_node_output(m, node, i)->dims[axis] * inner;
    d->whole = whole_index;
    return MTF_OK;
}
