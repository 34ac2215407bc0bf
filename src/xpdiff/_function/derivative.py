"""Function mode, elementwise derivatives of any order: ``derivative``.

scipy.differentiate.derivative's contract — func is elementwise, the result
has x's shape — for derivatives of order 1 to 10. The first derivative is
grad's elementwise case (``first.first_derivatives``), to the bit. Higher
orders use the central stencils of ``derivative_schemes`` (Fornberg's
weights, Richardson's extrapolation folded into one host-side LinearScheme)
that the engine evaluates in one batched call (``engine.run_linear``). Method
"adaptive" evaluates a wider ladder of steps in one call and keeps, per
element, the entry of its Richardson table with the smallest estimated error
(truncation plus rounding), built with array operations over all elements.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np

from .. import _backend, _budget
from .._numerics.richardson import richardson_table
from . import engine as _engine
from . import first as _first
from . import results as _results
from .derivative_schemes import LadderScheme, ladder_scheme, richardson_scheme, stencil
from .point_chunks import over_points

__all__ = [
    "MAX_ORDER",
    "LadderScheme",
    "derivative",
    "ladder_scheme",
    "richardson_scheme",
    "stencil",
]

#: the highest derivative order: beyond it float64 keeps too few digits to be useful
MAX_ORDER = 10
METHODS = ("Richardson", "adaptive")

#: Richardson's default relative step ``d`` (and absolute ``eps``) per order: numDeriv's
#: 1e-4 for n = 1; for higher orders the step that balances the rounding error
#: ``eps |f| A / h**n`` against the truncation of r = 4 levels, measured on the smooth
#: functions of benchmarks/bench_beyond.py
RICHARDSON_STEPS = {1: 1e-4, 2: 0.02, 3: 0.05, 4: 0.1, 5: 0.15, 6: 0.2}
#: beyond the table
LARGE_ORDER_STEP = 0.3

#: method "adaptive", n >= 2: the ladder's first step ``H = d max(|x|, 1)``, its
#: levels and their ratio, and the highest Richardson column kept as a candidate
ADAPTIVE_DEFAULTS = {"d": 0.5, "r": 8, "v": 2.0}
ADAPTIVE_COLUMNS = 3
#: the share of the rounding estimate counted in a candidate's error (as in adaptive)
NOISE_WEIGHT = 0.5


# --- settings ----------------------------------------------------------------------------


def _check_order(n: object) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(
            f"n must be an integer from 1 to {MAX_ORDER}, got {type(n).__name__} {n!r}"
        )
    if not 1 <= n <= MAX_ORDER:
        raise ValueError(f"n must be an integer from 1 to {MAX_ORDER}, got {n!r}")
    return int(n)


def _defaults(method: object, order: int) -> dict | None:
    """Richardson's step for the order (None: numDeriv's, n = 1)."""
    if order == 1 or not isinstance(method, str) or method.lower() != "richardson":
        return None
    d = RICHARDSON_STEPS.get(order, LARGE_ORDER_STEP)
    return {"d": d, "eps": d}


def _ladder_settings(method_args: Any) -> dict:
    """method "adaptive" for n >= 2: ``d``, ``r`` (3 to 12) and ``v`` (>= 1.5), checked."""
    values = dict(ADAPTIVE_DEFAULTS)
    for key, value in (method_args or {}).items():
        if key not in values:
            raise ValueError(
                f"unknown method_args key {key!r} for method 'adaptive'; allowed keys: "
                f"{', '.join(values)}"
            )
        values[key] = value
    d, r, v = values["d"], values["r"], values["v"]
    for name, value in (("d", d), ("v", v)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise TypeError(f"method_args {name} must be a real number, got {value!r}")
    if not (math.isfinite(d) and d > 0):
        raise ValueError(f"method_args d must be a finite number > 0, got {d!r}")
    if not (math.isfinite(v) and v >= 1.5):
        raise ValueError(f"method_args v must be a finite number >= 1.5, got {v!r}")
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer)):
        raise TypeError(f"method_args r must be an integer, got {r!r}")
    if not 3 <= r <= 12:
        raise ValueError(f"method_args r (the ladder's levels) must be from 3 to 12, got {r!r}")
    return {"d": float(d), "r": int(r), "v": float(v)}


# --- the two methods ---------------------------------------------------------------------


def _richardson(problem: _engine.Problem, f0: Any, head: tuple, order: int) -> dict:
    """n >= 2, Richardson: numDeriv's steps ``h = d |x| + eps (|x| < zero_tol)``."""
    xp, s = problem.xp, problem.settings
    table = problem.full_output or s.show_details
    scheme = richardson_scheme(order, s.r, s.v, table)
    x4, xg = problem.base_points()
    magnitude = xp.abs(x4)
    hg = xp.where(magnitude < s.zero_tol, magnitude * s.d + s.eps, magnitude * s.d)
    rows = _engine.run_linear(problem, scheme, f0, head, hg, x4=x4, xg=xg, elementwise=True)
    with np.errstate(all="ignore"):
        rows = rows / hg**order  # (1, 1, Q', size) against (1, 1, 1, size)
    out = {"value": rows[:, :, 0, :], "error": None, "rows": rows, "scheme": scheme, "steps": hg}
    if problem.full_output:
        out["error"] = rows[:, :, 1, :]
    return out


