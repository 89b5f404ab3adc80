/*
 * FULLY_CONNECTED: output[b][c] = act(sum_d input[b][d] * weights[c][d] + bias[c]).
 *
 * int8 (per-tensor or per-channel weights, int32 bias) and float32, as TFLite
 * Micro's reference kernels compute them. Options (FullyConnectedOptions):
 * fused_activation_function = 0, weights_format = 1 (DEFAULT only),
 * keep_num_dims = 2 (only shapes the output, which the converter wrote).
 *
 * int8 arithmetic: TFLite Micro sums (w + w_offset) * (x + x_offset) in int32.
 * In modular (uint32) arithmetic that equals
 *     sum(w*x) + x_offset*sum(w) + bias + w_offset*(sum(x) + x_offset*depth),
 * so prepare folds bias + x_offset*sum(w) into one int32 per output channel
 * (constant weights) and eval's inner loop is a bare int8 dot product.
 * Depth is capped at 65536, where the bare dot product cannot overflow int32.
 *
 * Eval reads everything per channel from one record (fc_chan_t) and
 * requantizes in a few instructions (the fast form below); nodes it does not
 * cover (among them activations that clamp tighter than int8, which
 * converters do not write) take TFLite's arithmetic as written. On cores with the DSP extension
 * and unaligned loads (Cortex-M4/M7/M33/M55 as usually built), the int8 row
 * blocks are short loops of inline assembly, because the compiler spills
 * registers there; elsewhere (and in -mno-unaligned-access builds) the C
 * loops beside them run. float32 takes VLDM/VMLA assembly on Thumb-2 cores
 * with a single-precision FPU when its data is word aligned, C otherwise.
 */
#include "mtf_kernel.h"
#include "mtf_activation.h"
#include "mtf_quant.h"
#include "mtf_window.h"

#include <math.h>

/* 32-bit little-endian loads from possibly unaligned memory (bias and float
 * data may sit anywhere in the model bytes). Where the core reads unaligned
 * words, memcpy compiles to one inline load (mtf_load_i32 would be a call at
 * -Os); elsewhere mtf_load_i32 assembles the bytes. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    ((defined(__ARM_FEATURE_UNALIGNED) && __ARM_FEATURE_UNALIGNED) || defined(__x86_64__) || defined(__i386__))
static inline uint32_t fc_ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
#else
#define fc_ld32(p) ((uint32_t)mtf_load_i32(p))
#endif
static inline float fc_ldf(const uint8_t *p)
{
    uint32_t u = fc_ld32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Input and output depths above this are refused: they keep the int32 sums of
 * the reference path and the record allocation (16 B per output) far from wrapping. */
#define FC_MAX_DEPTH 65536

/*
 * Everything eval needs per int8 output channel, in one 16-byte record (two
 * LDRDs). Fast form (fc_data_t.fast), for shift = -right with
 * 1 <= right <= 20, a multiplier M >= 2^30 and |accumulator| <= 2^30:
 * TFLite's MultiplyByQuantizedMultiplier(acc, M, -right) + out_offset is
 *     floor(N / 2^(32 + right)),  N = 2*acc*M + 2^31 + 2^32*(hi - [acc < 0]) + 2^32*acc
 * with hi = 2^(right-1) + out_offset*2^right: the doubling high multiply
 * rounds floor(x / 2^31 + 1/2), and the rounding divide (half away from zero)
 * is floor((h + 2^(right-1) - [h < 0]) / 2^right), where h < 0 exactly when
 * acc < 0 (M >= 2^30; acc = -1 with M = 2^30 gives 0 either way). Nested
 * floors merge into one, and |N| < 2^63. 2*M wraps to m2 = 2*M - 2^32, whose
 * product with acc misses the 2^32*acc above: so N is acc * m2 +
 * (acc + hi) * 2^32 + 2^31, whose high word is one SMMLAR (it adds 2^31
 * before keeping bits 63..32), and the result that word minus [acc < 0],
 * shifted right by right. Other nodes (left shifts, hostile scales, unbounded
 * sums, activations narrower than int8) take the reference path.
 */
typedef struct {
    int32_t fold; /* bias + in_offset*sum(w) (constant weights and bias) */
    int32_t m2;   /* 2*M mod 2^32 (M < 2^31: the reference path halves it back) */
    int32_t hi;   /* fast: 2^(right-1) + out_offset*2^right */
    int32_t sh;   /* -shift: right in the fast form */
} fc_chan_t;

