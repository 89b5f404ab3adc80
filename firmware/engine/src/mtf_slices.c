/*
 * What the data-movement operators share; see mtf_slices.h.
 */
#include "mtf_slices.h"

#include "mtf_arena.h"

void *mtf_move_alloc(mtf_model_t *m, mtf_node_t *node, size_t bytes)
{
    void *d = mtf_alloc_persistent(m, bytes);
    mtf_node_set_data(node, d); /* NULL is harmless: init fails */
    return d;
}

int mtf_elem_size(int dtype, uint32_t allowed)
{
    /* & 31 keeps the shift defined; a dtype past 31 that aliases an allowed bit has size 0. */
    return (allowed >> (dtype & 31) & 1) ? mtf_dtype_size(dtype) : 0;
}

mtf_status_t mtf_move_io(mtf_model_t *m, mtf_node_t *node, uint32_t spec, mtf_move_io_t *io)
{
    int n = mtf_node_num_inputs(node);
    MTF_ENSURE(m, n >= (int)(spec >> 20 & 15) && n <= (int)(spec >> 24 & 15) && mtf_node_num_outputs(node) == 1,
               MTF_ERR_BAD_MODEL, "wrong or missing inputs or outputs");
    const mtf_tensor_t *i0 = mtf_node_input(m, node, 0);
    const mtf_tensor_t *o0 = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, i0 != NULL && o0 != NULL, MTF_ERR_BAD_MODEL, "wrong or missing inputs or outputs");
    MTF_ENSURE(m, i0->dtype == o0->dtype, (spec & MTF_DT_MISMATCH_BAD_MODEL) ? MTF_ERR_BAD_MODEL
                                                                                 : MTF_ERR_UNSUPPORTED_TYPE,
               "output type differs from input");
    io->size = mtf_elem_size(i0->dtype, spec & 0xfffff);
    MTF_ENSURE(m, io->size > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type");
    io->in = i0;
    io->out = o0;
    return MTF_OK;
}

