/*
 * CONCATENATION: join up to 10 tensors along one axis.
 *
 * It copies raw values, int8 included: no requantization. TFLite Micro
 * (the build the tests pin) refuses an int8 input whose scale or zero point
 * differs from the output's, so we refuse it too; the converter gives int8
 * inputs the output's parameters (or inserts a requantizing QUANTIZE before
 * the concatenation). Other types are copied whatever their
 * quantization, as TFLite Micro does. uint8 (which TFLite, not TFLite Micro,
 * requantizes) is refused.
 *
 * Options (ConcatenationOptions): axis = 0, fused_activation_function = 1.
 */
#include "mtf_slices.h"
#include "mtf_quant.h"

/* TFLite Micro's limit on the number of inputs. */
#define CONCAT_MAX_INPUTS 10

/* Element types copied (uint8 is refused, see above). */
#define CONCAT_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_BOOL) | MTF_DT(MTF_INT16) | \
     MTF_DT(MTF_INT32) | MTF_DT(MTF_FLOAT32) | MTF_DT(MTF_INT64))

static mtf_status_t concat_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n = mtf_node_num_inputs(node);
    MTF_ENSURE(m, n >= 1 && n <= CONCAT_MAX_INPUTS, MTF_ERR_UNSUPPORTED_TYPE,
               "%d inputs (1 to %d supported)", n, CONCAT_MAX_INPUTS);
    MTF_ENSURE(m, mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL, "needs 1 output");
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, out != NULL, MTF_ERR_BAD_MODEL, "missing output");

    int act = mtf_opt_u8(node, 1, MTF_ACT_NONE);
    MTF_ENSURE(m, act == MTF_ACT_NONE, MTF_ERR_UNSUPPORTED_TYPE, "fused activation %d (only NONE)", act);
    int size = mtf_elem_size(out->dtype, CONCAT_TYPES);
    MTF_ENSURE(m, size > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d", out->dtype);

    int ndims = out->ndims;
    MTF_ENSURE(m, ndims >= 1, MTF_ERR_SHAPE, "output is a scalar");
    int32_t axis = mtf_opt_i32(node, 0, 0);
    if (axis < 0)
        axis += ndims;
    MTF_ENSURE(m, axis >= 0 && axis < ndims, MTF_ERR_SHAPE, "axis %d out of range for %d dims", axis, ndims);

    mtf_slices_t *d = mtf_slices_alloc(m, node, n);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;

    /* Every input must match the output except along the axis, whose sizes add up. */
    int32_t inner = 1;
    for (int k = axis + 1; k < ndims; k++)
        inner *= out->dims[k];
    int32_t outer = 1;
    for (int k = 0; k < axis; k++)
        outer *= out->dims[k];
    int64_t along = 0;
    for (int i = 0; i < n; i++) {
        mtf_tensor_t *in = mtf_node_input(m, node, i);
        MTF_ENSURE(m, in != NULL, MTF_ERR_BAD_MODEL, "missing input %d", i);
        MTF_ENSURE(m, in->dtype == out->dtype, MTF_ERR_UNSUPPORTED_TYPE, "input %d type %d, output type %d", i,
                   in->dtype, out->dtype);
        /* Exact float comparison, as TFLite Micro's (it compares the floats widened to double). */
        if (out->dtype == MTF_INT8)
            MTF_ENSURE(m, in->scale == out->scale && in->zero_point == out->zero_point, MTF_ERR_UNSUPPORTED_TYPE,
                       "int8 input %d quantized differently from the output", i);
        MTF_ENSURE(m, in->ndims == ndims, MTF_ERR_SHAPE, "input %d has %d dims, output %d", i, in->ndims, ndims);
        for (int k = 0; k < ndims; k++) {
            if (k != axis)
                MTF_ENSURE(m, in->dims[k] == out->dims[k], MTF_ERR_SHAPE, "input %d dim %d mismatch", i, k);
        }
        MTF_ENSURE(m, in->dims[axis] >= 0, MTF_ERR_SHAPE, "input %d has a negative dim", i);
        along += in->dims[axis];
    }
    MTF_ENSURE(m, along == out->dims[axis], MTF_ERR_SHAPE, "inputs do not add up to output dim %d", axis);
    MTF_ENSURE(m, (int64_t)outer * along * inner * size == out->bytes, MTF_ERR_SHAPE, "output size mismatch");
    /* Each input is now known to be no larger than the output, so no product overflows. */
    for (int i = 0; i < n; i++) {
        mtf_tensor_t *in = mtf_node_input(m, node, i);
        d->chunk[i] = in->dims[axis] * inner * size;
        MTF_ENSURE(m, (int64_t)outer * d->chunk[i] == in->bytes, MTF_ERR_SHAPE, "input %d size mismatch", i);
    }
    d->outer = outer;
    d->whole = -1;
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_concatenation = {concat_prepare, mtf_slices_eval};
