"""Function mode: numDeriv's grad, with every perturbed point in one batched call.

This module combines the resolver (``_backend``), the step rules and
Richardson tables (``_steps``) and the batch machinery (``_batch``). It
follows R's numDeriv ``grad`` (R/numDeriv.R) step for step, but evaluates
all perturbed points of a derivative in one call of ``func`` instead of one
call per point.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _backend, _batch, _steps

__all__ = ["GradInfo", "grad", "jacobian"]


@dataclass
class GradInfo:
    """What ``full_output=True`` returns beside the derivative.

    Attributes
    ----------
    error : array
        Per-component error estimate: the difference between the last two
        Richardson extrapolation levels (NaN with ``r=1`` and for the methods
        "simple" and "complex", which have none).
    nfev : int
        Number of points at which func was evaluated, ``x`` itself included.
    ncalls : int
        Number of calls of func.
    table : list of arrays or None
        The Richardson table: ``table[m][k]`` is the k-th approximation after
        m extrapolation steps (``table[0]`` holds the plain differences with
        steps ``steps[k]``). None for "simple" and "complex".
    steps : array
        The steps: shape ``(r, n, *B)`` for Richardson (``h / v**k``),
        ``(n, *B)`` or a scalar for "simple" and "complex".
    method : str
        The method used.
    method_args : dict
        The settings used, defaults included.
    """

    error: Any
    nfev: int
    ncalls: int
    table: list | None
    steps: Any
    method: str
    method_args: dict


# --- argument checks --------------------------------------------------------------


def _real_point(xp, x):
    """``x`` as a real floating array: integers to float64, float16 to float32."""
    if xp.isdtype(x.dtype, "complex floating"):
        raise TypeError(f"x must be real, got dtype {x.dtype}")
    if xp.isdtype(x.dtype, ("integral", "bool")):
        return xp.astype(x, xp.float64)
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"x must be a real array, got dtype {x.dtype}")
    if xp.finfo(x.dtype).bits < 32:
        return xp.astype(x, xp.float32)
    return x


def _parse_side(side, n: int) -> list[float]:
    """numDeriv's side: None, or one of NaN/None, +1, -1 per coordinate."""
    if side is None:
        return [math.nan] * n
    values = np.asarray(side, dtype=object).ravel() if not np.isscalar(side) else [side]
    if len(values) != n:
        raise ValueError("Non-NULL argument 'side' should have the same length as x")
    parsed = []
    for value in values:
        if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
            parsed.append(math.nan)
        elif (
            isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool)
            and abs(value) == 1
        ):
            parsed.append(float(value))
        else:
            raise ValueError("Non-NULL argument 'side' should have values NA, +1, or -1.")
    return parsed


@functools.lru_cache(maxsize=64)
def _one_coordinate_each(n: int, repeats: int = 1) -> np.ndarray:
    """Set t moves coordinate t % n: ``(repeats * n, 1)`` host indices (cached: never
    write to the result)."""
    return np.tile(np.arange(n), repeats)[:, None]


def _column(xp, values, dtype, device):
    """Host numbers, one per coordinate, as an ``(n, 1)`` array of xp."""
    return _backend.host_to_device(
        np.asarray(values, dtype=np.float64)[:, None], xp, device, dtype
    )


# --- the three methods ---------------------------------------------------------------


def richardson_steps(xp, x, settings):
    """numDeriv's steps ``h = |d x| + eps (|x| < zero_tol)``, divided by v per level.

    Returns an ``(r, n, size)`` array.
    """
    near_zero = xp.astype(xp.abs(x) < settings.zero_tol, x.dtype)
    h = xp.abs(settings.d * x) + settings.eps * near_zero
    steps = []
    for _ in range(settings.r):
        steps.append(h)
        h = h / settings.v  # numDeriv divides level by level, so do we
    return xp.stack(steps, axis=0)


def richardson_point_sets(xp, x, step_stack, sides, device):
    """The 2rn sets ``x + ph e_i`` and ``x - mh e_i`` of level k, in (k, sign, i) order."""
    r, n, size = step_stack.shape
    dtype = x.dtype
    if all(math.isnan(s) for s in sides):
        forward, backward = step_stack, -step_stack
    else:
        plus = np.array([s == 1 for s in sides])
        minus = np.array([s == -1 for s in sides])
        # one-sided: twice the step on one side, none on the other (numDeriv's rule)
        plus_scale = _column(xp, np.where(plus, 2.0, np.where(minus, 0.0, 1.0)), dtype, device)
        minus_scale = _column(xp, np.where(minus, 2.0, np.where(plus, 0.0, 1.0)), dtype, device)
        forward = step_stack * plus_scale
        backward = -(step_stack * minus_scale)
    moves = xp.reshape(xp.stack([forward, backward], axis=1), (2 * r * n, 1, size))
    return _batch.PointSets(x, moves, _one_coordinate_each(n, 2 * r))


