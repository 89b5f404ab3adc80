/*
 * Shared parts of the single-input activations; see mtf_activation.h.
 */
#include "mtf_activation.h"

#include <math.h>

#include "mtf_fixedpoint.h"
#include "mtf_quant.h"

#define INPUT_BITS 4 /* integer bits of the rescaled LOGISTIC/TANH input */

mtf_status_t mtf_act_check(mtf_model_t *m, mtf_node_t *node, const mtf_tensor_t **in, const mtf_tensor_t **out)
{
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 1 && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "needs 1 input and 1 output");
    const mtf_tensor_t *i = mtf_node_input(m, node, 0);
    const mtf_tensor_t *o = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, i != NULL && o != NULL, MTF_ERR_BAD_MODEL, "missing tensor");
    MTF_ENSURE(m, i->dtype == o->dtype, MTF_ERR_UNSUPPORTED_TYPE, "input and output types differ");
    MTF_ENSURE(m, mtf_elements(i) == mtf_elements(o), MTF_ERR_SHAPE, "input and output sizes differ");
    MTF_ENSURE(m, i->dtype == MTF_FLOAT32 || i->dtype == MTF_INT8, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d",
               i->dtype);
    *in = i;
    *out = o;
    return MTF_OK;
}

int8_t *mtf_act_table(mtf_model_t *m, mtf_node_t *node)
{
    int8_t *table = mtf_alloc_persistent(m, 256);
    if (table != NULL)
        mtf_node_set_data(node, table);
    return table;
}

mtf_status_t mtf_act_table_eval(mtf_model_t *m, mtf_node_t *node, float (*f)(float))
{
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    int32_t n = mtf_elements(in);
    const uint8_t *x = in->data;
    if (in->dtype == MTF_INT8) {
        const int8_t *table = mtf_node_data(node);
        int8_t *y = (int8_t *)out->data;
        for (int32_t i = 0; i < n; i++)
            y[i] = table[x[i]];
        return MTF_OK;
    }
    float *y = (float *)out->data;
    for (int32_t i = 0; i < n; i++)
        y[i] = f(mtf_load_f32(x + 4 * i));
    return MTF_OK;
}

/* TFLite Micro's reference int8 LOGISTIC and TANH for one input (minus its zero
 * point): rescaled to Q4.27, through gemmlowp's fixed-point logistic (rounded
 * to 1/256 steps, zero point -128) or tanh (1/128 steps; like TFLite Micro it
 * assumes the output zero point is 0 and adds none). */
static int8_t sigmoid_one(int32_t input, int32_t radius, int32_t multiplier, int shift, int is_tanh)
{
    if (input <= -radius)
        return -128;
    if (input >= radius)
        return 127;
    int32_t q4 = mtf_mul_by_qm(input, multiplier, shift);
    int32_t v;
    if (is_tanh)
        v = mtf_rdbpot(mtf_fp_tanh(q4, INPUT_BITS), 31 - 7);
    else
        v = mtf_rdbpot(mtf_fp_logistic(q4, INPUT_BITS), 31 - 8) - 128;
    return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
}

mtf_status_t mtf_act_sigmoid_table(mtf_model_t *m, mtf_node_t *node, const mtf_tensor_t *in, int is_tanh)
{
    int8_t *table = mtf_act_table(m, node);
    if (table == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    /* input_scale * 2^27 split by frexp, as TFLite Micro's prepare does. */
    double real = (double)in->scale * (double)(1 << (31 - INPUT_BITS));
    int shift = 0;
    double q = frexp(real, &shift);
    int32_t multiplier = (int32_t)round(q * (double)((int64_t)1 << 31));
    MTF_ENSURE(m, shift >= 0 && shift <= 62, MTF_ERR_UNSUPPORTED_TYPE, "input scale out of range");
    int32_t radius = mtf_fp_input_radius(INPUT_BITS, shift, 31);
    for (int32_t x = -128; x <= 127; x++)
        table[(uint8_t)(int8_t)x] = sigmoid_one(x - in->zero_point, radius, multiplier, shift, is_tanh);
    return MTF_OK;
}