typedef struct {
    uint8_t *const *in_ref;  /* the input's data pointer, read at eval (planned after prepare) */
    uint8_t *const *out_ref;
    uint8_t *in_const;       /* data of a constant input (in_ref points here) */
    const uint8_t *weights;  /* weights and bias: kept by prepare when constant, else set by eval */
    const uint8_t *bias;
    int32_t batches, depth, out_depth;
    int32_t in_offset, w_offset, out_offset;
    union {
        int32_t i[2]; /* int8 clamp */
        float f[2];   /* float32 clamp */
    } act;
    uint8_t is_float, kept, fast; /* is_float: 2 (log2 of 4 bytes) for float32, else 0 */
    fc_chan_t chan[];        /* int8: one per output channel (allocated with the rest) */
} fc_data_t;

static mtf_status_t fc_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *in = mtf_node_input(m, node, 0);
    const mtf_tensor_t *w = mtf_node_input(m, node, 1);
    const mtf_tensor_t *bias = mtf_node_input(m, node, 2);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, in && w && out && mtf_node_num_inputs(node) <= 3 && mtf_node_num_outputs(node) == 1,
               MTF_ERR_BAD_MODEL, "needs input, weights, [bias], output");
    const int is_float = in->dtype == MTF_FLOAT32;

    /* Shapes, as TFLite Micro reads them: depth from the weights, channels and batches from the output. */
    MTF_ENSURE(m, w->ndims >= 2 && out->ndims >= 1, MTF_ERR_SHAPE, "input, weights or bias too small");
    const int32_t depth = w->dims[w->ndims - 1];
    const int32_t out_depth = out->dims[out->ndims - 1];
    const int32_t batches = out_depth ? mtf_arith_count(out) / out_depth : 0;
    const int activation = mtf_opt_i8(node, 0, MTF_ACT_NONE);
    const int per_channel = w->q_count > 1;
    MTF_ENSURE(m, out_depth <= w->dims[w->ndims - 2] && (int64_t)out_depth * depth <= mtf_arith_count(w),
               MTF_ERR_SHAPE, "%d outputs but %d weight rows", out_depth, w->dims[w->ndims - 2]);
    MTF_ENSURE(m, (int64_t)batches * depth <= mtf_arith_count(in) &&
                      (bias == NULL || mtf_arith_count(bias) >= out_depth),
               MTF_ERR_SHAPE, "input, weights or bias too small");
    /* Input, weights, output and bias types in one word: all float32, or int8 with an int32 bias. */
    const uint32_t want = is_float ? MTF_FLOAT32 * 0x1010101u : MTF_INT8 * 0x10101u + ((uint32_t)MTF_INT32 << 24);
    const uint32_t types = in->dtype | (uint32_t)w->dtype << 8 | (uint32_t)out->dtype << 16 |
                           (uint32_t)(bias != NULL ? bias->dtype : want >> 24) << 24;
    MTF_ENSURE(m, types == want && mtf_opt_u8(node, 1, 0) == 0 && depth <= FC_MAX_DEPTH && out_depth <= FC_MAX_DEPTH &&
                      (is_float ? activation <= MTF_ACT_RELU6 :
                      w->q_count >= 1 && in->q_count >= 1 && out->q_count >= 1 &&
                      (!per_channel || (w->q_dim == 0 && w->q_count == w->dims[0] && w->q_count >= out_depth))),
               MTF_ERR_UNSUPPORTED_TYPE, "unsupported types, weights format, activation, quantization or depth");

    fc_data_t *d = mtf_alloc_persistent(m, sizeof *d + (is_float ? 0 : sizeof(fc_chan_t) * (size_t)out_depth));
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    d->batches = batches;
    d->depth = depth;
    d->out_depth = out_depth;
    d->is_float = (uint8_t)(is_float ? 2 : 0);
    /* Non-constant tensor structs live as long as the model; their data is planned after prepare. */
    d->in_const = in->data;
    d->in_ref = (in->flags & MTF_TENSOR_CONST) ? &d->in_const : &in->data;
    d->out_ref = &out->data;
    /* Eval replaces weights and bias unless both are constant (then kept). */
    d->weights = w->data;
    d->bias = bias != NULL ? bias->data : NULL;
    const int kept = w->flags & (bias != NULL ? bias->flags : MTF_TENSOR_CONST) & MTF_TENSOR_CONST;
    d->kept = (uint8_t)kept;
    if (is_float) {
        mtf_activation_range_float(activation, &d->act.f[0], &d->act.f[1]);
        return MTF_OK;
    }

    /* The loader keeps int8 zero points in -128..127 (and scales positive and finite). */
    d->in_offset = -in->zero_point;
    /* TFLite Micro applies the weight offset only with per-tensor weights. */
    d->w_offset = per_channel ? 0 : -w->zero_point;
    d->out_offset = out->zero_point;
    MTF_TRY(mtf_activation_range_quantized(m, activation, out, &d->act.i[0], &d->act.i[1]));
    /* The multipliers: input_scale * weight_scale / output_scale in double, as TFLite Micro. */
    const double in_scale = (double)in->scale, out_scale = (double)out->scale;
    /* TFLite Micro's sanity check of the bias scale (per-tensor weights), in
     * double as there, so the same models pass it. */
    MTF_ENSURE(m, per_channel || bias == NULL || fabs(in_scale * (double)w->scale - (double)bias->scale) / out_scale <= 0.02,
               MTF_ERR_BAD_MODEL, "bias scale does not match");
    /* The fast form needs constant weights and bias, weights without an offset and
     * no activation clamp tighter than int8 (as converters write them: ReLU outputs
     * start at -128); anything else takes the reference path. */
    int fast = kept && d->w_offset == 0 && d->act.i[0] == -128 && d->act.i[1] == 127;
    /* |x| <= 128 and |w| <= 128 bound |sum(w*x)| by depth * 2^14, at most 2^30. */
    const uint32_t lim = (1u << 30) - ((uint32_t)depth << 14);
    const int8_t *wd = (const int8_t *)w->data;
    fc_chan_t *q = d->chan;
    for (int32_t c = 0; c < out_depth; c++, q++) {
        int shift;
        int32_t mult;
        mtf_quantize_multiplier(in_scale * (double)mtf_tensor_scale(w, per_channel ? c : 0) / out_scale, &mult, &shift);
        q->m2 = (int32_t)(2u * (uint32_t)mult);
        q->sh = -shift;
        if (!kept)
            continue; /* eval folds the bias in the reference path */
        uint32_t f = bias != NULL ? fc_ld32(bias->data + 4 * c) : 0u;
        for (int32_t k = 0; k < depth; k++)
            f += (uint32_t)d->in_offset * (uint32_t)*wd++;
        q->fold = (int32_t)f;
        /* Meaningful in the fast form only (the mask keeps the shift defined otherwise). */
        const uint32_t right1 = (uint32_t)(-shift - 1);
        q->hi = (int32_t)((2u * (uint32_t)d->out_offset + 1u) << (right1 & 31));
        /* fast: 1 <= right <= 20, M >= 2^30 and |fold| <= lim */
        if (right1 >= 20u || mult < (1 << 30) || f + lim > 2 * lim)
            fast = 0;
    }
    d->fast = (uint8_t)fast;
    return MTF_OK;
}