def extrapolate(xp, first_order, sides, settings, device, *, zero_rule):
    """Richardson table of ``first_order`` (levels on axis 0, coordinates on axis -2).

    Returns (value, error estimate, table). ``zero_rule`` applies grad's rule
    that a level below 1e-20 in magnitude keeps later levels at zero.
    Components with a non-finite level are NaN.
    """
    r = first_order.shape[0]
    dtype = first_order.dtype
    bad = xp.any(~xp.isfinite(first_order), axis=0)
    levels = [first_order[k, ...] for k in range(r)]
    if zero_rule:
        zero = xp.zeros((), dtype=dtype, device=device)
        tiny = xp.abs(first_order) < 1e-20
        small = tiny[0, ...]
        for k in range(1, r):
            levels[k] = xp.where(small, zero, levels[k])
            small = small | tiny[k, ...]
    one_sided = [not math.isnan(s) for s in sides]
    if all(one_sided) or not any(one_sided):
        factors = _steps.extrapolation_factors(r, settings.v, one_sided=one_sided[0])
    else:
        central = _steps.extrapolation_factors(r, settings.v, one_sided=False)
        onesided = _steps.extrapolation_factors(r, settings.v, one_sided=True)
        factors = [
            _column(xp, [o if s else c for s in one_sided], dtype, device)
            for c, o in zip(central, onesided, strict=True)
        ]
    table = _steps.richardson_table(levels, factors)
    value = xp.where(bad, xp.asarray(math.nan, dtype=dtype, device=device), table[-1][0])
    if r > 1:
        error = xp.abs(value - table[-2][-1])
    else:
        error = xp.full(value.shape, math.nan, dtype=dtype, device=device)
    return value, error, table


def _richardson(xp, evaluator, x, sides, settings, head, elementwise, device, zero_rule):
    """Richardson first derivatives: ``(m, n, size)`` (``(n, size)`` when elementwise)."""
    n, size = x.shape
    r = settings.r
    step_stack = richardson_steps(xp, x, settings)
    if elementwise:
        sets = richardson_point_sets(xp, x, step_stack, sides, device)
        moves = xp.reshape(sets.steps, (r, 2, n, size))
        sets = _batch.PointSets(x, xp.reshape(moves, (2 * r, n, size)))
        values = xp.reshape(evaluator.on(xp, sets, (n,)), (n, r, 2, size))
        values = xp.permute_dims(values, (1, 2, 0, 3))  # (r, 2, n, size)
        first_order = (values[:, 0, ...] - values[:, 1, ...]) / (2 * step_stack)
    else:
        sets = richardson_point_sets(xp, x, step_stack, sides, device)
        m = math.prod(head)
        values = xp.reshape(evaluator.on(xp, sets, head), (m, r, 2, n, size))
        first_order = (values[:, :, 0, ...] - values[:, :, 1, ...]) / (2 * step_stack)
        first_order = xp.permute_dims(first_order, (1, 0, 2, 3))  # (r, m, n, size)
    value, error, table = extrapolate(
        xp, first_order, sides, settings, device, zero_rule=zero_rule and not elementwise
    )
    return value, error, table, step_stack


def _simple(xp, evaluator, x, f0, sides, settings, head, elementwise, device):
    n, size = x.shape
    dtype = x.dtype
    eps = _column(xp, [settings.eps * (1.0 if math.isnan(s) else s) for s in sides], dtype, device)
    step = xp.broadcast_to(eps, (n, size))
    if elementwise:
        sets = _batch.PointSets(x, xp.reshape(step, (1, n, size)))
        values = evaluator.on(xp, sets, (n,))[:, 0, :]
        return (values - f0) / eps, eps
    sets = _batch.PointSets(x, xp.reshape(step, (n, 1, size)), _one_coordinate_each(n))
    values = xp.reshape(evaluator.on(xp, sets, head), (math.prod(head), n, size))
    return (values - f0[:, None, :]) / eps, eps


