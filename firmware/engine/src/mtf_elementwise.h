/*
 * mtf_elementwise.h - shared prepare and broadcast eval of the int8/float32
 * binary operators ADD, SUB and MUL. Each operator file stays a thin wrapper
 * so the op table and the weak-reference registry still see one symbol per op.
 */
#ifndef MTF_ELEMENTWISE_H
#define MTF_ELEMENTWISE_H

#include "mtf_kernel.h"

typedef enum { MTF_EW_ADD, MTF_EW_SUB, MTF_EW_MUL } mtf_ew_op_t;

/* Validates, allocates and fills the op data; the op is stored there for eval. */
mtf_status_t mtf_ew_prepare(mtf_model_t *m, mtf_node_t *node, mtf_ew_op_t op);
mtf_status_t mtf_ew_eval(mtf_model_t *m, mtf_node_t *node);

#endif