/* The assembly needs the register allocation of an optimised build (-O0 runs out of
 * registers): unoptimised builds take the C loops. */
#if defined(__ARM_FP) && (__ARM_FP & 4) && defined(__thumb2__) && defined(__OPTIMIZE__)
#define FC_VFP 1
/* Row w times x into float register t, four steps in order k..k+3 (s0..s3 hold x). */
#define FC_FROW4(w, t)                                \
    "vldmia %[" #w "]!, {s4-s7}\n\t"                   \
    "vmla.f32 " t ", s0, s4\n\t"                       \
    "vmla.f32 " t ", s1, s5\n\t"                       \
    "vmla.f32 " t ", s2, s6\n\t"                       \
    "vmla.f32 " t ", s3, s7\n\t"
#define FC_FROW1(w, t)                                \
    "vldmia %[" #w "]!, {s4}\n\t"                      \
    "vmla.f32 " t ", s0, s4\n\t"
/* v = bound when a < b (NaN compares unordered: passes through). */
#define FC_FCLAMP(v, a, b, bound)                     \
    "vcmp.f32 " a ", " b "\n\t"                        \
    "vmrs APSR_nzcv, fpscr\n\t"                        \
    "it mi\n\t"                                        \
    "vmovmi.f32 " v ", " bound "\n\t"
#define FC_FLO(v) FC_FCLAMP(v, v, "%[lo]", "%[lo]")
#else
#define FC_VFP 0
#endif

