/*
 * ADD, SUB and MUL with numpy broadcasting (up to MTF_MAX_DIMS dimensions).
 *
 * int8 ADD/SUB reproduce TFLite Micro's scheme: both inputs are shifted left
 * by 20 bits, scaled onto a common scale (twice the larger input scale) with
 * multipliers below one, added or subtracted, and the result requantized to
 * the output scale; multipliers are computed in double from the float scales.
 * int8 MUL requantizes the product of the zero-point-corrected inputs with one
 * multiplier, input1_scale * input2_scale / output_scale in double. Fused
 * activations clamp the result. float32 computes and clamps like TFLite.
 */
#include "mtf_elementwise.h"

#include "mtf_activation.h"
#include "mtf_fixedpoint.h"
#include "mtf_quant.h"

#define LEFT_SHIFT 20 /* ADD/SUB headroom bits for int8 inputs */

/* ---- broadcasting of two-input elementwise operators (ADD, SUB, MUL) ----
 *
 * Numpy-style broadcasting, as TFLite Micro's BroadcastBinaryOpSimple does it
 * (up to MTF_MAX_DIMS): prepare gives each output dimension, innermost first,
 * its extent and the element stride of each input along it (0 where the input
 * is broadcast), and eval walks the output with an odometer over them. */
typedef struct {
    int32_t ndims;                  /* output dimensions (0 for a scalar) */
    int32_t extent[MTF_MAX_DIMS];   /* output extent, innermost dimension first */
    int32_t stride1[MTF_MAX_DIMS];  /* input 1 element stride (0 = broadcast) */
    int32_t stride2[MTF_MAX_DIMS];  /* input 2 element stride (0 = broadcast) */
} mtf_bcast_t;

/* Position of the odometer: the index in each dimension, the element of each input. */
typedef struct {
    int32_t index[MTF_MAX_DIMS];
    int32_t off1, off2;
} mtf_bcast_pos_t;

static inline void mtf_bcast_start(mtf_bcast_pos_t *p)
{
    memset(p, 0, sizeof *p);
}

/* Move to the next output element: an odometer over the dimensions. */
static inline void mtf_bcast_next(const mtf_bcast_t *b, mtf_bcast_pos_t *p)
{
    for (int d = 0; d < b->ndims; d++) {
        p->off1 += b->stride1[d];
        p->off2 += b->stride2[d];
        if (++p->index[d] < b->extent[d])
            return;
        p->off1 -= b->stride1[d] * b->extent[d];
        p->off2 -= b->stride2[d] * b->extent[d];
        p->index[d] = 0;
    }
}

typedef struct {
    mtf_bcast_t bcast;
    int32_t op; /* mtf_ew_op_t */
    /* Index 0: input 1, 1: input 2 (ADD/SUB only; shifts <= 0 there), 2: output. */
    int32_t multiplier[3], shift[3];
    int32_t act_min, act_max;
    float f_min, f_max;
} ew_data_t;

/* t's shape aligned at the end to nd dimensions, 1 before its own (nd >= t->ndims). */
static MTF_ARITH_NOINLINE void aligned_dims(const mtf_tensor_t *t, int nd, int32_t *dims)
{
    const int lead = nd - t->ndims;
    for (int i = 0; i < nd; i++)
        dims[i] = i < lead ? 1 : t->dims[i - lead];
}

/* Checks that in1 and in2 broadcast to out's shape and fills b.
 * Fails with MTF_ERR_SHAPE otherwise. */