mtf_status_t mtf_move_ints(mtf_model_t *m, const mtf_tensor_t *t, int n, int32_t *out)
{
    MTF_ENSURE(m, t != NULL, MTF_ERR_BAD_MODEL, "missing input");
    int32_t have = (int32_t)((uint32_t)t->bytes / 4); /* bytes >= 0 */
    MTF_ENSURE(m, (t->flags & MTF_TENSOR_CONST) != 0 && t->dtype == MTF_INT32 && (n >= 0 || have >= 1),
               MTF_ERR_UNSUPPORTED_TYPE, "needs a constant int32 input (for an axis, not empty)");
    if (n < 0)
        n = 1;
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

mtf_status_t mtf_move_dims(mtf_model_t *m, const mtf_tensor_t *out, const mtf_tensor_t *in, uint32_t how)
{
    int32_t want[MTF_MAX_DIMS + 1];
    int n = 0;
    for (int k = 0; k <= in->ndims; k++) {
        if (how >> (16 + k) & 1)
            want[n++] = 1;
        if (k < in->ndims && !(how >> k & 1)) {
            /* Without inserts (never combined with ANY) n <= k < MTF_MAX_DIMS here, so
             * out->dims[n] is inside the array (past out->ndims, the dim counts differ). */
            int32_t v = (how >> (24 + k) & 1) ? out->dims[n] : in->dims[k];
            want[n++] = (how >> (8 + k) & 1) ? 1 : v;
        }
    }
    return mtf_move_shape(m, out, want, n);
}

/* One message for the type checks of the four (one failure site). */
#define SLICES_BAD_TYPE "unsupported or differing types, or int8 parts quantized differently"

mtf_status_t mtf_slices_prepare(mtf_model_t *m, mtf_node_t *node, int how, uint32_t allowed)
{
    int whole_index = (how >> 4 & 15) - 1;
    int split = whole_index >= 0;
    int n_in = mtf_node_num_inputs(node), n_out = mtf_node_num_outputs(node);
    int n = split ? n_out : n_in;
    /* Splitting: num_splits (option 0) outputs; joining: one output, and stacking (PACK)
     * values_count (option 0) inputs. */
    MTF_ENSURE(m,
               n >= 1 && (split ? n_in == how >> 12 && n == mtf_opt_i32(node, 0, n)
                                : n_out == 1 && (!(how & MTF_PARTS_STACKED) || mtf_opt_i32(node, 0, 0) == n)),
               MTF_ERR_BAD_MODEL, "input or output count wrong, or not values_count or num_splits");
    int32_t axis;
    if (split)
        MTF_TRY(mtf_move_ints(m, mtf_node_input(m, node, how >> 8 & 15), -1, &axis));
    else
        axis = mtf_opt_i32(node, how >> 8 & 15, 0);
    /* Splitting, the parts are outputs and the whole an input; joining, the other way round. */
    mtf_tensor_t *(*part_at)(mtf_model_t *, const mtf_node_t *, int) = split ? mtf_node_output : mtf_node_input;
    const mtf_tensor_t *w = (split ? mtf_node_input : mtf_node_output)(m, node, split ? whole_index : 0);
    MTF_ENSURE(m, w != NULL, MTF_ERR_BAD_MODEL, "missing tensor");
    int size = mtf_elem_size(w->dtype, allowed);
    MTF_ENSURE(m, size > 0, MTF_ERR_UNSUPPORTED_TYPE, SLICES_BAD_TYPE);
    int dims = w->ndims;
    MTF_TRY(mtf_move_axis(m, &axis, dims));
    mtf_slices_t *d = mtf_move_alloc(m, node, sizeof *d + (size_t)n * sizeof d->chunk[0]);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    d->parts = n;
    d->whole = (int16_t)whole_index;
    d->axis = (int16_t)axis;

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

    int stacked = how & MTF_PARTS_STACKED;
    int64_t along = 0;
    int32_t first = 0, unequal = 0;
    for (int i = 0; i < n; i++) {
        const mtf_tensor_t *p = part_at(m, node, i);
        MTF_ENSURE(m, p != NULL, MTF_ERR_BAD_MODEL, "missing tensor");
        /* Exact float comparison, as TFLite Micro's (it compares the floats widened to double). */
        MTF_ENSURE(m,
                   p->dtype == w->dtype && !((how & MTF_PARTS_SAME_Q8) && p->dtype == MTF_INT8 &&
                                             (p->scale != w->scale || p->zero_point != w->zero_point)),
                   MTF_ERR_UNSUPPORTED_TYPE, SLICES_BAD_TYPE);
        /* A part has the whole's dims but along the axis; a stacked one (PACK) is one slice
         * of the axis and lacks it. */
        MTF_TRY(mtf_move_dims(m, p, w, stacked ? MTF_DIMS_DROP(1u << axis) : MTF_DIMS_ANY(1u << axis)));
        int32_t len = stacked ? 1 : p->dims[axis];
        if (i == 0)
            first = len;
        unequal |= len != first;
        d->chunk[i] = (int32_t)((uint32_t)len * inner);
        along += len;
    }
    /* Equal parts (SPLIT) that add up are each the whole's share. */
    MTF_ENSURE(m, along == w->dims[axis] && !((how & MTF_PARTS_EQUAL) && unequal), MTF_ERR_SHAPE,
               "parts do not add up");
    return MTF_OK;
}

mtf_status_t mtf_slices_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_slices_t *s = mtf_node_data(node);
    int split = s->whole >= 0;
    /* The whole tensor is walked once, front to back; part i advances by chunk[i] per step. */
    mtf_tensor_t *(*part_at)(mtf_model_t *, const mtf_node_t *, int) = split ? mtf_node_output : mtf_node_input;
    uint8_t *whole = (split ? mtf_node_input : mtf_node_output)(m, node, split ? s->whole : 0)->data;
    for (int32_t k = 0; k < s->outer; k++) {
        for (int i = 0; i < s->parts; i++) {
            size_t chunk = (size_t)s->chunk[i];
            uint8_t *part = part_at(m, node, i)->data;
            part += (size_t)k * chunk;
            memcpy(split ? part : whole, split ? whole : part, chunk);
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
