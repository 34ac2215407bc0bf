"""The check that a vectorized func does not mix the points of a batch.

A func written for one point but reducing over the whole array (``np.sum(x)``
without ``axis=0``, ``np.mean(x)``, ``x.max()``) gives every point of a batch a
value that depends on the others, and a derivative from it would be wrong
without a word. The engine (``engine.run``) ends the last call of every
evaluation with an unperturbed copy of x and a sentinel
(:func:`sentinel_direction`); :func:`check_not_mixing` compares the copy's
value with func's value at x alone. Where values are in host memory it raises
a ValueError; elsewhere (a device, Dask, ``jax.jit``) it returns a flag on the
device that the engine turns into NaN results, so that the check never reads
a value on the host.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import _backend
from . import evaluators as _evaluators
from .problem import Problem, machine_eps

__all__ = [
    "EXTRA",
    "SENTINEL",
    "check_not_mixing",
    "may_mix",
    "poisoned",
    "sentinel_direction",
    "values_in_host_memory",
]


#: points added to the last call for the check that func does not mix points: a copy of
#: base point 0, then the sentinel
EXTRA = 2

#: the sentinel's offset from base point 0, per coordinate: SENTINEL * (|x| + 1)
SENTINEL = 0.0625

MESSAGE = (
    "func mixes the points of a batch: its value at an unperturbed copy of x, "
    "evaluated in the batch, differs from its value at x alone. A vectorized func "
    "gets the points side by side (coordinates on axis 0, points on the trailing "
    "axes) and must reduce over the coordinates only: np.sum(x, axis=0), not "
    "np.sum(x), x.max() or np.linalg.norm(x) without axis=0. A func written for "
    "one point works with vectorized=False."
)


def sentinel_direction(problem: Problem) -> np.ndarray:
    """The sentinel's move from base point 0: ``SENTINEL`` times +1 or -1 per coordinate.

    The sentinel is base point 0 moved by ``SENTINEL * (|x| + 1)`` on every
    coordinate: towards the coordinate's side where the caller gave one (it
    stays on the side where func is evaluated anyway); elsewhere up for
    Richardson, whose central points already reach below and above x, and
    down for the forward-only points of "simple" and the complex step, so
    that the batch holds a coordinate below every other (a ``min`` over
    the batch changes) as well as above (``max``). Its moves never cancel:
    it shifts a mean or sum over the batch even where the scheme's points
    are symmetric about x (Richardson's central batch averages back to x).
    Cached per side, method and n (read-only).
    """
    sides = problem.sides if problem.one_sided else None
    return _direction(sides, problem.method == "Richardson", problem.n)


@functools.lru_cache(maxsize=128)
def _direction(sides: tuple[float, ...] | None, up: bool, n: int) -> np.ndarray:
    default = 1.0 if up else -1.0
    if sides is None:
        direction = np.full(n, default * SENTINEL)
    else:
        signs = np.array(sides, dtype=np.float64)
        direction = np.where(np.isnan(signs), default, np.sign(signs)) * SENTINEL
        direction = np.broadcast_to(direction, (n,)).copy()
    direction.flags.writeable = False
    return direction


def may_mix(evaluator: Any) -> bool:
    """Whether func gets several points per call (vectorized), so that it could mix them."""
    return bool(getattr(evaluator, "vectorized", type(evaluator) is not _evaluators.Pointwise))


def values_in_host_memory(x: Any) -> bool:
    """Whether reading a value of ``x`` is a memory read, not a device synchronisation.

    NumPy arrays, PyTorch tensors on the CPU and eager JAX arrays on the CPU:
    function mode never synchronises a device (tests/test_function_no_sync.py),
    so only these raise where func mixes points. CuPy, a GPU's tensors,
    array-api-strict (the tests' stand-in for a device), Dask and ``jax.jit``
    get NaN results instead (:func:`check_not_mixing`).
    """
    if type(x) is np.ndarray:
        return True
    name = _backend.library_name(x)
    if name == "torch":
        return getattr(x.device, "type", None) == "cpu"
    if name == "jax" and not _backend.is_traced(x):
        devices = x.devices() if callable(getattr(x, "devices", None)) else ()
        return bool(devices) and all(d.platform == "cpu" for d in devices)
    return False


def check_not_mixing(xp: Any, problem: Problem, values: Any, count: int, f0: Any) -> tuple:
    """The scheme's values of a call, and whether func gave the copy of x its value at x.

    ``values`` ``(m, count + EXTRA)`` are a call's: the scheme's ``count``,
    then the copy of x's first point's, then the sentinel's (unchecked: it
    is there to shift reductions over the batch); ``f0`` is func at x.
    Returns ``(values[:, :count], mixed)``. An honest vectorized func gives
    each point of a batch the value it gives that point alone, to rounding:
    within sqrt(eps) of the largest value of the call (of ``|f0|`` where
    some value is not finite; a reduction's rounding stays far below that
    even where its terms cancel), finite where f0 is, and non-finite where
    f0 is not; the complex step's copy, a real point, has no imaginary
    part. A func that reduces over the whole array (``np.sum(x)`` without
    ``axis=0``, ``np.mean(x)``, ``x.max()``, ``np.linalg.norm(x)``) gives
    every point a value that depends on the others: a derivative from it
    would be wrong without a word.

    ``mixed`` is None where func does not mix points; where it does and the
    values are in host memory (one scalar read, a memory read:
    :func:`values_in_host_memory`) a ValueError is raised. Elsewhere
    ``mixed`` is a 0-d boolean array on the values' device, true where func
    mixes points, computed without reading it (lazily on Dask, traced under
    ``jax.jit``). On NumPy the common case (the same bits) costs one
    comparison.
    """
    kept = values[:, :count]
    if type(values) is np.ndarray and type(f0) is np.ndarray:
        m = values.shape[0]
        if m == 1:
            if values.item(count) == f0.item(0):
                return kept, None
        elif m <= 16 and f0.ndim == 1:  # a few outputs: Python's floats compare sooner
            if values[:, count].tolist() == f0.tolist():
                return kept, None
        elif (values[:, count] == f0.reshape(m, -1)[:, 0]).all():
            return kept, None
    differs = xp.any(_differs(xp, problem, values, kept, f0))
    if not values_in_host_memory(values):
        return kept, differs
    if bool(differs):  # one scalar read, in host memory
        raise ValueError(MESSAGE)
    return kept, None


def _differs(xp: Any, problem: Problem, values: Any, kept: Any, f0: Any) -> Any:
    """Per output, whether the copy's value differs from f0's beyond rounding: ``(m,)``.

    Finite f0: the copy's value within the tolerance (NaN and inf are not),
    and for the complex step no imaginary part at all. Non-finite f0:
    the copy's value not finite (at NaN f0, nothing is checked: the
    derivative there is NaN anyway).
    """
    copy_value = values[:, kept.shape[1]]
    m = copy_value.shape[0]
    at_x = xp.reshape(f0, (m, -1))[:, 0]
    tolerance = math.sqrt(machine_eps(xp, problem.dtype))
    with np.errstate(all="ignore"):
        scale = xp.abs(at_x)
        if kept.shape[1]:  # else a call of the copy and the sentinel alone
            # reductions, no temporary of the call's values; a row with a value that is not
            # finite falls back to |f0|
            if xp.isdtype(kept.dtype, "complex floating"):
                kept = xp.real(kept)  # the complex step: the values' scale (NumPy: a view)
            largest = xp.maximum(xp.max(kept, axis=1), -xp.min(kept, axis=1))
            scale = xp.where(largest < math.inf, xp.maximum(scale, largest), scale)
        # |copy - f0| <= tol * scale: False for NaN; for inf f0, True only for a finite copy
        close = xp.abs(copy_value - at_x) <= tolerance * scale
        finite = xp.isfinite(at_x)
        differs = close != finite
        if xp.isdtype(copy_value.dtype, "complex floating"):  # a real point's value is real
            differs = differs | (finite & (xp.imag(copy_value) != 0))
        return differs


def poisoned(xp: Any, mixed: Any, results: list) -> list:
    """``results`` NaN where ``mixed`` (a 0-d boolean array): no read, no wrong number."""
    if mixed is None:
        return results
    return [xp.where(mixed, math.nan, r) for r in results]
