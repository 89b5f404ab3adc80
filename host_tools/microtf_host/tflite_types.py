"""TFLite TensorType numbers and their numpy and engine names."""

from __future__ import annotations

import numpy as np

# TFLite schema TensorType -> (name, numpy dtype or None)
TENSOR_TYPES: dict[int, tuple[str, type | None]] = {
    0: ("float32", np.float32),
    1: ("float16", np.float16),
    2: ("int32", np.int32),
    3: ("uint8", np.uint8),
    4: ("int64", np.int64),
    5: ("string", None),
    6: ("bool", np.bool_),
    7: ("int16", np.int16),
    9: ("int8", np.int8),
    10: ("float64", np.float64),
    13: ("resource", None),
    14: ("variant", None),
    15: ("uint32", np.uint32),
    16: ("uint16", np.uint16),
    17: ("int4", None),
}


def type_name(code: int) -> str:
    return TENSOR_TYPES.get(code, (f"type{code}", None))[0]


def numpy_dtype(code: int) -> type:
    dtype = TENSOR_TYPES.get(code, ("", None))[1]
    if dtype is None:
        raise ValueError(f"tensor type {type_name(code)} has no numpy equivalent")
    return dtype
