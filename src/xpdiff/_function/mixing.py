"""The check that a vectorized func does not mix the points of a batch.

A func written for one point but reducing over the whole array (``np.sum(x)``
without ``axis=0``, ``np.mean(x)``, ``x.max()``) gives every point of a batch a
value that depends on the others, and a derivative from it would be wrong
without a word. The last call of a derivative ends with an unperturbed copy of
x and a sentinel (:func:`sentinel_direction`); :func:`check_not_mixing`
compares the copy's value with func's value at x alone.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _backend
from . import evaluators as _evaluators
from .problem import machine_eps

__all__ = ["EXTRA", "SENTINEL", "check_not_mixing", "may_mix", "sentinel_direction"]


#: points added to the last call for the check that func does not mix points: a copy of
#: base point 0, then the sentinel
EXTRA = 2

#: the sentinel's offset from base point 0, per coordinate: SENTINEL * (|x| + 1)
SENTINEL = 0.0625


def sentinel_direction(problem) -> np.ndarray:
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
    """
    sides = np.array(problem.sides, dtype=np.float64)
    default = 1.0 if problem.method == "Richardson" else -1.0
    sides = np.where(np.isnan(sides), default, np.sign(sides))
    return np.broadcast_to(sides * SENTINEL, (problem.n,))


def may_mix(evaluator, x=None) -> bool:
    """Whether func gets several points per call (vectorized), so that it could mix them.

    With ``x``: and whether the check can look at values without a device
    synchronisation (see :func:`values_in_host_memory`).
    """
    if x is not None and not values_in_host_memory(x):
        return False
    return getattr(evaluator, "vectorized", type(evaluator) is not _evaluators.Pointwise)


def values_in_host_memory(x) -> bool:
    """Whether reading a value of ``x`` is a memory read, not a device synchronisation.

    NumPy arrays, PyTorch tensors on the CPU and eager JAX arrays on the CPU:
    function mode never synchronises a device (tests/test_function_no_sync.py),
    so the check that func does not mix points runs only on these. CuPy, a GPU's
    tensors, array-api-strict (the tests' stand-in for a device), Dask and
    ``jax.jit`` are not checked.
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


def check_not_mixing(xp, problem, values, f0) -> None:
    """ValueError if func's value at the batch's copy of x is not its value at x alone.

    ``values`` ``(m, points)`` are a call's, the copy of base point 0's the
    last but one (the last is the sentinel's, unchecked: it is there to
    shift reductions over the batch). An honest vectorized func gives each
    point of a batch the value it gives that point alone (to rounding:
    sqrt(eps) of the largest value of the call, which a reduction's
    rounding stays far below even where its terms cancel, and the same
    finiteness; the complex step's copy, a real point, must have no
    imaginary part). A func that reduces over the whole array
    (``np.sum(x)`` without ``axis=0``, ``np.mean(x)``, ``x.max()``,
    ``np.linalg.norm(x)``) gives every point a value that depends on the
    others: a derivative from it would be wrong without a word. Off NumPy
    (PyTorch and JAX on the CPU: :func:`values_in_host_memory`), the answer
    is one scalar read per derivative, a memory read.
    """
    copy_value = values[:, -EXTRA]
    at_x = xp.reshape(f0, (copy_value.shape[0], -1))[:, 0]
    numpy = type(values) is np.ndarray
    if numpy and (copy_value == at_x).all():  # the common case: the same bits
        return
    eps = machine_eps(xp, problem.dtype)
    kept = values[:, : values.shape[1] - EXTRA + 1]  # the sentinel's value is not the scale
    with np.errstate(all="ignore"):
        finite = xp.isfinite(at_x)
        differs = finite != xp.isfinite(copy_value)
        if xp.isdtype(copy_value.dtype, "complex floating"):
            differs = differs | (finite & (xp.imag(copy_value) != 0))
            copy_value = xp.real(copy_value)
            kept = xp.real(kept)
        absolute = xp.where(xp.isfinite(kept), xp.abs(kept), 0.0)
        scale = xp.maximum(xp.abs(at_x), xp.max(absolute, axis=1))
        gap = xp.abs(copy_value - at_x)
        differs = differs | (finite & (gap > math.sqrt(eps) * scale))
        if not bool(xp.any(differs)):  # one scalar read, in host memory
            return
    raise ValueError(
        "func mixes the points of a batch: its value at an unperturbed copy of x, "
        "evaluated in the batch, differs from its value at x alone. A vectorized func "
        "gets the points side by side (coordinates on axis 0, points on the trailing "
        "axes) and must reduce over the coordinates only: np.sum(x, axis=0), not "
        "np.sum(x), x.max() or np.linalg.norm(x) without axis=0. A func written for "
        "one point works with vectorized=False."
    )
