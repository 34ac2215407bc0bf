"""What the executors share: promotion as NumPy 2 does it, slices along an axis."""

from __future__ import annotations

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
