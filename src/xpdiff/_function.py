"""Function mode: numDeriv's grad, with every perturbed point in one batched call.

This module combines the resolver (``_backend``), the step rules and
Richardson tables (``_steps``) and the batch machinery (``_batch``). It
follows R's numDeriv ``grad`` (R/numDeriv.R) step for step, but evaluates
all perturbed points of a derivative in one call of ``func`` instead of one
call per point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _backend, _batch, _steps

__all__ = ["GradInfo", "grad"]


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


def _column(xp, values, dtype, device):
    """Host numbers, one per coordinate, as an ``(n, 1)`` array of xp."""
    return _backend.host_to_device(
        np.asarray(values, dtype=np.float64)[:, None], xp, device, dtype
    )


# --- the three methods ---------------------------------------------------------------


def _richardson(xp, evaluator, x, sides, settings, elementwise, device):
    n, size = x.shape
    dtype = x.dtype
    r, v = settings.r, settings.v
    near_zero = xp.astype(xp.abs(x) < settings.zero_tol, dtype)
    h = xp.abs(settings.d * x) + settings.eps * near_zero
    plus = np.array([s == 1 for s in sides])
    minus = np.array([s == -1 for s in sides])
    plus_scale = _column(xp, np.where(plus, 2.0, np.where(minus, 0.0, 1.0)), dtype, device)
    minus_scale = _column(xp, np.where(minus, 2.0, np.where(plus, 0.0, 1.0)), dtype, device)

    steps = []
    for _ in range(r):
        steps.append(h)
        h = h / v  # numDeriv divides level by level, so do we
    step_stack = xp.stack(steps, axis=0)  # (r, n, size)
    forward = step_stack * plus_scale
    backward = -(step_stack * minus_scale)
    if elementwise:
        moves = xp.reshape(xp.stack([forward, backward], axis=1), (2 * r, n, size))
        sets = _batch.PointSets(x, moves, one_axis=False)
        values = xp.reshape(evaluator.on(xp, sets, (n,)), (n, r, 2, size))
        values = xp.permute_dims(values, (1, 2, 0, 3))  # (r, 2, n, size)
    else:
        moves = xp.reshape(xp.stack([forward, backward], axis=1), (2 * r * n, size))
        sets = _batch.PointSets(x, moves, one_axis=True)
        values = xp.reshape(evaluator.on(xp, sets, ()), (r, 2, n, size))
    # all r levels of central (or one-sided) differences at once: (r, n, size)
    first_order = (values[:, 0, ...] - values[:, 1, ...]) / (2 * step_stack)
    bad = xp.any(~xp.isfinite(first_order), axis=0)
    levels = [first_order[k, ...] for k in range(r)]
    if not elementwise:
        # numDeriv: once a level is below 1e-20 in magnitude, later levels stay zero
        zero = xp.zeros((), dtype=dtype, device=device)
        tiny = xp.abs(first_order) < 1e-20
        small = tiny[0, ...]
        for k in range(1, r):
            levels[k] = xp.where(small, zero, levels[k])
            small = small | tiny[k, ...]

    one_sided = [not math.isnan(s) for s in sides]
    if all(one_sided) or not any(one_sided):
        factors = _steps.extrapolation_factors(r, v, one_sided=one_sided[0])
    else:
        central = _steps.extrapolation_factors(r, v, one_sided=False)
        onesided = _steps.extrapolation_factors(r, v, one_sided=True)
        factors = [
            _column(xp, [o if s else c for s in one_sided], dtype, device)
            for c, o in zip(central, onesided, strict=True)
        ]
    table = _steps.richardson_table(levels, factors)
    result = table[-1][0]
    nan = xp.asarray(math.nan, dtype=dtype, device=device)
    result = xp.where(bad, nan, result)
    if r > 1:
        error = xp.abs(result - table[-2][-1])
    else:
        error = xp.full(result.shape, math.nan, dtype=dtype, device=device)
    return result, error, table, step_stack


def _simple(xp, evaluator, x, f0, sides, settings, elementwise, device):
    n, size = x.shape
    dtype = x.dtype
    eps = _column(xp, [settings.eps * (1.0 if math.isnan(s) else s) for s in sides], dtype, device)
    step = xp.broadcast_to(eps, (n, size))
    if elementwise:
        sets = _batch.PointSets(x, xp.reshape(step, (1, n, size)), one_axis=False)
        values = evaluator.on(xp, sets, (n,))[:, 0, :]
    else:
        sets = _batch.PointSets(x, step, one_axis=True)
        values = evaluator.on(xp, sets, ())
    result = (values - f0) / eps
    return result, eps


def _complex_step(xp, evaluator, x, sides, elementwise, device):
    if any(not math.isnan(s) for s in sides):
        raise ValueError("method 'complex' does not support non-NULL argument 'side'.")
    n, size = x.shape
    real = x.dtype
    cdtype = xp.complex128 if real == xp.float64 else xp.complex64
    h = float(xp.finfo(real).eps)
    xc = xp.astype(x, cdtype)
    imag_step = xp.full((n, size), complex(0.0, h), dtype=cdtype, device=device)
    try:
        if elementwise:
            sets = _batch.PointSets(xc, xp.reshape(imag_step, (1, n, size)), one_axis=False)
            values = evaluator.on(xp, sets, (n,))[:, 0, :]
        else:
            values = evaluator.on(xp, _batch.PointSets(xc, imag_step, one_axis=True), ())
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
    return xp.imag(values) / h, h


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
    method = _steps.canonical_method(method)
    if kwargs is None:
        kwargs = {}
    if not isinstance(args, tuple):
        args = (args,)
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
    size = math.prod(batch_shape)
    if max_batch is not None and (
        isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1
    ):
        raise ValueError(f"max_batch must be an integer >= 1 or None, got {max_batch!r}")

    sides = _parse_side(side, n)
    settings = _steps.method_settings(method, method_args, float(xp.finfo(x.dtype).eps))
    evaluator = _batch.Evaluator(func, args, kwargs, vectorized=vectorized, max_batch=max_batch)
    f0 = evaluator.at(xp, x)
    head = tuple(f0.shape[: f0.ndim - len(batch_shape)])
    elementwise = head == (n,) and (n > 1 or head == (1,))
    if not elementwise and head not in ((), (1,)):
        raise ValueError("grad assumes a scalar valued function.")
    f0 = xp.reshape(f0, (size,)) if not elementwise else xp.reshape(f0, (n, size))
    x_flat = xp.reshape(x, (n, size))

    table = None
    if method == "Richardson":
        g, error, table, steps = _richardson(
            xp, evaluator, x_flat, sides, settings, elementwise, device
        )
        steps = xp.reshape(steps, (settings.r, *x.shape))
        if settings.show_details:
            _print_table(table, n)
    elif method == "simple":
        g, steps = _simple(xp, evaluator, x_flat, f0, sides, settings, elementwise, device)
        error = xp.full((n, size), math.nan, dtype=x.dtype, device=device)
    else:
        g, steps = _complex_step(xp, evaluator, x_flat, sides, elementwise, device)
        error = xp.full((n, size), math.nan, dtype=x.dtype, device=device)

    g = xp.reshape(xp.astype(g, x.dtype, copy=False), shape)
    if not full_output:
        return g
    info = GradInfo(
        error=xp.reshape(error, shape),
        nfev=evaluator.nfev,
        ncalls=evaluator.ncalls,
        table=table,
        steps=steps,
        method=method,
        method_args=settings.as_dict(),
    )
    return g, info
