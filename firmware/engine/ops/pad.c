/*
 * pad.c - PAD (and the 3-input PADV2 form): copies the input into the middle
 * of a larger output and fills the border with one value, as TFLite Micro's
 * reference Pad does. int8 pads with the output zero point (the real 0.0),
 * int32 and float32 with 0, unless a constant_values scalar is given.
 *
 * The paddings tensor is a constant int32 [rank, 2] read at prepare (it may
 * sit unaligned in the model). Eval walks the output one innermost row at a
 * time: a row outside the input along any outer axis is all padding,
 * otherwise it is left padding, one memcpy of the input row, right padding.
 */
#include "mtf_kernel.h"

/* TFLite Micro's reference Pad handles up to 5 dimensions. */
#define PAD_MAX_DIMS 5

typedef struct {
    int32_t ndims;
    int32_t before[PAD_MAX_DIMS];
    int32_t elem_size;
    int32_t zero_point; /* int8 pad value without constant_values */
} pad_data_t;

static mtf_status_t pad_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n_in = mtf_node_num_inputs(node);
    MTF_ENSURE(m, (n_in == 2 || n_in == 3) && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "expects 2 or 3 inputs and 1 output");
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    const mtf_tensor_t *paddings = mtf_node_input(m, node, 1);
    const mtf_tensor_t *value = n_in == 3 ? mtf_node_input(m, node, 2) : NULL;
    const mtf_tensor_t *output = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, input != NULL && paddings != NULL && output != NULL, MTF_ERR_BAD_MODEL, "missing tensor");
    MTF_ENSURE(m, input->dtype == output->dtype, MTF_ERR_BAD_MODEL, "input and output types differ");
    int32_t elem_size;
    switch (input->dtype) {
    case MTF_INT8:
        elem_size = 1;
        break;
    case MTF_INT32:
    case MTF_FLOAT32:
        elem_size = 4;
        break;
    default:
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d (int8, int32 and float32 only)",
                        input->dtype);
    }
    MTF_ENSURE(m, input->ndims >= 1 && input->ndims <= PAD_MAX_DIMS && output->ndims == input->ndims, MTF_ERR_SHAPE,
               "input rank %d must be 1 to %d and equal the output rank %d", input->ndims, PAD_MAX_DIMS,
               output->ndims);
    MTF_ENSURE(m, paddings->dtype == MTF_INT32, MTF_ERR_UNSUPPORTED_TYPE, "paddings must be int32");
    MTF_ENSURE(m, paddings->flags & MTF_TENSOR_CONST, MTF_ERR_UNSUPPORTED_TYPE, "non-constant paddings");
    MTF_ENSURE(m, mtf_elements(paddings) == 2 * output->ndims, MTF_ERR_SHAPE, "paddings must be [%d, 2]",
               output->ndims);
    if (value != NULL) {
        MTF_ENSURE(m, value->dtype == input->dtype, MTF_ERR_BAD_MODEL, "constant_values type differs from input");
        MTF_ENSURE(m, mtf_elements(value) == 1, MTF_ERR_SHAPE, "constant_values must be a scalar");
        if (input->dtype == MTF_INT8) {
            MTF_ENSURE(m, value->zero_point == output->zero_point && (double)value->scale == (double)output->scale,
                       MTF_ERR_UNSUPPORTED_TYPE, "constant_values quantization differs from the output");
        }
    } else if (input->dtype == MTF_INT8) {
        MTF_ENSURE(m, output->zero_point >= -128 && output->zero_point <= 127, MTF_ERR_BAD_MODEL,
                   "output zero point %d outside int8", output->zero_point);
    }

    pad_data_t *d = (pad_data_t *)mtf_alloc_persistent(m, sizeof(pad_data_t));
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    d->ndims = input->ndims;
    d->elem_size = elem_size;
    d->zero_point = output->zero_point;
    for (int i = 0; i < input->ndims; i++) {
        int32_t lo = mtf_load_i32(paddings->data + 8 * (size_t)i);
        int32_t hi = mtf_load_i32(paddings->data + 8 * (size_t)i + 4);
        MTF_ENSURE(m, lo >= 0 && hi >= 0, MTF_ERR_UNSUPPORTED_TYPE, "negative padding on axis %d", i);
        /* In 64 bits: hostile paddings near INT32_MAX must not overflow the check. */
        const int64_t want = (int64_t)input->dims[i] + lo + hi;
        MTF_ENSURE(m, (int64_t)output->dims[i] == want, MTF_ERR_SHAPE,
                   "output axis %d is %d, not input %d plus paddings %d and %d", i, output->dims[i],
                   input->dims[i], lo, hi);
        d->before[i] = lo;
    }
    mtf_node_set_data(node, d);
    return MTF_OK;
}

/* Write count copies of the elem_size-byte pattern fill. */
static void fill(uint8_t *dst, const uint8_t *fill_value, int32_t elem_size, int32_t count)
{
    if (elem_size == 1) {
        memset(dst, fill_value[0], (size_t)count);
        return;
    }
    for (int32_t i = 0; i < count; i++, dst += elem_size)
        memcpy(dst, fill_value, (size_t)elem_size);
}

static mtf_status_t pad_eval(mtf_model_t *m, mtf_node_t *node)
{
    const pad_data_t *d = (const pad_data_t *)mtf_node_data(node);
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    const mtf_tensor_t *value = mtf_node_num_inputs(node) == 3 ? mtf_node_input(m, node, 2) : NULL;
    mtf_tensor_t *output = mtf_node_output(m, node, 0);
    const int32_t nd = d->ndims, es = d->elem_size;

    uint8_t pad_value[4] = { 0, 0, 0, 0 };
    if (value != NULL)
        memcpy(pad_value, value->data, (size_t)es);
    else if (input->dtype == MTF_INT8)
        pad_value[0] = (uint8_t)(int8_t)d->zero_point;

    /* Innermost axis: one row of the output. */
    const int32_t out_row = output->dims[nd - 1] * es;
    const int32_t in_row = input->dims[nd - 1] * es;
    const int32_t left = d->before[nd - 1];
    const int32_t right = output->dims[nd - 1] - input->dims[nd - 1] - left;
    int32_t rows = 1;
    for (int32_t i = 0; i < nd - 1; i++)
        rows *= output->dims[i];

    int32_t idx[PAD_MAX_DIMS] = { 0 }; /* output index along the outer axes */
    const uint8_t *src = input->data;
    uint8_t *dst = output->data;
    for (int32_t r = 0; r < rows; r++, dst += out_row) {
        int inside = 1;
        for (int32_t i = 0; i < nd - 1; i++) {
            int32_t k = idx[i] - d->before[i];
            if (k < 0 || k >= input->dims[i])
                inside = 0;
        }
        if (inside) {
            /* Input rows are met in order, so the source just advances. */
            fill(dst, pad_value, es, left);
            memcpy(dst + left * es, src, (size_t)in_row);
            fill(dst + left * es + in_row, pad_value, es, right);
            src += in_row;
        } else {
            fill(dst, pad_value, es, output->dims[nd - 1]);
        }
        for (int32_t i = nd - 2; i >= 0; i--) {
            if (++idx[i] < output->dims[i])
                break;
            idx[i] = 0;
        }
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_pad = { pad_prepare, pad_eval };