/* acc + a*b with the product rounded first (no fused multiply-add: TFLite's float order).
 * VMLA does exactly that in one instruction where the compiler, keeping
 * contraction off, emits two. */
static inline float fc_fmac(float acc, float a, float b)
{
#if FC_VFP
    __asm__("vmla.f32 %0, %1, %2" : "+t"(acc) : "t"(a), "t"(b));
    return acc;
#else
    return acc + a * b;
#endif
}

#if FC_VFP
/*
 * Every block of four float rows of one batch, for word-aligned x, weights,
 * bias and output (the arena, and models placed 16-aligned as embed and the
 * firmware place them; VLDM faults on unaligned addresses even where LDR does
 * not): VLDM loads four floats of x and of each row a turn, VMLA rounds the
 * product, then the sum (TFLite's order, no fused multiply-add), then bias
 * and max(v, lo) in TFLite's argument order (always: with no activation lo is
 * -FLT_MAX, which turns -inf into -FLT_MAX as TFLite's clamp and the C rows
 * do); the caller applies hi (RELU6 and RELU_N1_TO_1 only).
 */
static inline void fc_fblocks(const fc_data_t *d, const uint8_t *x, const uint8_t *w, const uint8_t *bias, float *o,
                              int32_t blocks)
{
    const int32_t depth = d->depth;
    const float lo = d->act.f[0];
    const uint8_t *xp, *w1, *w2, *w3;
    int32_t n;
    __asm__ volatile("0:\n\t"
                     "mov %[xp], %[x]\n\t"
                     "add %[w1], %[w], %[depth], lsl #2\n\t"
                     "add %[w2], %[w1], %[depth], lsl #2\n\t"
                     "add %[w3], %[w2], %[depth], lsl #2\n\t"
                     "movs %[n], #0\n\t" /* 0.0f, two registers a move */
                     "vmov s8, s9, %[n], %[n]\n\t"
                     "vmov s10, s11, %[n], %[n]\n\t"
                     "lsrs %[n], %[depth], #2\n\t"
                     "beq 2f\n"
                     "1:\n\t"
                     "vldmia %[xp]!, {s0-s3}\n\t"
                     FC_FROW4(w, "s8") FC_FROW4(w1, "s9") FC_FROW4(w2, "s10") FC_FROW4(w3, "s11")
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n"
                     "2:\n\t"
                     "ands %[n], %[depth], #3\n\t"
                     "beq 4f\n"
                     "3:\n\t"
                     "vldmia %[xp]!, {s0}\n\t"
                     FC_FROW1(w, "s8") FC_FROW1(w1, "s9") FC_FROW1(w2, "s10") FC_FROW1(w3, "s11")
                     "subs %[n], %[n], #1\n\t"
                     "bne 3b\n"
                     "4:\n\t"
                     "vldmia %[bias]!, {s0-s3}\n\t"
                     "vadd.f32 s8, s8, s0\n\t"
                     "vadd.f32 s9, s9, s1\n\t"
                     "vadd.f32 s10, s10, s2\n\t"
                     "vadd.f32 s11, s11, s3\n\t"
                     FC_FLO("s8") FC_FLO("s9") FC_FLO("s10") FC_FLO("s11")
                     "vstmia %[o]!, {s8-s11}\n\t"
                     "mov %[w], %[w3]\n\t"
                     "subs %[blocks], %[blocks], #1\n\t"
                     "bne 0b"
                     : [w] "+r"(w), [bias] "+r"(bias), [o] "+r"(o), [xp] "=&r"(xp), [w1] "=&r"(w1), [w2] "=&r"(w2),
                       [w3] "=&r"(w3), [n] "=&r"(n), [blocks] "+r"(blocks)
                     : [x] "r"(x), [depth] "r"(depth), [lo] "t"(lo)
                     : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "cc", "memory");
}
#endif

