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
    MTF_ENSURE(m, n >= 1 && n <= CONCAT_MAX_INPUTS && mtf_opt_u8(node, 1, MTF_ACT_NONE) == MTF_ACT_NONE,
               MTF_ERR_UNSUPPORTED_TYPE, "needs 1 to 10 inputs and no fused activation");
    return mtf_slices_prepare(m, node, MTF_JOIN_AXIS(0) | MTF_PARTS_SAME_Q8, CONCAT_TYPES);
}

const mtf_kernel_t mtf_kernel_concatenation = {concat_prepare, mtf_slices_eval};
