"""Numeric formats: their storage size and the names they go by.

Storage sizes are exact (int4 = 0.5 byte, not ``4 // 8 == 0``). ``tf32`` is a
compute mode of fp32 tensor cores: it is stored in 4 bytes. Both tables are
read-only: every caller in the process shares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["DTYPES", "canonical_dtype", "bytes_per_element"]

#: canonical name -> bytes per element (read-only)
DTYPES: Mapping[str, float] = MappingProxyType({
    "fp64": 8.0,
    "fp32": 4.0,
    "tf32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "fp4": 0.5,
    "int4": 0.5,
})

_ALIASES: Mapping[str, str] = MappingProxyType({
    "float64": "fp64",
    "double": "fp64",
    "float32": "fp32",
    "float": "fp32",
    "bfloat16": "bf16",
    "float16": "fp16",
    "half": "fp16",
    "fp8_e4m3": "fp8",
    "fp8_e5m2": "fp8",
    "e4m3": "fp8",
    "e5m2": "fp8",
    "float8": "fp8",
    "nf4": "int4",
    "q4": "int4",
    "q8": "int8",
    "uint8": "int8",
    "mxfp4": "fp4",
    "nvfp4": "fp4",
})


def canonical_dtype(dtype: str, field: str = "dtype") -> str:
    """The canonical name of a numeric format (``"bfloat16"`` -> ``"bf16"``).

    Raises ``ValueError`` naming ``field`` and the value for an unknown name.
    Defined in :ref:`sec_memory`.
    """
    if not isinstance(dtype, str):
        raise ValueError(f"{field}={dtype!r}: expected a dtype name such as 'bf16', got {type(dtype).__name__}")
    key = dtype.strip().lower().replace("torch.", "")
    key = _ALIASES.get(key, key)
    if key not in DTYPES:
        known = ", ".join(sorted(DTYPES))
        raise ValueError(f"{field}={dtype!r} is not a known dtype; known: {known} (and aliases such as bfloat16, float16, nf4)")
    return key


def bytes_per_element(dtype: str, field: str = "dtype") -> float:
    """Bytes one element of ``dtype`` occupies in memory. Defined in :ref:`sec_memory`."""
    return DTYPES[canonical_dtype(dtype, field)]
