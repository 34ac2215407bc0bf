"""The generic executor: a plan carried out with the Array API standard alone.

Each region is computed with slices and arithmetic, each part cast once to
the output dtype, and the parts joined with ``concat``: nothing is written
in place, so read-only NumPy arrays, JAX (also under ``jax.jit``), PyTorch,
array-api-strict and Dask (lazily) all work. Operands are promoted
explicitly to NumPy 2's result dtype, so that libraries that promote 0-d
arrays differently (PyTorch) compute the same numbers.
"""

from __future__ import annotations

from typing import Any

from ... import _backend
from .common import along, half_rounded_once, is_weak, take_rows, work_dtype

__all__ = ["apply"]


def region_values(xp: Any, f: Any, axis: int, region: Any) -> Any:
    """One region's values, in its work dtype."""
    rows = region.rows
    sources = [take_rows(f, axis, term.start, term.start + rows) for term in region.terms]
    work = work_dtype(xp, f.dtype, region)
    if region.kind == "difference":
        difference = sources[0] - sources[1]  # in the data's dtype, as numpy.gradient does
        divisor = region.divisor
        if not is_weak(divisor):
            difference = _as(xp, difference, work)
            divisor = _as(xp, divisor, work)
        elif type(divisor) is float and divisor == 1.0:
            return difference  # x / 1.0 is x, to the bit: one operation fewer
        return difference / _half_weak(xp, divisor, work, f)
    if region.kind == "pairs":
        return _pairs(xp, region, sources, work, f.ndim, axis)
    total = None
    for weight, source in zip(region.weights(), sources, strict=True):
        if not is_weak(weight):
            weight = _as(xp, along(xp, weight, f.ndim, axis), work)
            source = _as(xp, source, work)
        product = _half_weak(xp, weight, work, f) * source
        total = product if total is None else total + product
    return total


def _pairs(xp: Any, region: Any, sources: Any, work: Any, ndim: Any, axis: Any) -> Any:
    """``w_1 (s0 +- s1) + w_2 (s2 +- s3) + ... [+ w_0 s_centre]`` (see ``Region``)."""
    weights = region.weights()
    total = None
    for k in range(0, len(sources) - 1, 2):
        pair = sources[k] - sources[k + 1] if region.sign < 0 else sources[k] + sources[k + 1]
        term = _times(xp, weights[k], pair, work, sources[k])
        total = term if total is None else total + term
    if len(sources) % 2:
        total = total + _times(xp, weights[-1], sources[-1], work, sources[-1])
    return total


def _times(xp: Any, weight: Any, values: Any, work: Any, like: Any) -> Any:
    if is_weak(weight):
        return _half_weak(xp, weight, work, like) * values
    return _as(xp, weight, work) * _as(xp, values, work)


def _half_weak(xp: Any, weight: Any, work: Any, like: Any) -> Any:
    """A weak Python number as NumPy uses it with float16 data: rounded to float16 first.

    NumPy 2 takes a Python float into float16 arithmetic as a float16; PyTorch
    keeps it in float32 (its arithmetic type for float16), which rounds
    differently (``f / 0.1``). A float16 0-d array of the number gives NumPy's
    bits everywhere; other dtypes keep the number as it is.
    """
    if not is_weak(weight) or work != getattr(xp, "float16", None):  # array-api-strict has none
        return weight
    return xp.asarray(weight, dtype=work, device=_backend.device_of(like))


def _as(xp: Any, x: Any, dtype: Any) -> Any:
    """``x`` in ``dtype``: itself where it has it already (no call into the library);
    float64 to float16 rounded once, as NumPy does (:func:`half_rounded_once`)."""
    if x.dtype == dtype:
        return x
    if dtype == getattr(xp, "float16", None) and x.dtype == xp.float64:
        return half_rounded_once(xp, x)
    return xp.astype(x, dtype, copy=False)


def apply(xp: Any, f: Any, plan: Any, out_dtype: Any, like: Any = None) -> Any:
    """``plan`` carried out on ``f``: an array of ``f``'s shape in ``out_dtype``."""
    parts = [
        _as(xp, region_values(xp, f, plan.axis, region), out_dtype) for region in plan.regions
    ]
    result = parts[0] if len(parts) == 1 else xp.concat(parts, axis=plan.axis)
    return _backend.match_layout(result, f if like is None else like)
