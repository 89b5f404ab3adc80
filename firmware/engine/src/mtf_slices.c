/*
 * What the data-movement operators share; see mtf_slices.h.
 */
#include "mtf_slices.h"

#include "mtf_arena.h"

int mtf_elem_size(int dtype, uint32_t allowed)
{
    if (dtype < 0 || dtype > 30 || (allowed & MTF_DT(dtype)) == 0)
        return 0;
    return mtf_dtype_size(dtype);
}

mtf_status_t mtf_move_io(mtf_model_t *m, mtf_node_t *node, int min_in, int max_in, uint32_t allowed,
                         const mtf_tensor_t **in, const mtf_tensor_t **out, int *size)
{
    int n = mtf_node_num_inputs(node);
    MTF_ENSURE(m, n >= min_in && n <= max_in && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "wrong input or output count");
    const mtf_tensor_t *i0 = mtf_node_input(m, node, 0);
    const mtf_tensor_t *o0 = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, i0 != NULL && o0 != NULL, MTF_ERR_BAD_MODEL, "missing input or output");
    MTF_ENSURE(m, i0->dtype == o0->dtype, (allowed & MTF_DT_MISMATCH_BAD_MODEL) ? MTF_ERR_BAD_MODEL
                                                                                 : MTF_ERR_UNSUPPORTED_TYPE,
               "output type differs from input");
    *size = mtf_elem_size(i0->dtype, allowed);
    MTF_ENSURE(m, *size > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type");
    *in = i0;
    *out = o0;
    return MTF_OK;
}

mtf_status_t mtf_move_ints(mtf_model_t *m, const mtf_tensor_t *t, int n, int32_t *out)
{
    MTF_ENSURE(m, t != NULL, MTF_ERR_BAD_MODEL, "missing input");
    MTF_ENSURE(m, (t->flags & MTF_TENSOR_CONST) != 0 && t->dtype == MTF_INT32, MTF_ERR_UNSUPPORTED_TYPE,
               "needs a constant int32 input");
    int32_t have = t->bytes / 4;
    if (n < 0) {
        MTF_ENSURE(m, have >= 1, MTF_ERR_UNSUPPORTED_TYPE, "empty axis input");
        n = 1;
    }
    MTF_ENSURE(m, have == n, MTF_ERR_SHAPE, "wrong int32 input length");
    for (int i = 0; i < n; i++)
        out[i] = mtf_load_i32(t->data + 4 * i); /* model bytes: maybe unaligned */
    return MTF_OK;
}

mtf_status_t mtf_move_axis(mtf_model_t *m, int32_t *axis, int dims)
{
    int32_t a = *axis;
    if (a < 0)
        a += dims;
    MTF_ENSURE(m, a >= 0 && a < dims, MTF_ERR_SHAPE, "axis out of range");
    *axis = a;
    return MTF_OK;
}

mtf_status_t mtf_move_shape(mtf_model_t *m, const mtf_tensor_t *out, const int32_t *want, int n)
{
    MTF_ENSURE(m, out->ndims == n && memcmp(out->dims, want, sizeof(int32_t) * (size_t)n) == 0, MTF_ERR_SHAPE,
               "output dims disagree");
    return MTF_OK;
}

