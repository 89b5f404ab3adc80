/*
 * mtf_activation.h - shared parts of the arithmetic operators: the operand
 * check every one of them starts with; for the single-input activations
 * (LOGISTIC, TANH, HARD_SWISH, RELU, RELU6), whose int8 result depends on the
 * input byte alone, one prepare filling a 256-entry table and one table eval;
 * and the one kernel of QUANTIZE and DEQUANTIZE.
 */
#ifndef MTF_ACTIVATION_H
#define MTF_ACTIVATION_H

#include "mtf_kernel.h"

/* Keeps a prepare-time helper called from several places out of line (code
 * size only: harmless where unsupported). */
#if defined(__GNUC__)
#define MTF_ARITH_NOINLINE __attribute__((noinline))
#else
#define MTF_ARITH_NOINLINE
#endif

/* The node has exactly n_in inputs and n_out outputs, all present; t gets
 * them, inputs first (constant inputs: see mtf_node_input, n_in <= 3). */
mtf_status_t mtf_arith_io(mtf_model_t *m, mtf_node_t *node, int n_in, int n_out, mtf_tensor_t **t);

/* mtf_elements out of line: called once per prepare or eval, where its size
 * matters more than a call. */
int32_t mtf_arith_count(const mtf_tensor_t *t);

/* mtf_mul_by_qm out of line, for code that runs once per element of a
 * model's edges or once per output (not in inner loops). */
int32_t mtf_arith_mul_by_qm(int32_t x, int32_t multiplier, int shift);

/* mtf_arith_io for one input and one output (t[0], t[1]) of equal element count. */
mtf_status_t mtf_arith_unary(mtf_model_t *m, mtf_node_t *node, mtf_tensor_t **t);

/* TFLite's QuantizeMultiplier of (double)num / (double)den: sets *multiplier, returns the shift. */
int mtf_arith_ratio(float num, float den, int32_t *multiplier);

/* A tensor's scale is usable: the loader refuses scales that are not positive
 * and finite, so only 0 (no quantization) remains to refuse here. */
static inline int mtf_arith_scale_ok(float scale)
{
    return scale > 0.0f;
}

/* The int8 result of one input byte x (-128..127) under parameters p. */
typedef int8_t (*mtf_act_one_t)(int32_t x, const void *p);

/* int8: table lookup; float32: f on each element (unaligned loads: the input may be a model constant). */
mtf_status_t mtf_act_table_eval(mtf_model_t *m, mtf_node_t *node, float (*f)(float));

/* Prepare of LOGISTIC, TANH (TFLite Micro's integer formula), RELU, RELU6 and
 * HARD_SWISH: the checks, then for int8 the table. */
enum { MTF_ACT_KIND_LOGISTIC, MTF_ACT_KIND_TANH, MTF_ACT_KIND_RELU, MTF_ACT_KIND_RELU6, MTF_ACT_KIND_HARD_SWISH };
mtf_status_t mtf_act_prepare(mtf_model_t *m, mtf_node_t *node, int kind);

/* QUANTIZE (dequantize 0) and DEQUANTIZE (1): TFLite Micro's type pairs and
 * formulas; DEQUANTIZE keeps no node data. One eval serves both. */
mtf_status_t mtf_convert_prepare(mtf_model_t *m, mtf_node_t *node, int dequantize);
mtf_status_t mtf_convert_eval(mtf_model_t *m, mtf_node_t *node);

#endif