def _columns(
    xp: Any, levels: Any, touched: Any, magnitude: Any, w: dict, ladder: dict
) -> tuple[list, list]:
    """Richardson's columns: entries (j, k), k >= max(j, 1), ladder_scheme's candidates
    in its order, and their errors (inf where a level used is ``touched``)."""
    r, v = ladder["r"], ladder["v"]

    def error_of(change: Any, touch: Any, start: int) -> Any:
        error = w["noise"][start : start + change.shape[2], :] * magnitude
        error += xp.abs(change)
        return xp.where(touch | ~xp.isfinite(error), math.inf, error)

    estimates = [levels[:, :, 1:, :]]
    errors = [error_of(levels[:, :, 1:, :] - levels[:, :, :-1, :], touched[:, :, 1:, :], 0)]
    start, column = r - 1, levels
    for j in range(1, min(ADAPTIVE_COLUMNS, r - 1) + 1):
        factor = v ** (2 * j)
        better = column[:, :, 1:, :] * factor  # in place below: fewer large temporaries
        better -= column[:, :, :-1, :]
        better /= factor - 1
        touched = touched[:, :, 1:, :] | touched[:, :, :-1, :]
        estimates.append(better)
        errors.append(error_of(better - column[:, :, 1:, :], touched, start))
        start, column = start + better.shape[2], better
    return estimates, errors


def _choose(
    xp: Any, values: Any, f: Any, h: Any, order: int, w: dict, ladder: dict, full: bool
) -> Any:
    """Each element's best candidate of the ladder: ``(1, 1, 2 or 4, B)``.

    ``values`` ``(1, 1, L, B)``: func at the ladder's points, level after level;
    ``f`` at x, ``h`` the first steps, ``w`` the scheme's arrays on the device.
    Array operations over all elements at once: the ``r`` level estimates (per
    ``H**order``), then Richardson's columns (:func:`_columns`). A value not
    finite counts as f(x) there, and no candidate using its level is chosen.
    """
    r = ladder["r"]
    lead, size = tuple(values.shape[:2]), values.shape[-1]
    width = values.shape[2] // r
    finite = xp.isfinite(values) & xp.isfinite(f)
    grid = xp.reshape(values, (*lead, r, width, size))
    usable = xp.reshape(finite, (*lead, r, width, size))
    touched = ~xp.all(usable, axis=3)  # (1, 1, r, B): a level with a value not finite

    def level_part(j: int) -> tuple[Any, Any, Any]:
        kept = xp.where(usable[:, :, :, j, :], grid[:, :, :, j, :], f)
        term = w["levels"][:, j : j + 1] * (kept - f)
        return term, xp.max(kept, axis=2, keepdims=True), xp.min(kept, axis=2, keepdims=True)

    # levels (1, 1, r, B): sum_j w_j v**(k order) (F(x + o_j H / v**k) - f)
    levels, high, low = level_part(0)  # one (r, B) slice at a time: few large temporaries
    for j in range(1, width):
        term, top, bottom = level_part(j)
        levels += term  # in place on an array of its own: fewer large temporaries
        high, low = xp.maximum(high, top), xp.minimum(low, bottom)
    magnitude = xp.maximum(xp.maximum(high, -low), xp.where(xp.isfinite(f), xp.abs(f), 0.0))

    estimates, errors = _columns(xp, levels, touched, magnitude, w, ladder)
    error = xp.concat(errors, axis=2)  # (1, 1, C, B)
    best = xp.min(error, axis=2, keepdims=True)
    some = xp.isfinite(best)
    # the first candidate of smallest error, by its index: an integer comparison, which
    # a compiler (XLA) that recomputes the errors with other roundings cannot upset
    first = xp.astype(xp.argmin(error, axis=2, keepdims=True), values.dtype)
    chosen = w["index"] == first  # (1, 1, C, B): one candidate per element

    def pick(parts: list) -> Any:
        total, start = None, 0
        for part in parts:
            stop = start + part.shape[-2]
            term = xp.sum(xp.where(chosen[:, :, start:stop, :], part, 0.0), axis=2, keepdims=True)
            total, start = term if total is None else total + term, stop
        return xp.where(some, total, math.nan)

    scale = h**order
    parts = [pick(estimates) / scale, xp.where(some, best, math.nan) / scale]
    if full:
        parts += [pick([w["order"]]), pick([w["step"]]) * h]
    return xp.concat(parts, axis=2)


