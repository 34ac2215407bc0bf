"""The check that a vectorized func does not mix the points of a batch.

A func written for one point but reducing over the whole array (``np.sum(x)``
without ``axis=0``, ``np.mean(x)``, ``x.max()``) gives every point of a batch a
value that depends on the others, and a derivative from it would be wrong
without a word. The engine (``engine.run``) ends the last call of every
evaluation with an unperturbed copy of x and a sentinel
(:func:`sentinel_direction`); :func:`check_not_mixing` compares the copy's
value with func's value at x alone. Where values are in host memory it raises
a ValueError, unless func at x once more gives another value that explains the
difference (a noisy func, :func:`noise_explains`); elsewhere (a device, Dask,
``jax.jit``) it returns a flag on the device that the engine turns into NaN
results, so that the check never reads a value on the host.

A func that passed the check in host memory, on a call that held all of a
derivative's points, is remembered (``passes``) with the kind of call it passed
on, and the same func on the same kind of call is not checked again: an
optimizer's loop pays for the two points once.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import _backend
from . import evaluators as _evaluators
from .problem import Problem, at_x, machine_eps

__all__ = [
    "EXTRA",
    "MESSAGE",
    "SENTINEL",
    "check_not_mixing",
    "copy_differs",
    "direction_for",
    "may_mix",
    "noise_explains",
    "output_scale",
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
    sides = problem.sides if problem.one_sided else None  # known: no pass over n sides
    return _direction(sides, problem.method == "Richardson", problem.n)


def direction_for(sides: tuple[float, ...], method: str, n: int) -> np.ndarray:
    """:func:`sentinel_direction` for the checked ``sides`` (NaN, +1 or -1 per
    coordinate) and ``method`` of a call with n coordinates (as_jax's and as_torch's
    batches, whose problem is not set up)."""
    one_sided = any(not math.isnan(s) for s in sides)
    return _direction(sides if one_sided else None, method == "Richardson", n)


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
    f0 is not; the complex step's copy, a real point, has an imaginary part
    within sqrt(eps) of the step's signal (rounding of complex arithmetic that
    is larger would be in the derivative). In host memory, a difference is
    looked at once more: for the complex step, func at x + 0i alone (its complex
    arithmetic may round the real part otherwise: not mixing where the copy has
    that value, but an imaginary part beyond the tolerance is refused with
    :data:`COMPLEX_ROUNDING`); else func at x, whose own noise may explain it
    (:func:`noise_explains`). A func that reduces over the whole array (``np.sum(x)`` without
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
    if values.shape[0] == 0:  # a func without outputs mixes nothing
        return kept, None
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
    per_output = _differs(xp, problem, values, kept, f0)
    differs = xp.any(per_output)
    if not values_in_host_memory(values):
        return kept, differs
    if not bool(differs):
        return kept, None
    copy_value = values[:, count]
    if xp.isdtype(copy_value.dtype, "complex floating"):
        # the copy is x in complex arithmetic, which may round otherwise than real
        # arithmetic (NumPy's complex log1p(1e-12 + 0j) is 9e-5 off its real one): func
        # at x + 0i alone, and the copy within the tolerance of it, imaginary part too
        alone = _value_again(xp, problem, complex_point=True)
        if alone is not None and not bool(xp.any(_differs(xp, problem, values, kept, alone))):
            _refuse_imaginary_part(xp, problem, values, kept, f0)
            return kept, None
    again = _value_again(xp, problem)
    scale = output_scale(xp, kept, xp.reshape(f0, (values.shape[0], -1))[:, 0])
    if again is None or not noise_explains(xp, copy_value, f0, again, per_output, scale):
        raise ValueError(MESSAGE)
    _refuse_imaginary_part(xp, problem, values, kept, f0)  # noise excuses no imaginary part
    return kept, None


COMPLEX_ROUNDING = (
    "method 'complex' needs a func whose complex arithmetic keeps a real point real: at the "
    "real point x, in complex arithmetic, func has the imaginary part {imag:.3g}, where the "
    "step's largest signal Im f(x + ih) is {signal:.3g} (h the machine epsilon): the "
    "derivative would carry that rounding (a power or function computed through exp and "
    "log does this, as CuPy's complex power does). Use method 'Richardson', or operations "
    "exact in complex arithmetic (p * p * p for p**3)."
)


def _refuse_imaginary_part(xp: Any, problem: Problem, values: Any, kept: Any, f0: Any) -> None:
    """Host memory, the complex step, func not mixing points: a ValueError where func at
    the real point x has an imaginary part beyond the tolerance of the step's signal
    (:func:`_imaginary_parts`), where f0 is finite. Off the host :func:`_differs` flags
    it, and the results are NaN."""
    copy_value = values[:, kept.shape[1]]
    if not xp.isdtype(copy_value.dtype, "complex floating"):
        return
    m = copy_value.shape[0]
    imag, allowed = _imaginary_parts(xp, problem, kept, copy_value, None)
    finite = xp.isfinite(xp.reshape(f0, (m, -1))[:, 0])
    with np.errstate(all="ignore"):
        beyond = finite & (imag > allowed)
        if bool(xp.any(beyond)):
            worst = float(xp.max(xp.where(beyond, imag, 0.0)))
            signal = float(xp.max(xp.where(beyond, allowed, 0.0)))
            signal /= math.sqrt(machine_eps(xp, problem.dtype))
            raise ValueError(COMPLEX_ROUNDING.format(imag=worst, signal=signal))


def _imaginary_parts(
    xp: Any, problem: Problem, kept: Any, copy_value: Any, reference: Any
) -> tuple[Any, Any]:
    """The complex step: per output, ``|Im copy - Im reference|`` (``reference`` None: 0)
    and what it may be: sqrt(eps) times the largest ``|Im f(x + ih)|`` of the call, the
    step's signal ``h |f'|`` (an honest func in exact complex arithmetic has none at the
    real point; one that rounds it off the axis by that much gives derivatives off by as
    much; 0 where the call holds no other value)."""
    imag = xp.imag(copy_value)
    if reference is not None and xp.isdtype(reference.dtype, "complex floating"):
        imag = imag - xp.imag(reference)
    with np.errstate(all="ignore"):
        if kept.shape[1]:
            signal = xp.max(xp.abs(xp.imag(kept)), axis=1)
        else:
            signal = xp.zeros_like(xp.abs(imag))
        return xp.abs(imag), math.sqrt(machine_eps(xp, problem.dtype)) * signal


#: how many times the difference of func's two values at x the copy's value may differ
NOISE_FACTOR = 100.0


def _value_again(xp: Any, problem: Problem, *, complex_point: bool = False) -> Any:
    """Host memory, after the check failed: func at x once more, on the points of the
    first time (``complex_point``: at x + 0i, in complex arithmetic), ``(m, ...)``, or
    None where that x is not known. The call counts in ``ncalls``, not in ``nfev`` (the
    derivative's points)."""
    evaluator = problem.evaluator
    x = evaluator.x_of_value
    if x is None:
        return None
    nfev = evaluator.nfev
    if complex_point:
        x = xp.astype(x, _backend.complex_dtype(xp, x.dtype))
    # in the calls of the first time (max_batch): a func that mixes the points of a call
    # gives x the same values again, not another mix taken for noise
    again = at_x(xp, problem, x)
    evaluator.nfev = nfev
    return again


def noise_explains(
    xp: Any, copy_value: Any, f0: Any, again: Any, differs: Any, scale: Any
) -> bool:
    """Whether func's own noise explains the copy's difference (host memory, after the
    check failed on the outputs ``differs``): ``again`` is func at x once more
    (:func:`_value_again`), ``copy_value`` ``(m,)`` the copy's value in the batch. A
    func that gives x the same value twice mixes points; a noisy one (a simulation)
    passes where the copy's value is within ``NOISE_FACTOR`` times the noise of its
    output: the two values' difference there, or for a noisy output the median such
    difference of the noisy outputs relative to their ``scale`` (:func:`output_scale`:
    a residual near 0 at x is measured against its values in the batch), times its
    scale (beyond the tolerance: a noisy func that also mixes points, by less, passes;
    an output whose two values agree gets no allowance). Pooled over the outputs: for m
    outputs of independent noise, one copy beyond 100 times its own output's difference
    is likely at large m (about 0.6% per output: 44 of 100 funcs with 100 outputs and a
    noise of 1e-6 were refused)."""
    m = copy_value.shape[0]
    at_x = xp.reshape(f0, (m, -1))[:, 0]
    with np.errstate(all="ignore"):
        noise = xp.abs(xp.reshape(again, (m, -1))[:, 0] - at_x)
        if not bool(xp.any(noise > 0)):
            return False  # the same value twice: the copy's difference is mixing
        relative = noise / scale  # NaN or inf where an output is 0 or not finite
        usable = (noise > 0) & (relative < math.inf)
        count = int(xp.sum(xp.astype(usable, xp.int64)))
        # the median relative noise of the noisy outputs (one near 0, a residual, has a
        # huge one: not the largest)
        ordered = xp.sort(xp.where(usable, relative, math.inf))
        pooled = ordered[(count - 1) // 2] if count else 0.0
        # only to outputs that are noisy themselves: a noise-free one that mixes points
        # beside noisy ones is refused
        allowed = NOISE_FACTOR * xp.where(noise > 0, xp.maximum(noise, pooled * scale), noise)
        far = xp.abs(copy_value - at_x) > allowed
        return not bool(xp.any(far & differs))


def _differs(xp: Any, problem: Problem, values: Any, kept: Any, reference: Any) -> Any:
    """Per output, whether the copy's value differs from ``reference`` (f0, or func at
    x + 0i alone) beyond rounding: ``(m,)``.

    Finite reference: the copy's value within the tolerance (NaN and inf are
    not); for the complex step its imaginary part too, within the tolerance of
    the step's signal (:func:`_imaginary_parts`): complex arithmetic that rounds
    a real point off the real axis by more would swamp it. Non-finite
    reference: the copy's value not finite (at NaN, nothing is checked: the
    derivative there is NaN anyway).
    """
    copy_value = values[:, kept.shape[1]]
    m = copy_value.shape[0]
    at_x = xp.reshape(reference, (m, -1))[:, 0]
    tolerance = math.sqrt(machine_eps(xp, problem.dtype))
    differs = copy_differs(xp, copy_value, at_x, output_scale(xp, kept, at_x), tolerance)
    if xp.isdtype(copy_value.dtype, "complex floating"):  # a real point's value is real
        with np.errstate(all="ignore"):
            imag, allowed = _imaginary_parts(xp, problem, kept, copy_value, at_x)
            differs = differs | (xp.isfinite(at_x) & (imag > allowed))
    return differs


def copy_differs(xp: Any, copy_value: Any, at_x: Any, scale: Any, tolerance: float) -> Any:
    """Per output, whether the copy's value ``(m,)`` in a batch differs from func's value
    ``at_x`` ``(m,)`` at the same point alone beyond rounding (real parts): for a finite
    ``at_x``, beyond ``tolerance`` times the output's ``scale`` (:func:`output_scale`)
    or not finite; for a non-finite one, finite."""
    with np.errstate(all="ignore"):
        # |copy - f0| <= tol * scale: False for NaN; for inf f0, True only for a finite copy
        close = xp.abs(copy_value - at_x) <= tolerance * scale
        return close != xp.isfinite(at_x)


def output_scale(xp: Any, kept: Any, at_x: Any) -> Any:
    """Per output, the largest of ``|at_x|`` ``(m,)`` and the batch's other values
    ``kept`` ``(m, P)`` (a row with a value that is not finite: ``|at_x|``): the size
    its rounding, and its noise, are measured against."""
    with np.errstate(all="ignore"):
        scale = xp.abs(at_x)
        if kept.shape[1]:  # else a call of the copy and the sentinel alone
            # reductions, no temporary of the call's values
            real = xp.real(kept) if xp.isdtype(kept.dtype, "complex floating") else kept
            largest = xp.maximum(xp.max(real, axis=1), -xp.min(real, axis=1))
            scale = xp.where(largest < math.inf, xp.maximum(scale, largest), scale)
        return scale


def poisoned(xp: Any, mixed: Any, results: list) -> list:
    """``results`` NaN where ``mixed`` (a 0-d boolean array): no read, no wrong number."""
    if mixed is None:
        return results
    return [xp.where(mixed, math.nan, r) for r in results]