static mtf_status_t bcast_prepare(mtf_model_t *m, const mtf_tensor_t *in1, const mtf_tensor_t *in2,
                                  const mtf_tensor_t *out, mtf_bcast_t *b)
{
    /* (Ranks are at most MTF_MAX_DIMS: the loader checks.) */
    const int nd = in1->ndims > in2->ndims ? in1->ndims : in2->ndims;
    MTF_ENSURE(m, out->ndims == nd, MTF_ERR_SHAPE, "shapes do not broadcast");
    /* From the innermost dimension out (shapes aligned at their ends); acc1 and
     * acc2 are the inputs' element strides of the dimension. */
    int32_t acc1 = 1, acc2 = 1;
    int32_t dims1[MTF_MAX_DIMS], dims2[MTF_MAX_DIMS];
    aligned_dims(in1, nd, dims1);
    aligned_dims(in2, nd, dims2);
    for (int i = nd - 1, k = 0; i >= 0; i--, k++) {
        int32_t e1 = dims1[i], e2 = dims2[i];
        int32_t e = e1 == 1 ? e2 : e1;
        MTF_ENSURE(m, (e1 == e2 || e1 == 1 || e2 == 1) && out->dims[i] == e, MTF_ERR_SHAPE,
                   "shapes do not broadcast");
        b->extent[k] = e;
        b->stride1[k] = e1 == 1 ? 0 : acc1;
        b->stride2[k] = e2 == 1 ? 0 : acc2;
        acc1 *= e1;
        acc2 *= e2;
    }
    b->ndims = nd;
    return MTF_OK;
}

mtf_status_t mtf_ew_prepare(mtf_model_t *m, mtf_node_t *node, mtf_ew_op_t op)
{
    mtf_tensor_t *t[3];
    MTF_TRY(mtf_arith_io(m, node, 2, 1, t));
    const mtf_tensor_t *in1 = t[0], *in2 = t[1], *out = t[2];
    MTF_ENSURE(m, in1->dtype == out->dtype && in2->dtype == out->dtype &&
                      (out->dtype == MTF_INT8 || out->dtype == MTF_FLOAT32),
               MTF_ERR_UNSUPPORTED_TYPE, "unsupported types");
    ew_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    d->op = (int32_t)op;
    MTF_TRY(bcast_prepare(m, in1, in2, out, &d->bcast));
    /* Add/Sub/MulOptions: fused_activation_function = field 0. */
    /* Codes other than the RELUs (TANH, SIGN_BIT) run unclamped, as in TFLite
     * Micro: both activation-range helpers treat them as NONE. */
    int activation = mtf_opt_u8(node, 0, MTF_ACT_NONE);
    if (out->dtype == MTF_FLOAT32) {
        mtf_activation_range_float(activation, &d->f_min, &d->f_max);
        return MTF_OK;
    }
    /* Quantized, hence (the loader checks) positive finite scales. */
    MTF_ENSURE(m, in1->q_count > 0 && in2->q_count > 0 && out->q_count > 0, MTF_ERR_BAD_MODEL, "bad quantization");
    /* The zero points are read from the tensors at eval. */
    /* Cannot fail for an int8 output. */
    (void)mtf_activation_range_quantized(m, activation, out, &d->act_min, &d->act_max);
    /* The multipliers in double, as TFLite Micro. MUL: one, in1 * in2 / out.
     * ADD/SUB: from the larger float scale m, as CalculateOpDataAdd: in1 / 2m,
     * in2 / 2m and 2m / (2^20 out), each in (0, 1)
     * (QuantizeMultiplierSmallerThanOneExp). Some TFLite Micro SUB sources
     * compute these in float32 instead; the tflite-micro build used as the
     * oracle uses double, which the fixture sub_pairs_pinned pins down. */
    if (op == MTF_EW_MUL) {
        int shift;
        mtf_quantize_multiplier((double)in1->scale * (double)in2->scale / (double)out->scale, &d->multiplier[2],
                                &shift);
        MTF_ENSURE(m, shift <= 31, MTF_ERR_UNSUPPORTED_TYPE, "scale ratio out of range");
        d->shift[2] = shift;
        return MTF_OK;
    }
    /* Each ADD/SUB ratio is num / den (double, as mtf_arith_ratio divides)
     * times 2^-drop: powers of two change only the exponent, so the
     * multiplier is mtf_arith_ratio's and the shift drop less, unless that
     * falls below -31, where QuantizeMultiplier flushes to 0 (a multiplier of
     * 0 gives 0 with any shift). A ratio in (0, 1) is a shift <= 0, what eval
     * relies on (a ratio within 2^-32 below 1 would round up to shift 1 and be
     * refused; these are <= 1/2 or quotients of two 24-bit significands, never
     * that close). */
    const float mx = in1->scale > in2->scale ? in1->scale : in2->scale;
    const float num[3] = {in1->scale, in2->scale, mx}, den[3] = {mx, mx, out->scale};
    for (int k = 0; k < 3; k++) {
        int shift = mtf_arith_ratio(num[k], den[k], &d->multiplier[k]) - (k == 2 ? LEFT_SHIFT - 1 : 1);
        if (shift < -31)
            d->multiplier[k] = shift = 0;
        MTF_ENSURE(m, shift <= 0, MTF_ERR_UNSUPPORTED_TYPE, "scale ratio out of range");
        d->shift[k] = shift;
    }
    return MTF_OK;
}

