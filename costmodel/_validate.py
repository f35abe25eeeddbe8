"""Input checks and coercions, in one place, for every layer of the package.

Public functions call these at their boundary and then private kernels that
never check again, so one call validates each input once. Every error is a
``ValueError`` that names the argument the user passed and its value.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from .architecture import Architecture
from .catalog import Hardware, load_hardware, load_model
from .dtypes import canonical_dtype

__all__ = ["ArchLike", "HardwareLike", "ArrayLike", "MAX_SIZE", "as_arch", "as_hardware", "size", "fraction",
           "flag", "dtype", "broadcast"]

#: An :class:`Architecture` or the id of a catalog model.
ArchLike = Union[Architecture, str]
#: A :class:`Hardware` or the id of a catalog device.
HardwareLike = Union[Hardware, str]
#: A number or an array of numbers (numpy broadcasting applies).
ArrayLike = npt.ArrayLike

#: Largest workload size accepted (tokens, batch, context...): 1e15 covers a
#: 15e12-token training run; beyond it an input is surely a mistake and
#: products would overflow float64.
MAX_SIZE = 1e15

_NUMERIC_KINDS = "iuf"


def as_arch(value: Any, name: str = "arch") -> Architecture:
    """An :class:`Architecture`, or the catalog model a string names."""
    if isinstance(value, Architecture):
        return value
    if isinstance(value, str):
        return load_model(value)
    raise ValueError(f"{name}={value!r} must be an Architecture or a catalog model id (costmodel.list_models())")


def as_hardware(value: Any, name: str = "hardware") -> Hardware:
    """A :class:`Hardware`, or the catalog device a string names."""
    if isinstance(value, Hardware):
        return value
    if isinstance(value, str):
        return load_hardware(value)
    raise ValueError(f"{name}={value!r} must be a Hardware or a catalog hardware id (costmodel.list_hardware())")


def _as_float_array(name: str, value: Any) -> np.ndarray:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} must be a number, not a boolean")
    if isinstance(value, np.ma.MaskedArray):
        raise ValueError(f"{name} is a masked array; pass plain numbers (fill or drop the masked values)")
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name}={value!r} must be a number, not a string")
    if isinstance(value, numbers.Integral) and abs(int(value)) > MAX_SIZE:
        raise ValueError(f"{name}={value} exceeds the largest accepted value {MAX_SIZE:g}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name}={value!r} must be a number or an array of numbers") from None
    if raw.dtype.kind == "b":
        raise ValueError(f"{name}={value!r} must be numbers, not booleans")
    if raw.dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(f"{name}={value!r} must be a number or an array of numbers (got {raw.dtype})")
    return raw.astype(np.float64)


# Plain scalars take a path without array reductions (the point API calls
# ``size`` a few times per call); it applies the same checks in the same
# order and raises the same messages as the array path below.
_SCALAR_TYPES = frozenset({int, float, np.float64, np.float32, np.int64, np.int32})


def _scalar_size(name: str, value: Any, minimum: float, integer: bool, maximum: float) -> np.ndarray:
    if type(value) in (int, np.int64, np.int32) and abs(int(value)) > MAX_SIZE:
        raise ValueError(f"{name}={value} exceeds the largest accepted value {MAX_SIZE:g}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name}={value!r} must be finite (got NaN or infinity)")
    if v < minimum:
        raise ValueError(f"{name}={v:g} must be at least {minimum:g}")
    if v > maximum:
        raise ValueError(f"{name}={v:g} exceeds the largest accepted value {maximum:g}")
    if integer and not v.is_integer():
        raise ValueError(f"{name}={v:g} must be a whole number")
    return np.array(v)


def size(name: str, value: Any, *, minimum: float = 0.0, integer: bool = False,
         maximum: float = MAX_SIZE) -> np.ndarray:
    """A workload size as float64: finite, in [minimum, maximum], whole when ``integer``."""
    if type(value) in _SCALAR_TYPES:
        return _scalar_size(name, value, minimum, integer, maximum)
    a = _as_float_array(name, value)
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}={value!r} must be finite (got NaN or infinity)")
    if np.any(a < minimum):
        raise ValueError(f"{name}={a[a < minimum].flat[0]:g} must be at least {minimum:g}")
    if np.any(a > maximum):
        raise ValueError(f"{name}={a[a > maximum].flat[0]:g} exceeds the largest accepted value {maximum:g}")
    if integer and np.any(a != np.round(a)):
        raise ValueError(f"{name}={a[a != np.round(a)].flat[0]:g} must be a whole number")
    return a


def fraction(name: str, value: Any) -> np.ndarray:
    """A fraction in (0, 1] (an efficiency)."""
    a = size(name, value, maximum=1.0)
    if (a <= 0) if a.ndim == 0 else np.any(a <= 0):
        raise ValueError(f"{name}={value!r} must be in (0, 1]")
    return a


def flag(name: str, value: Any) -> bool:
    """A boolean switch: ``True`` or ``False`` only (not 0, 2, None or an array)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name}={value!r} must be True or False")


def dtype(name: str, value: Any) -> str:
    """The canonical name of a numeric format (``"bfloat16"`` -> ``"bf16"``)."""
    return canonical_dtype(value, name)


def broadcast(**arrays: np.ndarray) -> tuple[int, ...]:
    """The common shape of named arrays; a mismatch names the arguments."""
    try:
        return np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"arguments of incompatible shapes: {shapes} (numpy broadcasting rules)") from None