/* Every output channel of one float32 batch. */
static MTF_NOINLINE void fc_float_rows(const fc_data_t *d, const uint8_t *x, float *o)
{
    const int32_t depth = d->depth;
    const uint8_t *bias = d->bias;
    const float lo = d->act.f[0], hi = d->act.f[1];
    int32_t c = 0;
#if FC_VFP
    if (d->out_depth >= 4 && bias &&
        (((uintptr_t)x | (uintptr_t)d->weights | (uintptr_t)bias | (uintptr_t)o) & 3) == 0) {
        c = d->out_depth & ~3;
        fc_fblocks(d, x, d->weights, bias, o, c >> 2);
    }
#endif
    for (; c < d->out_depth; c++) {
        /* The rows after the blocks (and unaligned nodes): summed in order from 0.0f. */
        const uint8_t *w = d->weights + (size_t)4 * c * depth;
        float v = 0.0f;
        for (int32_t k = 0; k < depth; k++)
            v = fc_fmac(v, fc_ldf(x + 4 * k), fc_ldf(w + 4 * k));
        v += bias ? fc_ldf(bias + 4 * c) : 0.0f;
        o[c] = v < lo ? lo : v;
    }
    /* min(max(v, lo), hi) in TFLite's argument order (NaN passes through); hi
     * last, for every output, where it is finite (RELU6, RELU_N1_TO_1). */
    for (c = 0; c < d->out_depth && hi <= 3.4e38f; c++)
        o[c] = hi < o[c] ? hi : o[c];
}

#if MTF_DSP && MTF_ALIGN_MASK == 0 && defined(__OPTIMIZE__)
#define FC_ASM 1
/* Requantize accumulator a with the record at q (fast form, see fc_chan_t),
 * saturate to int8 and store it at o, stepping q and o: q and o in registers
 * w0 and w1 in the blocks, w1 and w2 in the last rows. */
#define FC_REQ(a, q, o)                                           \
    "ldrd %[t], %[t2], [%[" #q "]], #8\n\t"                       \
    "add %[" #a "], %[" #a "], %[t]\n\t"                          \
    "ldrd %[t], %[x02], [%[" #q "]], #8\n\t"                      \
    "add %[t], %[t], %[" #a "]\n\t"                               \
    "smmlar %[t], %[" #a "], %[t2], %[t]\n\t"                     \
    "sub %[t], %[t], %[" #a "], lsr #31\n\t"                      \
    "asr %[t], %[t], %[x02]\n\t"                                  \
    "ssat %[t], #8, %[t]\n\t"                                     \
    "strb %[t], [%[" #o "]], #1\n\t"
/* One int8 MAC of the byte tail for row w and accumulator a. */
#define FC_TAIL(w, a)                                             \
    "ldrsb %[t], [%[" #w "]], #1\n\t"                             \
    "smlabb %[" #a "], %[t], %[t2], %[" #a "]\n\t"
/* Two SMLADs of one weight word of row w into a. */
#define FC_WORD(w, a)                                             \
    "ldr %[t], [%[" #w "]], #4\n\t"                               \
    "sxtb16 %[t2], %[t]\n\t"                                      \
    "smlad %[" #a "], %[t2], %[x02], %[" #a "]\n\t"               \
    "sxtb16 %[t], %[t], ror #8\n\t"                               \
    "smlad %[" #a "], %[t], %[x13], %[" #a "]\n\t"
/* Four MACs of one word of x against one word of row w into acc. */
#define FC_WORD1                                                  \
    "ldr %[t], [%[x]], #4\n\t"                                    \
    "ldr %[t2], [%[w]], #4\n\t"                                   \
    "sxtb16 %[t3], %[t]\n\t"                                      \
    "sxtb16 %[t4], %[t2]\n\t"                                     \
    "smlad %[acc], %[t3], %[t4], %[acc]\n\t"                      \
    "sxtb16 %[t], %[t], ror #8\n\t"                               \
    "sxtb16 %[t2], %[t2], ror #8\n\t"                             \
    "smlad %[acc], %[t], %[t2], %[acc]\n\t"
#else
#define FC_ASM 0
#endif

/*
 * int8 dot products. Four weight rows share each input byte, so one input
 * load feeds four MACs. With the DSP extension (Cortex-M4/M7/M33/M55),
 * SXTB16 widens pairs of bytes and SMLAD does two MACs at once. Every sum is
 * exact: depth <= 65536 bounds |sum| by 2^30, so int32 never wraps and the
 * order of the additions does not matter (bit-exact with TFLite Micro's loop).
 */
#if MTF_DSP
/* Two MACs of bytes 0 and 2, then two of bytes 1 and 3 of w against x02/x13. */
#define FC_MAC4(acc, wv, x02, x13)                                  \
    do {                                                            \
        (acc) = __smlad(__sxtb16((int8x4_t)(wv)), (x02), (acc));    \
        (acc) = __smlad(mtf_sxtb16_odd(wv), (x13), (acc));          \
    } while (0)
#endif