mtf_status_t mtf_slices_prepare(mtf_model_t *m, mtf_node_t *node, int whole_index, int32_t *axis_io,
                                uint32_t allowed, int flags)
{
    int split = whole_index >= 0;
    int n = split ? mtf_node_num_outputs(node) : mtf_node_num_inputs(node);
    const mtf_tensor_t *w = split ? mtf_node_input(m, node, whole_index) : mtf_node_output(m, node, 0);
    MTF_ENSURE(m, w != NULL, MTF_ERR_BAD_MODEL, "missing tensor");
    int size = mtf_elem_size(w->dtype, allowed);
    MTF_ENSURE(m, size > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type");
    int dims = w->ndims;
    MTF_TRY(mtf_move_axis(m, axis_io, dims));
    int32_t axis = *axis_io;
    mtf_slices_t *d = mtf_alloc_persistent(m, sizeof *d + (size_t)n * sizeof d->chunk[0]);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    d->parts = n;
    d->whole = split ? whole_index : -1;

    int stacked = flags & MTF_PARTS_STACKED;
    int64_t along = 0;
    for (int i = 0; i < n; i++) {
        const mtf_tensor_t *p = split ? mtf_node_output(m, node, i) : mtf_node_input(m, node, i);
        MTF_ENSURE(m, p != NULL, MTF_ERR_BAD_MODEL, "missing part");
        MTF_ENSURE(m, p->dtype == w->dtype, MTF_ERR_UNSUPPORTED_TYPE, "part type differs");
        /* Exact float comparison, as TFLite Micro's (it compares the floats widened to double). */
        if ((flags & MTF_PARTS_SAME_Q8) && p->dtype == MTF_INT8)
            MTF_ENSURE(m, p->scale == w->scale && p->zero_point == w->zero_point, MTF_ERR_UNSUPPORTED_TYPE,
                       "int8 parts quantized differently");
        /* A stacked part (PACK) is one slice of the axis and lacks it: its later dims shift down.
         * One failure site for every shape mismatch of a part. */
        int ok = p->ndims + stacked == dims;
        int32_t len = stacked ? 1 : p->dims[axis];
        for (int k = 0; k < dims && ok; k++)
            ok = k == axis || p->dims[k - (stacked && k > axis)] == w->dims[k];
        ok &= !(flags & MTF_PARTS_EQUAL) || (int64_t)len * n == w->dims[axis];
        MTF_ENSURE(m, ok, MTF_ERR_SHAPE, "part shapes disagree");
        d->chunk[i] = len;
        along += len;
    }
    MTF_ENSURE(m, along == w->dims[axis], MTF_ERR_SHAPE, "parts do not add up");
    /* Unsigned: a 0 dim may follow huge ones (the loader's size check cannot see that); the
     * product then wraps but ends at 0, and without a 0 it is at most the whole's bytes.
     * Every part being no larger than the whole, no chunk overflows either. */
    uint32_t outer = 1, inner = (uint32_t)size;
    for (int k = 0; k < dims; k++) {
        if (k < axis)
            outer *= (uint32_t)w->dims[k];
        else if (k > axis)
            inner *= (uint32_t)w->dims[k];
    }
    /* A whole of 0 bytes moves nothing: no empty steps (there may be 2^30 of them). */
    d->outer = w->bytes > 0 ? (int32_t)outer : 0;
    for (int i = 0; i < n; i++)
        d->chunk[i] = (int32_t)((uint32_t)d->chunk[i] * inner);
    return MTF_OK;
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

void mtf_box_finish(mtf_box_t *b)
{
    int32_t runs = b->run > 0; /* empty runs copy nothing (there may be 2^30 of them) */
    for (int a = 0; a < MTF_BOX_AXES; a++)
        runs *= b->count[a];
    /* Inner axes whose places follow one another (step == run) join the run, so each
     * remaining run is one longer memcpy. */
    for (int a = MTF_BOX_AXES - 1; a >= 0 && runs > 0; a--) {
        int32_t c = b->count[a];
        if (c == 1)
            continue;
        if (b->step[a] != b->run)
            break;
        b->run *= c;
        b->count[a] = 1;
        runs /= c;
    }
    b->runs = runs;
}

mtf_status_t mtf_box_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_box_t *b = mtf_node_data(node);
    const uint8_t *src = mtf_node_input(m, node, 0)->data;
    uint8_t *dst = mtf_node_output(m, node, 0)->data;
    size_t run = (size_t)b->run;
    int32_t idx[MTF_BOX_AXES] = {0};
    int32_t off = b->start;
    for (int32_t r = b->runs; r > 0; r--) {
        if (b->gather) {
            memcpy(dst, src + off, run);
            dst += run;
        } else {
            memcpy(dst + off, src, run);
            src += run;
        }
        /* Odometer step; off only ever moves between taken places, so it cannot overflow. */
        for (int a = MTF_BOX_AXES - 1; a >= 0; a--) {
            if (++idx[a] < b->count[a]) {
                off += b->step[a];
                break;
            }
            off -= b->step[a] * (b->count[a] - 1);
            idx[a] = 0;
        }
    }
    return MTF_OK;
}
