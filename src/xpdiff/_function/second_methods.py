"""Function mode, second derivatives: genD's values and hessian's methods.

:func:`genD_values` evaluates genD's points (x, the diagonal family
``x +- h_i e_i / v**k`` and the pair family ``x +- (h_i e_i + h_j e_j) / v**k``)
in one batched call and combines each family's folded Richardson weights
(``schemes.genD_scheme``); hessian's "Richardson" method is its lower triangle,
mirrored. The "complex" method is the Richardson Jacobian of complex-step
gradients, every complex point in one call. :data:`HESSIAN_METHODS_IMPL` maps
each method to its function; :func:`second_result` is the ``full_output`` result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from .. import _backend
from .._typing import Array
from . import adaptive as _adaptive
from . import around as _around
from . import engine as _engine
from . import first_methods as _first_methods
from . import point_chunks as _point_chunks
from . import points as _points
from . import results as _results
from . import schemes as _schemes
from . import steps as _steps

__all__ = [
    "HESSIAN_METHODS",
    "HESSIAN_METHODS_IMPL",
    "complex_step_gradients",
    "genD_over_points",
    "genD_values",
    "hessian_over_points",
    "second_result",
]

_R = TypeVar("_R", bound=_results.DerivativeResult)


def genD_values(
    problem: _engine.Problem,
    f0: Any,
    head: tuple,
    *,
    first: bool = True,
    scheme: _schemes.GenDScheme | None = None,
) -> dict[str, Any]:
    """D (``(m, n (n + 3) / 2, size)``; only its second derivatives without ``first``).

    Returns ``{"D", "error" (with full_output), "steps"}``. See
    ``_schemes.GenDScheme`` for the folded formulas; ``scheme`` (some pairs
    only: a sparse Hessian's) replaces genD's all pairs.
    """
    xp, device, settings = problem.xp, problem.device, problem.settings
    n, size = problem.n, problem.size
    if scheme is None:
        scheme = _schemes.genD_scheme(n, settings.r, settings.v)
    x4, xg = problem.base_points()
    hg = _steps.numderiv_steps(xp, xg, settings)
    # (m, G, 2 or 4, size): the first derivative and S, then their error rows
    rows = _engine.run_linear(problem, scheme.linear, f0, head, hg, x4=x4, xg=xg, finish=False)
    h = xp.reshape(hg, (1, n, size))
    i = _backend.host_to_device(scheme.first, xp, device)
    j = _backend.host_to_device(scheme.second, xp, device)
    diagonal = _backend.host_to_device(scheme.diagonal, xp, device)
    divisor = _backend.host_to_device(scheme.divisor, xp, device, problem.dtype)
    # S_ij / h_i h_j on the diagonal; (S_ij - S_ii - S_jj) / (2 h_i h_j) off it: with the
    # divisor -1 on the diagonal, (S - S_ii - S_jj) / (-h_i**2) is S_ii / h_i**2 there
    scale = xp.take(h, i, axis=1) * xp.take(h, j, axis=1) * divisor

    def second(S: Any) -> Any:
        on_diagonal = xp.take(S, diagonal, axis=1)
        return (S - xp.take(on_diagonal, i, axis=1) - xp.take(on_diagonal, j, axis=1)) / scale

    with np.errstate(all="ignore"):  # NaN where f is: an answer, not a NumPy warning
        D = second(rows[:, :, 1, :])
        if first:
            D = xp.concat([xp.take(rows[:, :, 0, :], diagonal, axis=1) / h, D], axis=1)
        out = {"D": xp.where(xp.isfinite(D), D, math.nan), "steps": hg}
        if problem.full_output:
            # the error rows: differences of the folded entries, through the same formulas
            error = xp.abs(second(rows[:, :, 3, :]))
            if first:
                first_error = xp.abs(xp.take(rows[:, :, 2, :], diagonal, axis=1) / h)
                error = xp.concat([first_error, error], axis=1)
            out["error"] = error
    return out


def second_result(cls: type[_R], problem: _engine.Problem, value: Any, error: Any, hg: Any) -> _R:
    """The ``cls`` result of a Richardson second-derivative call: steps ``(r, n, *B)``."""
    steps = _first_methods.richardson_steps(problem, hg)
    return cast(_R, _results.result(cls, problem, value, error, steps=steps))


def _richardson_hessian(problem: _engine.Problem, f0: Any, head: tuple) -> dict[str, Any]:
    """genD's lower triangle, mirrored (numDeriv's hessian)."""
    xp, n = problem.xp, problem.n
    out = genD_values(problem, f0, head, first=False)
    index = np.zeros((n, n), dtype=np.int64)
    k = 0  # the lower triangle by rows
    for i in range(n):
        for j in range(i + 1):
            index[i, j] = index[j, i] = k
            k += 1
    flat = _backend.host_to_device(index.reshape(-1), xp, problem.device)
    H = {"H": xp.take(out["D"][0, ...], flat, axis=0), "steps": out["steps"]}
    if problem.full_output:
        H["error"] = xp.take(out["error"][0, ...], flat, axis=0)
    return H


def _complex_hessian(problem: _engine.Problem, f0: Any, head: tuple) -> dict[str, Any]:
    """numDeriv: jacobian (Richardson) of grad (complex), every complex point in one call.

    The complex-step gradient is evaluated at each of the ``2 r n``
    Richardson points of the gradient: those points are the base points of
    the complex-step scheme, ``2 r n**2`` complex points in all.
    """
    xp, device, settings = problem.xp, problem.device, problem.settings
    n, size, r = problem.n, problem.size, settings.r
    richardson = _schemes.richardson_scheme(n, (math.nan,) * n, r, settings.v, False, False)
    hg = _steps.numderiv_steps(xp, problem.base_points()[1], settings)
    gradients = complex_step_gradients(problem, head, richardson.family, hg)
    # (1, i, 1, (j, level and sign, b)) -> (i, j, level and sign, b)
    gradients = xp.reshape(gradients, (n, n, 2 * r, size))
    weights = _backend.host_to_device(richardson.weights, xp, device, problem.dtype)
    # func not finite at x: its complex values around x can still be (log at 0), and the
    # Hessian there is NaN, as Richardson's
    at_x = xp.isfinite(xp.reshape(f0, (1, 1, size)))
    with np.errstate(all="ignore"):  # NaN where f is: an answer, not a NumPy warning
        H = (weights @ gradients)[:, :, 0, :] / xp.reshape(hg, (1, n, size))
        out = {"H": xp.where(xp.isfinite(H) & at_x, H, math.nan), "steps": hg}
        if problem.full_output:
            error = _backend.host_to_device(richardson.error, xp, device, problem.dtype)
            error = xp.abs((error @ gradients)[:, :, 0, :] / xp.reshape(hg, (1, n, size)))
            out["error"] = xp.where(at_x, error, math.nan)
    return out


def complex_step_gradients(
    problem: _engine.Problem, head: tuple, family: _schemes.Family, hg: Array
) -> Array:
    """The complex-step gradient at every point of ``family`` around x, in one call.

    ``hg`` are the family's steps (shaped for its points, ``points.build``);
    returns ``(1, n, 1, sets * size)``: coordinate i's derivative at each
    point, the points in the family's order (group, set, base point). The
    points are the complex step's own base points (the engine checks that
    func does not mix the points of a batch against its own f(x)). As
    :func:`grad`'s complex step at x, each gradient is NaN where func's real
    value at its point is not finite (``sqrt(1 - x)`` beyond 1: complex
    arithmetic gives a finite value there, and a gradient of about 1e15):
    func at the base points, in real arithmetic, in calls of at most
    ``max_batch`` points.
    """
    xp, n = problem.xp, problem.n
    x4, xg = problem.base_points()
    sets = family.groups * family.sets
    rect = _points.Rectangle(family, 0, sets, 0, problem.size)
    base = _points.build(xp, [rect], (x4, xg, hg), problem.dtype, False)  # (n, sets size)
    total = base.shape[1]
    width = max(1, total if problem.max_batch is None else problem.max_batch)
    at_base = [
        problem.evaluator.at(xp, base[:, b : min(b + width, total)], problem.device)
        for b in range(0, total, width)
    ]
    f_base = None  # no point (x of shape (n, 0)): nothing to read
    if at_base:
        f_base = at_base[0] if len(at_base) == 1 else xp.concat(at_base, axis=-1)
    complex_step = _schemes.complex_step_scheme(n, _engine.machine_eps(xp, problem.dtype), False)
    return _around.run_around(problem, complex_step, f_base, head, None, base)


#: hessian's methods: numDeriv's, and xpdiff's adaptive one
HESSIAN_METHODS = ("Richardson", "complex", "adaptive")
HESSIAN_METHODS_IMPL: dict[str, Callable[[_engine.Problem, Any, tuple], dict[str, Any]]] = {
    "Richardson": _richardson_hessian,
    "complex": _complex_hessian,
    "adaptive": _adaptive.hessian,
}


def hessian_over_points(problem: _engine.Problem, f0: Any, head: tuple) -> dict[str, Any]:
    """The method's Hessian (:data:`HESSIAN_METHODS_IMPL`) within the memory budget.

    ``point_chunks.over_points`` counts what it holds per base point beside the
    engine's count: steps, the second differences of every pair, the full
    matrix (the complex step: its ``2 r n`` base points per coordinate).
    """
    n, r, full = problem.n, problem.settings.r, problem.full_output
    pairs, square = n * (n + 1) // 2, n * n
    held = {
        "Richardson": 3 * n + 6 * pairs + 2 * square,
        "complex": 3 * n + 4 * r * square + 2 * square,
        "adaptive": 8 * n + 10 * pairs + 5 * square,
    }[problem.method] * (1 + full)
    keep = ("H", "error", "order", "step", "steps") if full else ("H",)

    def compute(part: _engine.Problem, f: Any) -> dict[str, Any]:
        out = HESSIAN_METHODS_IMPL[part.method](part, f, head)
        return {k: v for k, v in out.items() if k in keep}

    kept = (4 * square + (r + 1) * n) if full else square
    return _point_chunks.over_points(problem, f0, compute, held=held, kept=kept)


def genD_over_points(problem: _engine.Problem, f0: Any, head: tuple) -> dict[str, Any]:
    """:func:`genD_values` within the memory budget (``point_chunks.over_points``)."""
    n, m, r, full = problem.n, math.prod(head), problem.settings.r, problem.full_output
    entries = m * n * (n + 3) // 2
    held = (3 * n + 8 * entries) * (1 + full)
    kept = entries * (1 + full) + (r + 1) * n * full + n

    def compute(part: _engine.Problem, f: Any) -> dict[str, Any]:
        return genD_values(part, f, head)

    return _point_chunks.over_points(problem, f0, compute, held=held, kept=kept)