def _complex_step(xp, evaluator, x, sides, head, elementwise, device):
    if any(not math.isnan(s) for s in sides):
        raise ValueError("method 'complex' does not support non-NULL argument 'side'.")
    n, size = x.shape
    real = x.dtype
    cdtype = xp.complex128 if real == xp.float64 else xp.complex64
    h = float(xp.finfo(real).eps)
    xc = xp.astype(x, cdtype)
    imag_step = xp.full((n, size), complex(0.0, h), dtype=cdtype, device=device)
    if elementwise:
        sets = _batch.PointSets(xc, xp.reshape(imag_step, (1, n, size)))
        values = complex_values(xp, evaluator, sets, (n,))[:, 0, :]
    else:
        steps = xp.reshape(imag_step, (n, 1, size))
        sets = _batch.PointSets(xc, steps, _one_coordinate_each(n))
        values = complex_values(xp, evaluator, sets, head)
        values = xp.reshape(values, (math.prod(head), n, size))
    return xp.imag(values) / h, h


def complex_values(xp, evaluator, sets, head):
    """func on complex points, with numDeriv's errors when func will not do complex."""
    try:
        values = evaluator.on(xp, sets, head)
    except Exception as exc:
        if isinstance(exc, ValueError) and "expected" in str(exc):
            raise
        raise TypeError(
            "function does not accept complex argument as required by method 'complex'."
        ) from exc
    if not xp.isdtype(values.dtype, "complex floating"):
        raise TypeError(
            "function does not return a complex value as required by method 'complex'."
        )
    return values


def _print_table(table, n_columns: int) -> None:
    """numDeriv's show.details output: the first-order approximations and each step."""

    def column_text(values):
        # R's print(a, 12): 12 significant digits, one number of decimals per column
        finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
        exponent = math.floor(math.log10(max(finite))) if finite else 0
        decimals = max(0, 11 - exponent)
        return [f"{v:.{decimals}f}" if math.isfinite(v) else str(v) for v in values]

    def show(rows):
        matrix = np.stack([np.reshape(_backend.to_host(row), (-1,)) for row in rows])
        columns = [column_text(matrix[:, j].tolist()) for j in range(matrix.shape[1])]
        labels = [f"[{i + 1},]" for i in range(matrix.shape[0])]
        label_width = max(len(label) for label in labels)
        widths = [max(len(f"[,{j + 1}]"), *(len(t) for t in col)) for j, col in enumerate(columns)]
        print(" " * label_width + "".join(f" {f'[,{j + 1}]':>{w}}" for j, w in enumerate(widths)))
        for i, label in enumerate(labels):
            print(
                f"{label:<{label_width}}"
                + "".join(f" {col[i]:>{w}}" for col, w in zip(columns, widths, strict=True))
            )

    print()
    print(" first order approximations ")
    show(table[0])
    for m in range(1, len(table) - 1):
        print()
        print(f" Richarson improvement group No.  {m} ")
        show(table[m])


# --- shared setup ----------------------------------------------------------------------


@dataclass
class Problem:
    """The checked arguments of one derivative call."""

    xp: Any
    device: Any
    method: str
    settings: Any
    sides: list
    evaluator: Any
    x: Any  # (n, size)
    x_shaped: Any  # (n, *B)
    shape: tuple  # the caller's x shape
    batch_shape: tuple
    zero_rule: bool = True  # grad's 1e-20 rule; numDeriv's jacobian has none

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def size(self) -> int:
        return self.x.shape[1]


def setup(
    func,
    x,
    method,
    side,
    method_args,
    args,
    kwargs,
    vectorized,
    max_batch,
    *,
    defaults=None,
    derivative_order=1,
    zero_rule=True,
):
    """Check the arguments every function-mode call shares."""
    method = _steps.canonical_method(method)
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise TypeError(f"kwargs must be a dict or None, got {type(kwargs).__name__}")
    if not isinstance(args, tuple):
        args = (args,)
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    xp, x = _backend.array_namespace(x)
    device = _backend.device_of(x)
    x = _real_point(xp, x)
    shape = tuple(x.shape)
    if x.ndim == 0:
        x = xp.reshape(x, (1,))
    n = x.shape[0]
    if n == 0:
        raise ValueError("x must have at least one coordinate")
    batch_shape = tuple(x.shape[1:])
    if max_batch is not None and (
        isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1
    ):
        raise ValueError(f"max_batch must be an integer >= 1 or None, got {max_batch!r}")
    sides = _parse_side(side, n)
    settings = _steps.method_settings(
        method,
        method_args,
        float(xp.finfo(x.dtype).eps),
        defaults=defaults,
        derivative_order=derivative_order,
    )
    evaluator = _batch.Evaluator(func, args, kwargs, vectorized=vectorized, max_batch=max_batch)
    x_flat = xp.reshape(x, (n, math.prod(batch_shape)))
    return Problem(
        xp, device, method, settings, sides, evaluator, x_flat, x, shape, batch_shape, zero_rule
    )


# --- grad -------------------------------------------------------------------------------


