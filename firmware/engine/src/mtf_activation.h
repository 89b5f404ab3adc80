/*
 * mtf_activation.h - shared parts of the single-input activations (LOGISTIC,
 * TANH, HARD_SWISH, RELU, RELU6): the common prepare checks, and for those
 * whose int8 result is a 256-entry table, the table allocation and eval.
 */
#ifndef MTF_ACTIVATION_H
#define MTF_ACTIVATION_H

#include "mtf_kernel.h"

/* One input and one output of equal dtype and element count. On MTF_OK *in and
 * *out are set; the caller then returns early for float32 (nothing to prepare)
 * and gets "unsupported type" refused here for anything but int8/float32. */
mtf_status_t mtf_act_check(mtf_model_t *m, mtf_node_t *node, const mtf_tensor_t **in, const mtf_tensor_t **out);

/* Allocates the 256-entry int8 table (indexed by the input byte) as the node's data. */
int8_t *mtf_act_table(mtf_model_t *m, mtf_node_t *node);

/* int8: table lookup; float32: f on each element (unaligned loads: the input may be a model constant). */
mtf_status_t mtf_act_table_eval(mtf_model_t *m, mtf_node_t *node, float (*f)(float));

/* Prepare of int8 LOGISTIC (is_tanh 0) and TANH (is_tanh 1) after their own
 * checks: allocates the table and fills it with TFLite Micro's integer formula. */
mtf_status_t mtf_act_sigmoid_table(mtf_model_t *m, mtf_node_t *node, const mtf_tensor_t *in, int is_tanh);

#endif