def _ladder(problem: _engine.Problem, f0: Any, head: tuple, order: int, ladder: dict) -> dict:
    """n >= 2, "adaptive": the wide ladder's best entry per element, in one call."""
    xp, n, size, dtype = problem.xp, problem.n, problem.size, problem.dtype
    scheme = ladder_scheme(order, ladder["r"], ladder["v"], ADAPTIVE_COLUMNS)
    eps = _engine.machine_eps(xp, dtype)
    x4, xg = problem.base_points()
    magnitude = xp.abs(x4)
    H = ladder["d"] * xp.where(magnitude > 1.0, magnitude, 1.0)  # (1, 1, 1, size)
    H = 2.0 ** xp.floor(xp.log2(H))  # a power of two: every point exact in x's dtype
    full = problem.full_output
    _, weights = stencil(order)
    host = {
        "levels": ladder["v"] ** (order * np.arange(ladder["r"], dtype=np.float64))[:, None]
        * weights[None, :],
        "noise": scheme.noise * (NOISE_WEIGHT * eps),
        "index": np.arange(scheme.noise.shape[0], dtype=np.float64)[:, None],
        "order": scheme.order_of,
        "step": scheme.step,
    }
    w = {k: _backend.host_to_device(a, xp, problem.device, dtype) for k, a in host.items()}
    f0r = xp.reshape(f0, (n, 1, 1, size))

    def combine(index: int, groups: tuple, blocks: tuple, values: Any) -> Any:
        h, f = H, f0r
        if blocks != (0, size):
            h, f = h[..., blocks[0] : blocks[1]], f[..., blocks[0] : blocks[1]]
        return _choose(xp, values, f, h, order, w, ladder, full)

    with np.errstate(all="ignore"):
        (rows,) = _engine.run(problem, [scheme.family], head, combine, x4=x4, xg=xg, hg=H)
    out = {"value": rows[:, :, 0, :], "error": rows[:, :, 1, :], "steps": H}
    if full:
        out["order"], out["step"] = rows[:, :, 2, :], rows[:, :, 3, :]
    return out


def _grad_layout(x: Any, size: int, max_batch: object, workers: object) -> bool:
    """n = 1: lay the elements out as grad's coordinates, to grad's path and bits.

    x as ``(size,)``, an elementwise function of ``size`` coordinates: every
    point in the calls :func:`grad` makes (one, on NumPy arrays, by its
    executor). With ``max_batch`` or ``workers``, or points beyond the
    memory budget's share, the elements are the points of one coordinate
    instead, ``(1, size)``, so that calls can split between elements (the
    same sums, to rounding).
    """
    columns = 16  # the most points per element any first-derivative method sends at once
    return (
        max_batch is None
        and workers is None
        and 2 * columns * size * 16 <= _budget.get_memory_budget(x)  # points and values
    )


def _result(
    problem: _engine.Problem, out: dict, value: Any, shape: tuple
) -> _results.DerivativeResult:
    """The :class:`~xpdiff.DerivativeResult` of ``derivative`` (any order, either method)."""
    xp = problem.xp
    if "order" in out:  # adaptive
        return _results.result(
            _results.DerivativeResult,
            problem,
            value,
            xp.reshape(out["error"], shape),
            steps=xp.reshape(out["steps"], shape),
            order=xp.reshape(out["order"], shape),
            step=xp.reshape(out["step"], shape),
        )
    s, scheme, rows = problem.settings, out["scheme"], out["rows"]
    q = scheme.weights.shape[1]
    levels = [xp.reshape(rows[:, :, 2 * q + k, :], shape) for k in range(s.r)]
    factors = [float(s.v) ** (2 * m) for m in range(1, s.r)]
    scale = _backend.host_to_device(
        s.v ** -np.arange(s.r, dtype=np.float64), xp, problem.device, problem.dtype
    )
    steps = xp.reshape(
        xp.reshape(scale, (s.r, 1)) * xp.reshape(out["steps"], (1, math.prod(shape))),
        (s.r, *shape),
    )
    return _results.result(
        _results.DerivativeResult,
        problem,
        value,
        xp.reshape(out["error"], shape),
        steps=steps,
        table=richardson_table(levels, factors),
    )