def grad(
    func,
    x,
    method="Richardson",
    side=None,
    method_args=None,
    *,
    args=(),
    kwargs=None,
    vectorized=True,
    max_batch=None,
    full_output=False,
):
    """Gradient of a scalar function, numDeriv's ``grad``, in one batched call.

    Parameters
    ----------
    func : callable
        ``func(x, *args, **kwargs)``. Vectorized (the default): ``x`` has shape
        ``(n, ...)`` with the n coordinates on axis 0 and evaluation points on
        the trailing axes, and func returns shape ``(...)``. An elementwise
        func (like ``sin``), whose ``func(x)`` has the shape of ``x``, gets the
        derivative at each element, as in numDeriv.
    x : array_like
        The point, shape ``(n,)``, or a batch of points, shape ``(n, *B)``
        (the gradient at each of them, still in one call). A scalar is one
        coordinate. Integers become float64; float32 is kept.
    method : {"Richardson", "simple", "complex"}, optional
        numDeriv's methods, case-insensitive. Default "Richardson".
    side : sequence, optional
        One of None (or NaN), +1, -1 per coordinate: one-sided differences
        toward +x or -x for those coordinates. Not with "complex".
    method_args : dict, optional
        numDeriv's ``method.args``: ``eps`` (1e-4), ``d`` (1e-4), ``zero_tol``
        (``sqrt(2.220446e-16 / 7e-7)``), ``r`` (4), ``v`` (2) and
        ``show_details`` (False); R's dotted names ``zero.tol`` and
        ``show.details`` are accepted.
    args, kwargs : optional
        Extra arguments of func.
    vectorized : bool, optional
        False: func takes one point of shape ``(n,)`` and xpdiff calls it once
        per point, as numDeriv does. Default True.
    max_batch : int, optional
        At most this many points per call of func; the batch is then split
        into the fewest calls that fit. Default: as many as keep the points of
        one call under ``xpdiff._batch.MEMORY_BUDGET`` (128 MiB).
    full_output : bool, optional
        Also return a :class:`GradInfo` with error estimates, counts, the
        Richardson table and the steps.

    Returns
    -------
    g : array
        Shape ``(n, *B)`` (``x``'s shape), in ``x``'s namespace and device
        and floating dtype.
    info : GradInfo
        Only with ``full_output=True``.

    Notes
    -----
    Richardson: the step is ``h = |d x| + eps (|x| < zero_tol)``; central
    differences with steps ``h, h/v, ..., h/v**(r-1)`` are extrapolated
    with factors ``v**(2m)`` (numDeriv's ``4**m`` for v = 2). One-sided
    differences (``side``) have error terms in every power of h and are
    extrapolated with ``v**m``; numDeriv uses ``4**m`` for both and for
    every v, which xpdiff corrects. "simple" is the forward (backward for
    ``side=-1``) difference with step ``eps``; "complex" is
    ``Im f(x + ih) / h`` with h the dtype's machine epsilon.

    float32 ``x`` is differentiated in float32 with steps for float32:
    Richardson's default ``d`` and ``eps`` grow by
    ``(eps32 / eps64) ** (1/3)``, "simple"'s ``eps`` becomes
    ``sqrt(eps32)``, and ``zero_tol`` is ``sqrt(eps32 / 7e-7)``.

    Function values that are not finite give NaN in the affected components,
    never a finite wrong number: test the result with ``isnan``.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> float(xd.grad(np.sin, np.pi))
    -0.9999999999933815
    >>> xd.grad(lambda x: np.sum(x**2, axis=0), [1.0, 2.0, 3.0])
    array([2., 4., 6.])

    numDeriv's ``func1`` at ``1:10``, Richardson and complex step:

    >>> func1 = lambda x: np.sin(10 * x) - np.exp(-x)
    >>> x = np.arange(1.0, 11.0)
    >>> exact = 10 * np.cos(10 * x) + np.exp(-x)
    >>> bool(np.max(np.abs(xd.grad(func1, x) - exact)) < 1e-8)
    True
    >>> bool(np.max(np.abs(xd.grad(func1, x, "complex") - exact)) < 1e-13)
    True
    """
    problem = setup(func, x, method, side, method_args, args, kwargs, vectorized, max_batch)
    xp, n, size = problem.xp, problem.n, problem.size
    f0 = problem.evaluator.at(xp, problem.x_shaped)
    head = tuple(f0.shape[: f0.ndim - len(problem.batch_shape)])
    elementwise = head == (n,) and (n > 1 or head == (1,))
    if not elementwise and head not in ((), (1,)):
        raise ValueError("grad assumes a scalar valued function.")
    f0 = xp.reshape(f0, (n, size) if elementwise else (1, size))
    value, error, table, steps = _first_derivatives(problem, f0, head, elementwise)
    if not elementwise:
        value, error = value[0, ...], error[0, ...]
        if table is not None:
            table = [[level[0, ...] for level in column] for column in table]
    return _finish(problem, value, error, table, steps, problem.shape, full_output)


