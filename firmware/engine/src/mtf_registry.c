/*
 * mtf_registry.c - the kernel table, built from ops.def.
 *
 * Each kernel is referenced WEAKLY: a build that leaves out ops/<kernel>.c
 * still links, the missing kernel's address is NULL, and models using it are
 * refused as unsupported. This is also how a board picks its operator set:
 * it compiles only the operator files it wants.
 */
#include "mtf_arena.h"

#if defined(__GNUC__) || defined(__clang__)
#define MTF_WEAK __attribute__((weak))
#else
#error "microtf needs weak symbols (gcc or clang) to build partial operator sets"
#endif

#define MTF_OP(name, code, max_version, kernel) extern const mtf_kernel_t mtf_kernel_##kernel MTF_WEAK;
#include "../ops.def"
#undef MTF_OP

#ifndef MTF_OP_NAMES
#define MTF_OP_NAMES 1 /* names of operators the engine lacks, for messages (about 2 KB) */
#endif

typedef struct {
    int16_t code;
    uint8_t max_version;
#if !MTF_OP_NAMES
    const char *name; /* with MTF_OP_NAMES, all_names below has every name */
#endif
    const mtf_kernel_t *kernel;
} mtf_op_entry_t;

static const mtf_op_entry_t ops[] = {
#if MTF_OP_NAMES
#define MTF_OP(name, code, max_version, kernel) {code, max_version, &mtf_kernel_##kernel},
#else
#define MTF_OP(name, code, max_version, kernel) {code, max_version, #name, &mtf_kernel_##kernel},
#endif
#include "../ops.def"
#undef MTF_OP
};

#if MTF_OP_NAMES
/* TFLite BuiltinOperator names 0..161, NUL-separated, in code order. */
static const char all_names[] =
    "ADD\0AVERAGE_POOL_2D\0CONCATENATION\0CONV_2D\0DEPTHWISE_CONV_2D\0DEPTH_TO_SPACE\0DEQUANTIZE\0"
    "EMBEDDING_LOOKUP\0FLOOR\0FULLY_CONNECTED\0HASHTABLE_LOOKUP\0L2_NORMALIZATION\0L2_POOL_2D\0"
    "LOCAL_RESPONSE_NORMALIZATION\0LOGISTIC\0LSH_PROJECTION\0LSTM\0MAX_POOL_2D\0MUL\0RELU\0"
    "RELU_N1_TO_1\0RELU6\0RESHAPE\0RESIZE_BILINEAR\0RNN\0SOFTMAX\0SPACE_TO_DEPTH\0SVDF\0TANH\0"
    "CONCAT_EMBEDDINGS\0SKIP_GRAM\0CALL\0CUSTOM\0EMBEDDING_LOOKUP_SPARSE\0PAD\0"
    "UNIDIRECTIONAL_SEQUENCE_RNN\0GATHER\0BATCH_TO_SPACE_ND\0SPACE_TO_BATCH_ND\0TRANSPOSE\0MEAN\0"
    "SUB\0DIV\0SQUEEZE\0UNIDIRECTIONAL_SEQUENCE_LSTM\0STRIDED_SLICE\0BIDIRECTIONAL_SEQUENCE_RNN\0"
    "EXP\0TOPK_V2\0SPLIT\0LOG_SOFTMAX\0DELEGATE\0BIDIRECTIONAL_SEQUENCE_LSTM\0CAST\0PRELU\0MAXIMUM\0"
    "ARG_MAX\0MINIMUM\0LESS\0NEG\0PADV2\0GREATER\0GREATER_EQUAL\0LESS_EQUAL\0SELECT\0SLICE\0SIN\0"
    "TRANSPOSE_CONV\0SPARSE_TO_DENSE\0TILE\0EXPAND_DIMS\0EQUAL\0NOT_EQUAL\0LOG\0SUM\0SQRT\0RSQRT\0"
    "SHAPE\0POW\0ARG_MIN\0FAKE_QUANT\0REDUCE_PROD\0REDUCE_MAX\0PACK\0LOGICAL_OR\0ONE_HOT\0"
    "LOGICAL_AND\0LOGICAL_NOT\0UNPACK\0REDUCE_MIN\0FLOOR_DIV\0REDUCE_ANY\0SQUARE\0ZEROS_LIKE\0FILL\0"
    "FLOOR_MOD\0RANGE\0RESIZE_NEAREST_NEIGHBOR\0LEAKY_RELU\0SQUARED_DIFFERENCE\0MIRROR_PAD\0ABS\0"
    "SPLIT_V\0UNIQUE\0CEIL\0REVERSE_V2\0ADD_N\0GATHER_ND\0COS\0WHERE\0RANK\0ELU\0REVERSE_SEQUENCE\0"
    "MATRIX_DIAG\0QUANTIZE\0MATRIX_SET_DIAG\0ROUND\0HARD_SWISH\0IF\0WHILE\0NON_MAX_SUPPRESSION_V4\0"
    "NON_MAX_SUPPRESSION_V5\0SCATTER_ND\0SELECT_V2\0DENSIFY\0SEGMENT_SUM\0BATCH_MATMUL\0"
    "PLACEHOLDER_FOR_GREATER_OP_CODES\0CUMSUM\0CALL_ONCE\0BROADCAST_TO\0RFFT2D\0CONV_3D\0IMAG\0"
    "REAL\0COMPLEX_ABS\0HASHTABLE\0HASHTABLE_FIND\0HASHTABLE_IMPORT\0HASHTABLE_SIZE\0REDUCE_ALL\0"
    "CONV_3D_TRANSPOSE\0VAR_HANDLE\0READ_VARIABLE\0ASSIGN_VARIABLE\0BROADCAST_ARGS\0"
    "RANDOM_STANDARD_NORMAL\0BUCKETIZE\0RANDOM_UNIFORM\0MULTINOMIAL\0GELU\0DYNAMIC_UPDATE_SLICE\0"
    "RELU_0_TO_1\0UNSORTED_SEGMENT_PROD\0UNSORTED_SEGMENT_MAX\0UNSORTED_SEGMENT_SUM\0ATAN2\0"
    "UNSORTED_SEGMENT_MIN\0SIGN\0BITCAST\0BITWISE_XOR\0RIGHT_SHIFT\0"
    ;
#endif

const char *mtf_op_name(int32_t code)
{
#if MTF_OP_NAMES
    /* Skip code names; the string ends with an empty one (its final NUL). */
    const char *p = all_names;
    for (int32_t c = 0; c < code && *p; c++)
        while (*p++)
            ;
    if (code >= 0 && *p)
        return p;
#else
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].code == code)
            return ops[i].name;
#endif
    return "UNKNOWN";
}

int mtf_find_kernel(int32_t code, int32_t version)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (ops[i].code == code) {
            /* Every kernel defines both functions: a present one is usable. */
            return version >= 1 && version <= ops[i].max_version && ops[i].kernel != NULL ? (int)i : -1;
        }
    }
    return -2;
}

const mtf_kernel_t *mtf_kernel_at(int index)
{
    return ops[index].kernel;
}