/* An input of ADD/SUB on the common scale: its shift is <= 0 (prepare), where
 * mtf_mul_by_qm is TFLite Micro's doubling high multiply and rounding right shift. */
static inline int32_t scaled(int32_t offset, int32_t multiplier, int32_t shift, int32_t a)
{
    return mtf_arith_mul_by_qm((offset + a) * (1 << LEFT_SHIFT), multiplier, shift);
}

static inline int8_t finish_int8(const ew_data_t *d, int32_t v, int32_t output_offset)
{
    v += output_offset;
    v = v < d->act_min ? d->act_min : v;
    v = v > d->act_max ? d->act_max : v;
    return (int8_t)v;
}

/* TFLite's ActivationFunctionWithMinMax: std::min(std::max(x, lo), hi). */
static inline float clamp_float(float x, float lo, float hi)
{
    float t = x < lo ? lo : x;
    return hi < t ? hi : t;
}

/*
 * One loop over the output elements, the broadcast odometer giving each
 * input's element. ADD and SUB share the int8 arithmetic: SUB negates the
 * second term exactly ((v ^ -1) + 1 == -v; the scaled values are far from
 * INT32_MIN). Their output shift is <= 0 (prepare), where mtf_mul_by_qm is the
 * rounding right shift of the doubling high multiply TFLite Micro does. No
 * benchmarked model spends time here: code size counts more than speed.
 * Float operands are read with unaligned loads: an input may be a constant in
 * the model bytes.
 */
mtf_status_t mtf_ew_eval(mtf_model_t *m, mtf_node_t *node)
{
    const ew_data_t *d = mtf_node_data(node);
    const mtf_tensor_t *in1 = mtf_node_input(m, node, 0);
    const mtf_tensor_t *in2 = mtf_node_input(m, node, 1);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    const int32_t n = mtf_arith_count(out);
    const int32_t neg = d->op == MTF_EW_SUB ? -1 : 0;
    mtf_bcast_pos_t p;
    mtf_bcast_start(&p);
    for (int32_t i = 0; i < n; i++) {
        if (out->dtype == MTF_INT8) {
            int32_t u = ((const int8_t *)in1->data)[p.off1], w = ((const int8_t *)in2->data)[p.off2];
            if (d->op == MTF_EW_MUL) {
                u = (u - in1->zero_point) * (w - in2->zero_point);
            } else {
                u = scaled(-in1->zero_point, d->multiplier[0], d->shift[0], u);
                w = scaled(-in2->zero_point, d->multiplier[1], d->shift[1], w);
                u += (w ^ neg) - neg;
            }
            ((int8_t *)out->data)[i] = finish_int8(d, mtf_arith_mul_by_qm(u, d->multiplier[2], d->shift[2]), out->zero_point);
        } else {
            float u = mtf_load_f32(in1->data + 4 * p.off1), w = mtf_load_f32(in2->data + 4 * p.off2), v;
            switch (d->op) {
            case MTF_EW_ADD:
                v = u + w;
                break;
            case MTF_EW_SUB:
                v = u - w;
                break;
            default:
                v = u * w;
                break;
            }
            ((float *)(void *)out->data)[i] = clamp_float(v, d->f_min, d->f_max);
        }
        mtf_bcast_next(&d->bcast, &p);
    }
    return MTF_OK;
}
