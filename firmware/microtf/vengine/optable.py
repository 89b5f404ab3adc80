"""Operators of the pure-MicroPython engine: builtin code -> (name, highest
version, kernel module). The versions are those of firmware/engine/ops.def
(tests/vengine check that they agree); a kernel module's prepare(model, node)
returns an object with bind() (after planning) and eval()."""

# (code, name, max_version, module)
OPS = (
    (0, "ADD", 5, "ops_elem"),
    (1, "AVERAGE_POOL_2D", 3, "ops_pool"),
    (2, "CONCATENATION", 4, "ops_move"),
    (3, "CONV_2D", 6, "ops_conv"),
    (4, "DEPTHWISE_CONV_2D", 7, "ops_conv"),
    (6, "DEQUANTIZE", 5, "ops_simple"),
    (9, "FULLY_CONNECTED", 12, "ops_fc"),
    (14, "LOGISTIC", 3, "ops_act"),
    (17, "MAX_POOL_2D", 3, "ops_pool"),
    (18, "MUL", 6, "ops_elem"),
    (19, "RELU", 3, "ops_relu"),
    (21, "RELU6", 3, "ops_relu"),
    (22, "RESHAPE", 1, "ops_simple"),
    (25, "SOFTMAX", 3, "ops_softmax"),
    (28, "TANH", 3, "ops_act"),
    (34, "PAD", 4, "ops_shape"),
    (40, "MEAN", 3, "ops_pool"),
    (41, "SUB", 5, "ops_elem"),
    (43, "SQUEEZE", 2, "ops_shape"),
    (45, "STRIDED_SLICE", 6, "ops_move"),
    (49, "SPLIT", 4, "ops_shape"),
    (70, "EXPAND_DIMS", 1, "ops_shape"),
    (77, "SHAPE", 1, "ops_shape"),
    (83, "PACK", 3, "ops_shape"),
    (102, "SPLIT_V", 2, "ops_move"),
    (114, "QUANTIZE", 3, "ops_simple"),
    (117, "HARD_SWISH", 1, "ops_relu"),
    (129, "CALL_ONCE", 1, "ops_state"),
    (142, "VAR_HANDLE", 1, "ops_state"),
    (143, "READ_VARIABLE", 1, "ops_state"),
    (144, "ASSIGN_VARIABLE", 1, "ops_state"),
)

# TFLite BuiltinOperator names 0..161, for messages about operators this engine lacks.
_NAMES = (
    "ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE "
    "EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D "
    "LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6 "
    "RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM "
    "EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND "
    "TRANSPOSE MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN "
    "EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX "
    "MINIMUM LESS NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV "
    "SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT "
    "REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV "
    "REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU "
    "SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU "
    "REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE "
    "NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL "
    "PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG REAL COMPLEX_ABS "
    "HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE "
    "READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM "
    "MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX "
    "UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR RIGHT_SHIFT "
)


def op_name(code):
    names = _NAMES.split()
    return names[code] if 0 <= code < len(names) else "UNKNOWN"


def kernel_for(code, version):
    """The prepare function for code and version, or None when unsupported."""
    for c, name, max_version, module in OPS:
        if c == code:
            if version < 1 or version > max_version:
                return None
            mod = __import__("microtf.vengine." + module, None, None, (module,))
            return getattr(mod, "prepare_" + name.lower())
    return None
