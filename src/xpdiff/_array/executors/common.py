"""What the executors share: promotion as NumPy 2 does it, slices along an axis."""

from __future__ import annotations

import math
from typing import Any


def is_weak(weight: object) -> bool:
    """Python numbers take the data's precision (NumPy 2's weak scalars); NumPy's do not."""
    return type(weight) in (int, float, complex)


def typed_weight_dtypes(region: Any) -> list:
    """The dtypes of ``region``'s weights that take part in promotion (not weak numbers)."""
    if region.kind == "difference":
        return [] if is_weak(region.divisor) else [region.divisor.dtype]
    if region.lazy_weights is not None:
        return [region.weight_dtype]
    return [t.weight.dtype for t in region.terms if t.weight is not None and not is_weak(t.weight)]


def work_dtype(xp: Any, data_dtype: Any, region: Any) -> Any:
    """The dtype NumPy 2 computes ``region``'s formula in, from the data and typed weights."""
    dtype = data_dtype
    typed = typed_weight_dtypes(region)
    promoted: list = []  # each distinct dtype once (per-row weights: one per term)
    for weight_dtype in typed:
        if weight_dtype != data_dtype and weight_dtype not in promoted:
            promoted.append(weight_dtype)
            dtype = xp.result_type(dtype, weight_dtype)
    return dtype


def half_rounded_once(xp: Any, x: Any) -> Any:
    """float64 ``x`` in float16, rounded once to nearest even, as NumPy converts.

    PyTorch and JAX convert float64 to float16 through float32 and round twice:
    where the float32 value falls on a midpoint of two float16 numbers that x
    is not on, the tie goes to the even one, one unit in the last place from
    NumPy's. Rounding to float32 "to odd" first (an inexact float32 value with
    an even significand is replaced by its neighbour toward x, which is odd)
    keeps the information of the second rounding, which is then right. A
    significand is odd where the number does not fit in 23 bits (Veltkamp's
    split in float64: ``c - (c - x)`` with ``c = (2**30 + 1) x``).
    """
    f32 = xp.float32
    x32 = xp.astype(x, f32)
    back = xp.astype(x32, x.dtype)
    toward = xp.astype(xp.where(x > back, math.inf, -math.inf), f32)
    c = back * (2.0**30 + 1.0)
    odd = (c - (c - back)) != back
    inexact = (back != x) & xp.isfinite(back)
    return xp.astype(xp.where(inexact & ~odd, xp.nextafter(x32, toward), x32), xp.float16)


def take_rows(x: Any, axis: int, start: int, stop: int) -> Any:
    """``x[..., start:stop, ...]`` along ``axis`` (later axes by an ellipsis)."""
    lead = _LEADING[axis] if axis < len(_LEADING) else (slice(None),) * axis
    index = (*lead, slice(start, stop), Ellipsis)
    return x[index]


#: ``(slice(None),) * axis`` for the first axes: an index costs one tuple concatenation
_LEADING = tuple((slice(None),) * axis for axis in range(32))


def along(xp: Any, weight: Any, ndim: int, axis: int) -> Any:
    """A 1-d array of per-row weights, shaped to broadcast along ``axis``."""
    if ndim == 1 or getattr(weight, "ndim", 0) != 1:
        return weight  # a scalar, or per-row weights of 1-d data: shaped already
    shape = [1] * ndim
    shape[axis] = -1
    return xp.reshape(weight, tuple(shape))