def _first_derivatives(problem, f0, head, elementwise):
    """The method's first derivatives: ``(m, n, size)``, or ``(n, size)`` elementwise.

    Returns (value, error estimate, Richardson table or None, steps).
    """
    xp, device, settings = problem.xp, problem.device, problem.settings
    if problem.method == "Richardson":
        value, error, table, steps = _richardson(
            xp,
            problem.evaluator,
            problem.x,
            problem.sides,
            settings,
            head,
            elementwise,
            device,
            zero_rule=problem.zero_rule,
        )
        if settings.show_details:
            _print_table(table, problem.n)
        return value, error, table, xp.reshape(steps, (settings.r, *problem.x_shaped.shape))
    if problem.method == "simple":
        value, steps = _simple(
            xp,
            problem.evaluator,
            problem.x,
            f0,
            problem.sides,
            settings,
            head,
            elementwise,
            device,
        )
    else:
        value, steps = _complex_step(
            xp, problem.evaluator, problem.x, problem.sides, head, elementwise, device
        )
    error = xp.full(value.shape, math.nan, dtype=problem.x.dtype, device=device)
    return value, error, None, steps


def _finish(problem, value, error, table, steps, out_shape, full_output):
    """Shape the result like ``out_shape`` in x's dtype; add the GradInfo if asked."""
    xp = problem.xp
    value = xp.reshape(xp.astype(value, problem.x.dtype, copy=False), out_shape)
    if not full_output:
        return value
    info = GradInfo(
        error=xp.reshape(error, out_shape),
        nfev=problem.evaluator.nfev,
        ncalls=problem.evaluator.ncalls,
        table=table,
        steps=steps,
        method=problem.method,
        method_args=problem.settings.as_dict(),
    )
    return value, info


# --- jacobian --------------------------------------------------------------------------


def jacobian(
    func,
    x,
    method="Richardson",
    side=None,
    method_args=None,
    *,
    args=(),
    kwargs=None,
    vectorized=True,
    max_batch=None,
    full_output=False,
):
    """Jacobian of a vector function, numDeriv's ``jacobian``, in one batched call.

    Parameters
    ----------
    func : callable
        ``func(x, *args, **kwargs)``; vectorized (the default), ``x`` has shape
        ``(n, ...)`` and func returns ``(m, ...)`` (or ``(...)`` for m = 1).
        func is never taken as elementwise: an m == n function gets its full
        m x n Jacobian.
    x : array_like
        The point, shape ``(n,)``, or points ``(n, *B)``.
    method, side, method_args, args, kwargs, vectorized, max_batch
        As in :func:`grad`.
    full_output : bool, optional
        Also return a :class:`GradInfo` (error estimate of shape ``(m, n, *B)``).

    Returns
    -------
    J : array
        Shape ``(m, n, *B)``: ``J[i, j]`` is the derivative of output i with
        respect to coordinate j. numDeriv's m x n matrix for one point.

    Notes
    -----
    numDeriv's methods and steps, as in :func:`grad`, without grad's
    elementwise case and 1e-20 rule (numDeriv's jacobian has neither). Every
    perturbed point goes to func in one call, plus one call at ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> func2 = lambda x: np.concatenate([np.sin(x), np.cos(x)])  # numDeriv's example
    >>> np.round(xd.jacobian(func2, [0.0, 2 * np.pi]), 10) + 0.0
    array([[1., 0.],
           [0., 1.],
           [0., 0.],
           [0., 0.]])
    >>> f = lambda x: np.stack([x[0] * x[1], x[0] + x[1] ** 2])
    >>> xd.jacobian(f, [2.0, 3.0], method="complex")
    array([[3., 2.],
           [1., 6.]])
    """
    problem = setup(
        func, x, method, side, method_args, args, kwargs, vectorized, max_batch, zero_rule=False
    )
    xp, n, size = problem.xp, problem.n, problem.size
    f0 = problem.evaluator.at(xp, problem.x_shaped)
    head = tuple(f0.shape[: f0.ndim - len(problem.batch_shape)])
    m = math.prod(head)
    f0 = xp.reshape(f0, (m, size))
    value, error, table, steps = _first_derivatives(problem, f0, head, False)
    return _finish(problem, value, error, table, steps, (m, n, *problem.batch_shape), full_output)
