/*
 * HARD_SWISH: x * relu6(x + 3) / 6.
 *
 * int8 reproduces TFLite Micro's reference kernel, which works in int16
 * fixed point: the input moves to a 2^7 finer "hires" scale, a "reluish"
 * factor in [0, 1] comes from rescaling x from [-3, 3], and their product is
 * shifted to the output scale. Prepare computes the two multipliers from
 * float32 quotients (hires_input_scale / output_scale in float, then widened,
 * exactly as TFLite Micro) and, since the result depends on the int8 input
 * alone, tabulates the integer formula for all 256 inputs.
 * float32 uses TFLite's formula.
 */
#include "mtf_activation.h"
#include "mtf_fixedpoint.h"
#include "mtf_quant.h"

typedef struct {
    int32_t input_zero_point, output_zero_point;
    int16_t output_multiplier, reluish_multiplier;
    int output_exponent, reluish_exponent;
} hard_swish_params_t;

/* int16 SaturatingRoundingDoublingHighMul (gemmlowp, VQRDMULH-like) with
 * round 1; with round 0 it truncates toward zero instead (SQDMULH-like),
 * which TFLite uses to cancel the rounding bias of the steps before. */
MTF_ARITH_NOINLINE static int16_t dhm16(int16_t a, int16_t b, int round)
{
    if (a == b && a == INT16_MIN)
        return INT16_MAX;
    int32_t ab = (int32_t)a * (int32_t)b;
    int32_t nudge = round ? (ab >= 0 ? (1 << 14) : (1 - (1 << 14))) : 0;
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* value * 2^amount, saturated to int16. Past 2^16 every nonzero value
 * saturates anyway, so the shift is capped there and int32 suffices. */
MTF_ARITH_NOINLINE static int16_t sat_shl16(int16_t value, int amount)
{
    int32_t r = value * (1 << (amount < 16 ? amount : 16));
    r = r > INT16_MAX ? INT16_MAX : r < INT16_MIN ? INT16_MIN : r;
    return (int16_t)r;
}

/* gemmlowp RoundingDivideByPOT on an int16 value, with gemmlowp's int16
 * mask arithmetic (the mask is truncated to 16 bits like the template does;
 * exponent <= 31). */
MTF_ARITH_NOINLINE static int16_t rdbpot16(int16_t x, int exponent)
{
    int16_t mask = (int16_t)((1u << exponent) - 1u);
    int16_t remainder = (int16_t)(x & mask);
    int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

/* QuantizeMultiplier of a float ratio (widened to double), then TFLite's
 * DownScaleInt32ToInt16Multiplier. */
MTF_ARITH_NOINLINE static int16_t multiplier16(float ratio, int *exponent)
{
    int32_t multiplier;
    mtf_quantize_multiplier((double)ratio, &multiplier, exponent);
    if (multiplier >= INT32_MAX - (1 << 15))
        return INT16_MAX;
    return (int16_t)((multiplier + (1 << 15)) >> 16);
}

static int8_t hard_swish_one(int32_t x, const void *vp)
{
    const hard_swish_params_t *p = vp;
    int16_t input = (int16_t)(x - p->input_zero_point);
    int16_t hires = (int16_t)(input * (1 << 7));
    int16_t preshift_output = dhm16(hires, p->output_multiplier, 1);
    int16_t reluish = hires;
    if (p->reluish_exponent > 0)
        reluish = sat_shl16(reluish, p->reluish_exponent - 1);
    reluish = dhm16(reluish, p->reluish_multiplier, 1);
    if (p->reluish_exponent > 0)
        reluish = sat_shl16(reluish, 1);
    if (p->reluish_exponent < 0)
        reluish = rdbpot16(reluish, -p->reluish_exponent);
    /* From [-1, 1] to [0, 1]. */
    reluish = (int16_t)((reluish + (1 << 15)) >> 1);
    int16_t preshift = dhm16(reluish, preshift_output, 0);
    int16_t v = rdbpot16(preshift, -p->output_exponent);
    v = (int16_t)(v + p->output_zero_point);
    v = v > 127 ? 127 : v < -128 ? -128 : v;
    return (int8_t)v;
}

static mtf_status_t hard_swish_prepare(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in, *out;
    MTF_TRY(mtf_act_check(m, node, &in, &out, 1));
    if (in->dtype == MTF_FLOAT32)
        return MTF_OK;
    hard_swish_params_t p;
    p.input_zero_point = in->zero_point;
    p.output_zero_point = out->zero_point;
    /* float32 quotients, widened afterwards: the order TFLite Micro uses. */
    float hires_input_scale = (1.0f / 128.0f) * in->scale;
    float reluish_scale = 3.0f / 32768.0f;
    float output_ratio = hires_input_scale / out->scale;
    float reluish_ratio = hires_input_scale / reluish_scale;
    /* Positive and finite before they become multipliers (undefined otherwise). */
    MTF_ENSURE(m, mtf_fp_scale_ok(hires_input_scale) && mtf_fp_scale_ok(output_ratio) && mtf_fp_scale_ok(reluish_ratio),
               MTF_ERR_UNSUPPORTED_TYPE, "scales out of range");
    p.output_multiplier = multiplier16(output_ratio, &p.output_exponent);
    p.reluish_multiplier = multiplier16(reluish_ratio, &p.reluish_exponent);
    /* The output scale may not be below the input's (TFLite Micro's shifts go right only). */
    MTF_ENSURE(m, p.output_exponent <= 0 && p.output_exponent > -31 && p.reluish_exponent > -31 &&
                      p.reluish_exponent < 31,
               MTF_ERR_UNSUPPORTED_TYPE, "scales out of range");
    return mtf_act_fill(m, node, hard_swish_one, &p);
}

/* Written as TFLite's std::min(6, std::max(0, v + 3)), NaN handling included. */
static float hard_swish_float(float v)
{
    float r = 0.0f < v + 3.0f ? v + 3.0f : 0.0f;
    r = r < 6.0f ? r : 6.0f;
    return v * r / 6.0f;
}

static mtf_status_t hard_swish_eval(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_table_eval(m, node, hard_swish_float);
}

const mtf_kernel_t mtf_kernel_hard_swish = {hard_swish_prepare, hard_swish_eval};