# --- derivative ----------------------------------------------------------------------------


@overload
def derivative(
    func: Callable[..., Any],
    x: Any,
    /,
    *,
    n: int = 1,
    method: str = "adaptive",
    method_args: dict | None = None,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: Literal[False] = False,
) -> Any: ...


@overload
def derivative(
    func: Callable[..., Any],
    x: Any,
    /,
    *,
    n: int = 1,
    method: str = "adaptive",
    method_args: dict | None = None,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: Literal[True],
) -> _results.DerivativeResult: ...


def derivative(
    func: Callable[..., Any],
    x: Any,
    /,
    *,
    n: int = 1,
    method: str = "adaptive",
    method_args: dict | None = None,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: bool = False,
) -> Any | _results.DerivativeResult:
    """The n-th derivative of an elementwise function at every element of x.

    scipy.differentiate.derivative's contract: ``func`` is elementwise (its
    value at an array is the array of its values at each element) and the
    result has x's shape, for derivatives of order ``n`` from 1 to 10. Every
    perturbed point of every element goes to func in one call (the memory
    budget and ``max_batch`` may split it), plus one call at x.

    Parameters
    ----------
    func : callable
        ``func(x, *args, **kwargs)``, elementwise: it returns an array of
        the shape of its argument. It receives arrays of xpdiff's own (never
        the caller's ``x``), not of x's shape: for n = 1 those of
        :func:`grad` with x flattened to ``(N,)`` coordinates (``(N,)`` at x,
        ``(N, points)`` for the perturbed points), for n >= 2 (and with
        ``max_batch``, ``workers`` or points beyond the memory budget) ``(1,
        points)``, every element and perturbed point along the last axis.
    x : array_like
        The points, any shape; a scalar is one point. Integers become
        float64; float32 is kept.
    n : int, optional
        The order of the derivative, 1 to 10. Default 1.
    method : {"adaptive", "Richardson"}, optional
        "adaptive" (the default): steps chosen per element from the function
        (see Notes). "Richardson": numDeriv's central differences with
        steps ``h, h/v, ..., h/v**(r-1)``, extrapolated (``r`` = 4 levels,
        ``v`` = 2), ``2 r ceil(n/2)`` points per element: fewer points, fixed
        relative steps.
    method_args : dict, optional
        "adaptive": for n = 1 those of :func:`grad`'s "adaptive"; for n >= 2
        ``d`` (0.5: the first step is ``d max(|x|, 1)``), ``r`` (8 levels, 3
        to 12) and ``v`` (2, their ratio). Richardson: numDeriv's ``eps``,
        ``d``, ``zero_tol``, ``r``, ``v`` (the step is ``h = d |x| + eps (|x| <
        zero_tol)``; ``d`` and ``eps`` default to 1e-4 for n = 1 and grow
        with n, see Notes).
    args, kwargs, vectorized, max_batch, workers
        As in :func:`grad`.
    full_output : bool, optional
        Return a :class:`~xpdiff.DerivativeResult` (``value``, ``error``,
        ``nfev``, ``ncalls``, ``steps``; the Richardson ``table``; the
        adaptive ``order`` and ``step``), which unpacks as ``(value, info)``.

    Returns
    -------
    d : array
        The n-th derivative, x's shape, namespace, device and floating dtype.
    res : DerivativeResult
        Instead of ``d``, with ``full_output=True``.

    Notes
    -----
    "adaptive", n = 1, is :func:`grad`'s "adaptive" (three calls: x, a pilot
    of 3 points per element that measures how fast func varies, a ladder of
    8); its median relative error on smooth functions is about 1e-14. For
    n >= 2 it evaluates, in one call, a ladder of ``r`` levels of the
    central stencil of the n-th derivative (offsets ``-p .. p``, ``p =
    ceil(n/2)``, Fornberg's weights) with steps ``H / v**k``, ``H = d
    max(|x|, 1)`` rounded down to a power of two: ``2 p r`` points per
    element (16 for n = 2, 32 for n = 3, 4). Every extrapolation of up to
    three Richardson columns of the ladder is a candidate, whose error is
    estimated as its difference from the one it improves on plus its
    rounding error; each element keeps the candidate with the smallest
    estimate among those whose points are all finite (so a domain edge, as
    of log near 0, costs accuracy, not a NaN; on an exact tie, the first in
    the order of increasing column, then decreasing step). The table is
    built with array operations over all elements at once (the levels, then
    each Richardson column from the one before); no loop over elements, no
    transfer to the host: it runs lazily on Dask and under ``jax.jit``.

    For n = 1 both methods are :func:`grad`'s elementwise case on x
    flattened, with its calls and results to the bit (and its one-call path
    for NumPy arrays); ``nfev`` counts elements times points. With
    ``max_batch`` or ``workers`` the elements are laid out as points instead,
    so that calls can split between them (the same sums, to rounding).

    "Richardson", n = 1, is :func:`grad`'s elementwise derivative. For
    n >= 2 the stencil is the same, its error has only even powers of h,
    which the extrapolation removes two at a time. Rounding errors grow as
    ``eps / h**n``, so the default relative step grows with n: ``d`` = 0.02,
    0.05, 0.1, 0.15, 0.2 for n = 2 .. 6 and 0.3 beyond (``eps`` the same).
    Functions that vary much faster than x over that step need a smaller
    ``d``, or "adaptive".

    A function value that is not finite gives NaN in that element, never a
    finite wrong number.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> x = np.linspace(0.5, 2.0, 4)
    >>> d3 = xd.derivative(np.exp, x, n=3)
    >>> bool(np.allclose(d3, np.exp(x), rtol=1e-9, atol=0))
    True
    >>> d4 = xd.derivative(np.sin, np.array([[0.3], [1.2]]), n=4)  # any shape
    >>> d4.shape, bool(np.allclose(d4, np.sin([[0.3], [1.2]]), rtol=1e-7))
    ((2, 1), True)
    >>> res = xd.derivative(np.log, x, n=2, method="adaptive", full_output=True)
    >>> bool(np.all(np.abs(res.value + 1 / x**2) <= 10 * res.error + 1e-12))
    True
    """
    order = _check_order(n)
    if type(x) is not np.ndarray and isinstance(x, np.ma.MaskedArray):
        raise TypeError("x is a masked array: pass x.filled(...) or a plain array")
    xp, x = _backend.array_namespace(x)
    shape = tuple(x.shape)
    size = math.prod(shape)
    if size == 0:
        raise ValueError(f"x must have at least one element, got shape {shape}")
    elementwise = order == 1 and _grad_layout(x, size, max_batch, workers)
    problem = _engine.setup(
        func,
        xp.reshape(x, (size,) if elementwise else (1, size)),
        method,
        None,
        None if method == "adaptive" and order > 1 else method_args,
        args=args,
        kwargs=kwargs,
        vectorized=vectorized,
        max_batch=max_batch,
        workers=workers,
        full_output=full_output,
        methods=METHODS,
        function="derivative",
        defaults=_defaults(method, order),
    )
    ladder = _ladder_settings(method_args) if problem.method == "adaptive" and order > 1 else None
    f0, head = _engine.value_at_x(problem)
    if head != ((size,) if elementwise else (1,)):
        raise ValueError(
            f"derivative assumes an elementwise function: func must return an array of "
            f"its argument's shape {problem.shape}, got shape {tuple(f0.shape)}"
        )
    if order == 1:
        out = _first.first_derivatives(problem, f0, head, elementwise)
    else:  # each element's rows (and full_output's table) counted; chunked if need be
        rows = 4 + 2 * problem.settings.r if full_output else 1
        run = (lambda p, f, h, o: _ladder(p, f, h, o, ladder)) if ladder else _richardson
        out = over_points(problem, f0, lambda p, f: run(p, f, head, order), 8 + 3 * rows, rows + 1)
    value = xp.reshape(out["value"], shape)
    if not full_output:
        return value
    res = _result(problem, out, value, shape)
    if elementwise:  # grad's layout counts points of `size` elements: count elements
        res.nfev *= size
    if ladder is not None:
        res.method_args = dict(ladder)
    return res