#if !FC_ASM
/* One row against x (the rows after the blocks of four). */
static MTF_NOINLINE int32_t dot_i8(const int8_t *w, const int8_t *x, int32_t n)
{
    int32_t acc = 0;
    int32_t k = 0;
#if MTF_DSP && !FC_ASM
    /* Sixteen bytes a turn: the loop overhead is a tenth of it. */
#define FC_DOT4(i)                                                          \
    do {                                                                    \
        int32_t xv = mtf_load4(x + k + (i)), wv = mtf_load4(w + k + (i));   \
        FC_MAC4(acc, wv, __sxtb16(xv), mtf_sxtb16_odd(xv));                 \
    } while (0)
    for (; k + 16 <= n; k += 16) {
        FC_DOT4(0);
        FC_DOT4(4);
        FC_DOT4(8);
        FC_DOT4(12);
    }
    for (; k + 4 <= n; k += 4)
        FC_DOT4(0);
#undef FC_DOT4
#endif
    for (; k < n; k++)
        acc += w[k] * x[k];
    return acc;
}
#endif

/* Rows w, w + n, w + 2n, w + 3n against x: acc[0..3]. */
static inline void dot4_i8(const int8_t *w, const int8_t *x, int32_t n, int32_t acc[4])
{
    const int8_t *w0 = w, *w1 = w + n, *w2 = w1 + n, *w3 = w2 + n;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int32_t k = 0;
#if MTF_DSP
    for (; k + 4 <= n; k += 4) {
        int32_t xv = mtf_load4(x + k);
        int16x2_t x02 = __sxtb16(xv), x13 = mtf_sxtb16_odd(xv);
        int32_t v0 = mtf_load4(w0 + k), v1 = mtf_load4(w1 + k), v2 = mtf_load4(w2 + k), v3 = mtf_load4(w3 + k);
        FC_MAC4(a0, v0, x02, x13);
        FC_MAC4(a1, v1, x02, x13);
        FC_MAC4(a2, v2, x02, x13);
        FC_MAC4(a3, v3, x02, x13);
    }
#endif
    for (; k < n; k++) {
        int32_t xk = x[k];
        a0 += w0[k] * xk;
        a1 += w1[k] * xk;
        a2 += w2[k] * xk;
        a3 += w3[k] * xk;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* The fast form of the requantization (see fc_chan_t); sum is sum(w*x). */
static inline int32_t fc_requant(const fc_chan_t *q, int32_t sum)
{
    int32_t acc = (int32_t)((uint32_t)sum + (uint32_t)q->fold);
    uint64_t t = ((uint64_t)((uint32_t)acc + (uint32_t)q->hi) << 32 | 0x80000000u) + (uint64_t)((int64_t)acc * q->m2);
    return ((int32_t)(uint32_t)(t >> 32) - (int32_t)((uint32_t)acc >> 31)) >> q->sh;
}

/* Saturate to int8 and store (the fast form has no narrower activation). */
static inline void fc_store(int8_t *o, int32_t v)
{
#if MTF_DSP
    v = __ssat(v, 8);
#else
    v = v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
    *o = (int8_t)v;
}


/* Every output channel of one batch: four rows at a time, then one at a time
 * (o: restrict, so that the stores do not make the compiler reload d and q). */
static MTF_NOINLINE void fc_rows(const fc_data_t *d, const int8_t *x, int8_t *restrict o)
{
    const int32_t depth = d->depth;
    const int8_t *w = (const int8_t *)d->weights;
    const fc_chan_t *q = d->chan;
    if (depth == 1) {
        /* A scalar input per batch: every channel in one loop, no dot product. */
        int32_t n = d->out_depth;
        const int32_t xv = *x;
#if FC_ASM
        if (n <= 0)
            return;
        int32_t t, f, m2, sh, acc;
        /* fc_requant and the int8 saturation of fc_store, 12 instructions a channel. */
        __asm__ volatile("1:\n\t"
                         "ldrsb %[t], [%[w]], #1\n\t"
                         "ldrd %[f], %[m2], [%[q]], #8\n\t"
                         "mla %[acc], %[t], %[xv], %[f]\n\t"
                         "ldrd %[f], %[sh], [%[q]], #8\n\t"
                         "add %[f], %[f], %[acc]\n\t"
                         "smmlar %[f], %[acc], %[m2], %[f]\n\t"
                         "sub %[f], %[f], %[acc], lsr #31\n\t"
                         "asr %[f], %[f], %[sh]\n\t"
                         "ssat %[f], #8, %[f]\n\t"
                         "strb %[f], [%[o]], #1\n\t"
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b"
                         : [w] "+r"(w), [q] "+r"(q), [o] "+r"(o), [n] "+r"(n), [t] "=&r"(t), [f] "=&r"(f),
                           [m2] "=&r"(m2), [sh] "=&r"(sh), [acc] "=&r"(acc)
                         : [xv] "r"(xv)
                         : "cc", "memory");
#else
        for (; n > 0; n--, q++)
            fc_store(o++, fc_requant(q, *w++ * xv));
#endif
        return;
    }
#if FC_ASM
    /* One statement of assembly: every block of four rows, then the last rows
     * one at a time. The dot products of a block need all 14 free registers,
     * the requantization reuses them, and what the loops keep between blocks
     * stays in memory operands (the row loop keeps q, o and its count in the
     * registers the block loop no longer needs). */
    int32_t left = d->out_depth - 4; /* rows after the next block */
    const int8_t *w1, *w2, *w3, *xp;
    const int8_t *const end = x + (depth & ~3);
    int32_t a0, a1, a2, a3, t, t2, x02, x13;
    __asm__ volatile("ldr %[t], %[nm]\n\t"
                     "cmp %[t], #0\n\t"
                     "blt 5f\n"
                     "0:\n\t"
                     "ldr %[t], %[dm]\n\t"
                     "add %[w1], %[w0], %[t]\n\t"
                     "add %[w2], %[w1], %[t]\n\t"
                     "add %[w3], %[w2], %[t]\n\t"
                     "movs %[a0], #0\n\t"
                     "mov %[a1], %[a0]\n\t"
                     "mov %[a2], %[a0]\n\t"
                     "mov %[a3], %[a0]\n\t"
                     "ldr %[x], %[xm]\n\t"
                     "cmp %[x], %[end]\n\t"
                     "beq 2f\n"
                     "1:\n\t"
                     "ldr %[t], [%[x]], #4\n\t"
                     "sxtb16 %[x02], %[t]\n\t"
                     "sxtb16 %[x13], %[t], ror #8\n\t"
                     FC_WORD(w0, a0) FC_WORD(w1, a1) FC_WORD(w2, a2) FC_WORD(w3, a3)
                     "cmp %[x], %[end]\n\t"
                     "bne 1b\n"
                     "2:\n\t"
                     "ldr %[x13], %[dm]\n\t"
                     "ands %[x13], %[x13], #3\n\t"
                     "beq 4f\n"
                     "3:\n\t"
                     "ldrsb %[t2], [%[x]], #1\n\t"
                     FC_TAIL(w0, a0) FC_TAIL(w1, a1) FC_TAIL(w2, a2) FC_TAIL(w3, a3)
                     "subs %[x13], %[x13], #1\n\t"
                     "bne 3b\n"
                     "4:\n\t"
                     "ldr %[w0], %[qm]\n\t"
                     "ldr %[w1], %[om]\n\t"
                     FC_REQ(a0, w0, w1) FC_REQ(a1, w0, w1) FC_REQ(a2, w0, w1) FC_REQ(a3, w0, w1)
                     "str %[w0], %[qm]\n\t"
                     "str %[w1], %[om]\n\t"
                     "mov %[w0], %[w3]\n\t"
                     "ldr %[t], %[nm]\n\t"
                     "subs %[t], %[t], #4\n\t"
                     "str %[t], %[nm]\n\t"
                     "bpl 0b\n"
                     "5:\n\t"
                     /* t = rows left - 4. Rows left (a3), records (w1), outputs (w2). */
                     "adds %[a3], %[t], #4\n\t"
                     "beq 9f\n\t"
                     "ldr %[w1], %[qm]\n\t"
                     "ldr %[w2], %[om]\n"
                     "6:\n\t"
                     "ldr %[x], %[xm]\n\t"
                     "movs %[a0], #0\n\t"
                     "cmp %[x], %[end]\n\t"
                     "beq 7f\n"
                     "1:\n\t"
                     "ldr %[t], [%[x]], #4\n\t"
                     "ldr %[t2], [%[w0]], #4\n\t"
                     "sxtb16 %[x02], %[t]\n\t"
                     "sxtb16 %[x13], %[t2]\n\t"
                     "smlad %[a0], %[x02], %[x13], %[a0]\n\t"
                     "sxtb16 %[t], %[t], ror #8\n\t"
                     "sxtb16 %[t2], %[t2], ror #8\n\t"
                     "smlad %[a0], %[t], %[t2], %[a0]\n\t"
                     "cmp %[x], %[end]\n\t"
                     "bne 1b\n"
                     "7:\n\t"
                     "ldr %[a1], %[dm]\n\t"
                     "ands %[a1], %[a1], #3\n\t"
                     "beq 8f\n"
                     "3:\n\t"
                     "ldrsb %[t2], [%[x]], #1\n\t"
                     "ldrsb %[t], [%[w0]], #1\n\t"
                     "smlabb %[a0], %[t2], %[t], %[a0]\n\t"
                     "subs %[a1], %[a1], #1\n\t"
                     "bne 3b\n"
                     "8:\n\t"
                     FC_REQ(a0, w1, w2)
                     "subs %[a3], %[a3], #1\n\t"
                     "bne 6b\n"
                     "9:"
                     : [w0] "+r"(w), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [x] "=&r"(xp),
                       [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [t] "=&r"(t),
                       [t2] "=&r"(t2), [x02] "=&r"(x02), [x13] "=&r"(x13), [qm] "+m"(q), [om] "+m"(o),
                       [nm] "+m"(left)
                     : [end] "r"(end), [dm] "m"(depth), [xm] "m"(x)
                     : "cc", "memory");
#else
    for (int32_t i = d->out_depth >> 2; i > 0; i--) {
        int32_t acc[4];
        dot4_i8(w, x, depth, acc);
        int32_t v0 = fc_requant(q, acc[0]), v1 = fc_requant(q + 1, acc[1]);
        int32_t v2 = fc_requant(q + 2, acc[2]), v3 = fc_requant(q + 3, acc[3]);
        fc_store(o, v0);
        fc_store(o + 1, v1);
        fc_store(o + 2, v2);
        fc_store(o + 3, v3);
        w += 4 * (size_t)depth, q += 4, o += 4;
    }
    for (int32_t i = d->out_depth & 3; i > 0; i--, w += depth)
        fc_store(o++, fc_requant(q++, dot_i8(w, x, depth)));
#endif
}

/*
 * The reference path, for nodes the fast form does not cover (non-constant
 * weights or bias, weight offsets, activations narrower than int8, left
 * shifts, hostile scales or sums): one channel at a time, TFLite's sum of
 * (w + w_offset) * (x + x_offset) plus bias (uint32: wraps as TFLite's int32
 * does), MultiplyByQuantizedMultiplier and the activation clamp.
 */
static MTF_NOINLINE void fc_ref_rows(const fc_data_t *d, const int8_t *x, int8_t *o)
{
    const int8_t *wr = (const int8_t *)d->weights;
    const fc_chan_t *q = d->chan;
    for (int32_t c = 0; c < d->out_depth; c++, q++) {
        uint32_t acc = d->bias ? fc_ld32(d->bias + 4 * c) : 0u;
        for (int32_t k = 0; k < d->depth; k++)
            acc += (uint32_t)((*wr++ + d->w_offset) * (x[k] + d->in_offset));
        int32_t v = mtf_arith_mul_by_qm((int32_t)acc, (int32_t)((uint32_t)q->m2 >> 1), -q->sh) + d->out_offset;
        v = v < d->act.i[0] ? d->act.i[0] : v;
        *o++ = (int8_t)(v > d->act.i[1] ? d->act.i[1] : v);
    }
}

static mtf_status_t fc_eval(mtf_model_t *m, mtf_node_t *node)
{
    fc_data_t *d = mtf_node_data(node);
    if (!d->kept) {
        /* Weights or bias that are not constant: their data now (prepare kept constant ones). */
        d->weights = mtf_node_input(m, node, 1)->data;
        const mtf_tensor_t *b = mtf_node_input(m, node, 2);
        d->bias = b != NULL ? b->data : NULL;
    }
    /* One batch at a time; is_float is also log2 of the element size in bytes. */
    const uint8_t *x = *d->in_ref;
    uint8_t *o = *d->out_ref;
    for (int32_t b = d->batches; b > 0; b--, x += d->depth << d->is_float, o += d->out_depth << d->is_float) {
        if (d->is_float)
            fc_float_rows(d, x, (float *)(void *)o);
        else if (!d->fast)
            fc_ref_rows(d, (const int8_t *)x, (int8_t *)o);
        else
            fc_rows(d, (const int8_t *)x, (int8_t *)o);
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_fully_connected = {fc_prepare, fc_eval};
