"""Function mode, matrix-free products: ``jvp`` (J(x) @ v) and ``hvp`` (H(x) @ v).

Both are schemes of the engine whose base points and steps, not whose
families, carry the direction v, so that their cost does not depend on
how many coordinates x has the way a Jacobian's or a Hessian's does:

- ``jvp``: the derivative of ``s -> f(x + s v)`` at 0. The base points are
  x, once per direction; the family is an elementwise function's (every
  coordinate moves), with ``t v`` as the steps: a set moves x to ``x +
  c t v``. numDeriv's Richardson scheme of one coordinate then gives ``J
  v`` from ``2 r`` points per direction, whatever n is.
- ``hvp`` (``hessvec``, which takes this module's direction handling): the
  four-point mixed difference of e_i and v around base points ``x +- t v /
  v**k``, ``4 r n`` points per direction, linear in n.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np

from .. import _backend, _host
from . import around as _around
from . import engine as _engine
from . import mixing as _mixing
from . import passes as _passes
from . import point_chunks as _point_chunks
from . import problem as _problem
from . import quick_jvp as _quick_jvp
from . import results as _results
from . import schemes as _schemes
from .layout import itemsize_of
from .quick_jvp import JVP_METHODS, host_weights, jvp_scheme

__all__ = ["along", "as_directions", "direction_step", "jvp", "product_result", "scaled_back"]


def as_directions(problem: _engine.Problem, v: Any) -> tuple[Any, int, bool]:
    """v as ``(n, k)`` in the problem's namespace, device and dtype; k; whether v was 1-D.

    v of x's own namespace is used as it is; host data (a NumPy array, a
    list) is moved to x's device; an array of a third library is a
    TypeError.
    """
    xp, n = problem.xp, problem.n
    if len(problem.shape) != 1:
        raise ValueError(f"x must be a vector of shape (n,), got shape {problem.shape}")
    if v is None or isinstance(v, (str, bytes)):
        raise TypeError(f"v must be a real array of shape ({n},) or ({n}, k), got {v!r:.40}")
    if isinstance(v, np.ma.MaskedArray):
        raise TypeError("v is a masked array: the product cannot honour a mask; pass v.filled(0)")
    v_xp, v = _backend.array_namespace(v)
    if not _host.is_numeric(v_xp, v.dtype):
        raise TypeError(f"v must be a real array, got dtype {v.dtype}")
    if v_xp is not xp:
        _backend.array_namespace(problem.x, (v,), what="direction v", first="x")  # a third library
        v = _backend.host_to_device(np.asarray(v), xp, problem.device)
    else:  # x's library, maybe on another device: moved as host data is
        v = _backend.to_device(v, problem.device)
    shape: tuple[int, ...] = tuple(v.shape)
    one = len(shape) == 1
    if shape != (n,) and not (len(shape) == 2 and shape[0] == n and shape[-1] >= 1):
        raise ValueError(f"v must have shape ({n},) or ({n}, k) with k >= 1, got shape {shape}")
    if v.dtype != problem.dtype:
        if xp.isdtype(v.dtype, "complex floating"):
            raise TypeError(f"v must be real, got dtype {v.dtype}")
        with np.errstate(over="ignore"):  # beyond x's dtype (1e39 for float32): inf, NaN
            v = xp.astype(v, problem.dtype)
    return (xp.reshape(v, (n, 1)) if one else v), (1 if one else shape[-1]), one


def direction_step(xp: Any, x: Any, v: Any, settings: Any) -> tuple[Any, Any]:
    """numDeriv's step rule along v: ``h(|x|_inf) / |v|_inf`` per direction, as
    :func:`along` gives it (the step, and None or the power of two v goes over).

    The largest coordinate moves by numDeriv's step for the largest
    coordinate of x.
    """
    size = _host.max_abs(xp, x)  # x's own size
    h = size * settings.d
    return along(xp, _host.pick_scalar(xp, size < settings.zero_tol, h + settings.eps, h), v)


def along(xp: Any, h: Any, v: Any) -> tuple[Any, Any]:
    """The step ``h / |v|_inf`` per direction, ``(1, k)``, and None (numDeriv's step,
    the same bits as ever: NumPy steps all normal floats) or a power of two per
    direction, ``(1, k)``: the points are then ``x + c t (v / power)``, no coordinate
    farther than h, and the product goes back times the power (:func:`scaled_back`).

    The power is 1 where the step is a normal float; else (a subnormal v: an infinite
    step and NaN; a huge one: a subnormal step, 1e308 gave NaN) the power of two (at
    most the dtype's largest) that brings v's largest coordinate into [1, 2). A zero
    direction gets step h (its points are x).
    """
    norm = _largest(xp, v)
    with np.errstate(over="ignore", under="ignore"):
        t = h / _host.where_positive(xp, norm, 1.0)
    if _host.all_normal(xp, t):
        return t, None  # (read on the host: the everyday case, no logarithm)
    info = xp.finfo(t.dtype)
    scaled = (
        (norm > 0) & (norm < math.inf) & ~((t >= float(info.smallest_normal)) & (t < math.inf))
    )
    exponent = xp.floor(xp.log2(xp.where(scaled, norm, 1.0)))
    top = float(_host.max_exponent(xp, t.dtype))  # log2 of the largest may round up
    power = xp.where(scaled, _host.exp2(xp, xp.where(exponent > top, top, exponent)), 1.0)
    with np.errstate(over="ignore"):
        return xp.where(scaled, h / xp.where(scaled, norm / power, 1.0), t), power


def scaled_back(xp: Any, power: Any, value: Any, error: Any, t: Any) -> tuple[Any, Any, Any]:
    """The product and its error times ``power``, and the step along v itself (``t /
    power``); for ``power`` None (:func:`along`: every step normal), the arrays
    themselves. NaN along a step that is not finite (an infinite x: its points
    are x's, and their differences, 0, gave a product of 0 with an error of 0)."""
    if power is None:
        return value, error, t
    lost = ~(xp.abs(t) < math.inf)  # (1, k): the step along v / power (inf: x's is)
    with np.errstate(over="ignore", under="ignore"):  # beyond float's range: inf, 0
        value, t = xp.where(lost, math.nan, value * power), t / power
        error = None if error is None else xp.where(lost, math.nan, error * power)
    return value, error, t


#: directions of at most this many numbers take ``max(|a|)`` through a temporary
SMALL_DIRECTIONS = 1 << 16


def _largest(xp: Any, a: Any) -> Any:
    """``max(|a|)`` over axis 0, kept (``(1, k)``); for many directions without a
    temporary of ``a``'s size: the larger of the largest and minus the smallest (the
    same numbers, in three operations where there are two)."""
    if a.shape[0] * a.shape[1] <= SMALL_DIRECTIONS:
        return _host.max_abs(xp, a, axis=0)
    return xp.maximum(xp.max(a, axis=0, keepdims=True), -xp.min(a, axis=0, keepdims=True))


def product_result(
    problem: _engine.Problem, kind: type, value: Any, error: Any, shape: tuple, steps: Any
) -> Any:
    """The product as an array of ``shape``, or with ``full_output`` its ``kind`` of
    result (the error NaN where the method has no estimate: ``error`` None)."""
    xp = problem.xp
    value = xp.reshape(value, shape)
    if not problem.full_output:
        return value
    if error is None:
        error = xp.full(shape, math.nan, dtype=problem.dtype, device=problem.device)
    return _results.result(kind, problem, value, xp.reshape(error, shape), steps=steps)


def _one_call(problem: _engine.Problem, columns: int) -> bool:
    """x and every point of the product together, in one call.

    So it is for ``vectorized=False`` (point by point), and for a vectorized
    func that passed the check that it does not mix points on this kind of
    call before (``passes.passed_before``), whose number of outputs is then
    known: where the points and func's values fit the memory budget, with
    ``max_batch`` at or above the points and no workers. Otherwise the
    engine lays the calls out, with the call at x on its own (and, where the
    check is due, the check of ``engine.run``).
    """
    itemsize = 16 if problem.method == "complex" else 8
    outputs = 0  # vectorized=False: func's values are func's (one point at a time)
    if _mixing.may_mix(problem.evaluator):
        known = _passes.passed_before(problem)
        if known is None:
            return False  # x alone, then the check
        outputs = known
    return (
        (problem.max_batch is None or columns <= problem.max_batch)
        and problem.evaluator.min_calls == 1
        and 4 * columns * (problem.n + outputs) * itemsize <= problem.budget
    )


def _jvp_one_call(
    problem: _engine.Problem, scheme: _schemes.LinearScheme, directions: Any, t: Any
) -> tuple[Any, tuple]:
    """x, then set l of direction j at ``x + multipliers[l] t_j v_j``, in one call.

    The lean path: the points in one broadcast, one call of func, one
    weighted sum (the engine's ``combine_linear``, so the same bits as its
    layout). Returns the scheme's outputs ``(m, 1, Q', k)`` divided by the steps ``t``
    ``(1, k)``, and the output's shape.
    """
    xp, n, device, dtype, k = problem.xp, problem.n, problem.device, problem.dtype, t.shape[1]
    sets = scheme.family.sets
    single = dtype == xp.float32
    point_dtype = _backend.complex_dtype(xp, dtype) if scheme.family.is_complex else dtype
    moves, weights, error = host_weights(scheme, single)
    moves = _backend.host_to_device(moves, xp, device, point_dtype)
    weights = _backend.host_to_device(weights, xp, device, dtype)
    if error is not None and problem.full_output:
        error = _backend.host_to_device(error, xp, device, dtype)
    else:
        error = None
    x = problem.x if point_dtype == dtype else xp.astype(problem.x, point_dtype)
    # built as (1 + sets k, n), each operation along the n coordinates (an inner loop
    # over the sets was twice as slow), then transposed once into (n, 1 + sets k): x,
    # then set l of direction j in column 1 + l k + j (the same numbers)
    with np.errstate(all="ignore"):  # an infinite direction: NaN points, not NumPy warnings
        steps_v = directions * t  # (n, k): set l moves x by multipliers[l] * t v
        rows_of_points = _host.stack_moved(
            xp,
            x,
            xp.reshape(moves, (sets, 1, 1)),
            xp.reshape(xp.permute_dims(steps_v, (1, 0)), (1, k, n)),
        )
    points = _backend.row_major_transpose(xp, rows_of_points)
    values = problem.evaluator.at(xp, points, device)
    head = tuple(values.shape[:-1])
    m = math.prod(head)
    values = xp.reshape(values, (m, 1 + sets * k))
    f0 = xp.reshape(values[:, 0], (m, 1, 1, 1))
    if scheme.family.is_complex:  # x in complex arithmetic: where func is complex, its real
        # value is not defined (sqrt(-1 + 0j) = 1j, NaN in real arithmetic): NaN there, as
        # f(x) from a real call gives (combine_linear's rule for an f0 that is not finite)
        f0 = xp.where(xp.imag(f0) == 0, f0, math.nan)
    values = xp.reshape(values[:, 1:], (m, 1, sets, k))
    step = xp.reshape(t, (1, 1, 1, k))
    rows = _engine.combine_linear(xp, scheme, values, f0, weights, step, error, None, True)
    return rows, head


def _jvp_engine(
    problem: _engine.Problem, scheme: _schemes.LinearScheme, directions: Any, t: Any
) -> tuple[Any, tuple]:
    """The engine's layout: the call at x, then the points in the calls it chooses.

    Within the memory budget (``point_chunks.in_chunks``): f(x) and the
    directions held throughout; per direction its steps ``t v`` and its
    outputs, twice (the engine's and divided by t; x as its base point and
    f(x) beside it are views), counted; the directions in chunks where they
    would take more than half the budget. Returns the outputs ``(m, 1, Q',
    k)`` divided by t.
    """
    xp, n, k, itemsize = problem.xp, problem.n, t.shape[1], itemsize_of(problem.xp, problem.dtype)
    f0, head = _engine.value_at_x(problem)
    m = math.prod(head)
    outputs = scheme.weights.shape[1] * (1 + (problem.full_output and scheme.error is not None))
    floor = max(1, problem.budget // _point_chunks.SHARE)
    budget = max(problem.budget - (m + n * k) * itemsize, floor)  # f(x), the directions
    held = (2 * n + 2 * outputs * m) * itemsize

    def part(b0: int, b1: int, rest: int) -> Any:
        w = b1 - b0
        tw = t[:, b0:b1]
        with np.errstate(all="ignore"):  # an infinite direction: NaN, not a NumPy warning
            steps = xp.reshape(directions[:, b0:b1] * tw, (n, 1, 1, w))
        base = xp.broadcast_to(xp.reshape(problem.x, (n, 1)), (n, w))  # x, once per direction
        sub = problem.with_budget(max(rest - w * held, floor))
        if problem.method == "Richardson" and 4 * scheme.family.sets * m * itemsize > sub.budget:
            return _around.by_levels(sub, f0, head, steps, base, tw, outputs)  # 2 sets
        rows = _around.run_around(sub, scheme, f0, head, steps, base)
        with np.errstate(all="ignore"):
            return rows / xp.reshape(tw, (1, 1, 1, w))  # (m, 1, Q', w)

    rows = _point_chunks.in_chunks(xp, k, budget, held, outputs * m * itemsize, part)
    return rows, head


# --- jvp -----------------------------------------------------------------------------------


@overload
def jvp(
    func: Callable[..., Any],
    x: Any,
    v: Any,
    /,
    method: str = "Richardson",
    method_args: dict | None = None,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: Literal[False] = False,
) -> Any: ...


@overload
def jvp(
    func: Callable[..., Any],
    x: Any,
    v: Any,
    /,
    method: str = "Richardson",
    method_args: dict | None = None,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: Literal[True],
) -> _results.JVPResult: ...


def jvp(
    func: Callable[..., Any],
    x: Any,
    v: Any,
    /,
    method: str = "Richardson",
    method_args: dict | None = None,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: bool = False,
) -> Any | _results.JVPResult:
    """Jacobian-vector product ``J(x) @ v`` without the Jacobian, in one batched call.

    The directional derivative of func along each column of v: ``2 r``
    points per direction (8 by default) and one call at x, whatever the
    number of coordinates n, where :func:`jacobian` needs ``2 r n``.

    Parameters
    ----------
    func : callable
        ``func(x, *args, **kwargs)``, vectorized as in :func:`jacobian`: it
        gets ``(n, points)`` and returns ``(points,)`` or ``(m, points)``.
    x : array_like
        The point, shape ``(n,)``.
    v : array_like
        The direction, shape ``(n,)``, or k directions as the columns of an
        ``(n, k)`` array (all in the same call). An array of x's library (on
        any of its devices), a NumPy array or a list: it is moved to x's
        device; another library's array is a TypeError.
    method : {"Richardson", "simple", "complex"}, optional
        numDeriv's methods, along v: Richardson's central differences
        extrapolated over ``r`` levels (default), the forward difference
        (step ``eps / |v|_inf``: NaN where it moves no coordinate), or the
        complex step ``Im f(x + i h t v) / (h t)`` with ``t = 1 / |v|_inf``
        (no coordinate moves farther than ``i h``).
    method_args : dict, optional
        numDeriv's ``eps``, ``d``, ``zero_tol``, ``r``, ``v`` (``show_details``
        is a ValueError: jvp builds no Richardson table). The step along
        v is numDeriv's step for the largest coordinate of x, ``d |x|_inf``
        (``eps`` where ``|x|_inf < zero_tol``), divided by ``|v|_inf``, so that
        no coordinate moves farther than that (where that step is not a
        normal float, v is taken over a power of two and the product
        multiplied back: a subnormal or huge v gives its product). It suits a
        func that varies on the scale of ``|x|_inf`` along every coordinate v
        moves (coordinates near 0 then cost no accuracy, where
        :func:`jacobian`'s relative steps do); for coordinates of very
        different scales (x = [1000, 1e-3] with func varying on 1e-3 along
        the second), rescale them, give ``d``, or use ``jacobian(func, x) @
        v``. A component of v far below ``|v|_inf`` moves its coordinate by a
        few units of x's rounding, and its share of the product loses digits
        without a word (4 at 1e-8 of ``|v|_inf``, all at 1e-13: v = [1e13, 1]
        on the identity gives [1e13, 0], error 0): give it a direction of its
        own (v of shape (n, k)).
    args, kwargs, vectorized, max_batch, workers
        As in :func:`grad`.
    full_output : bool, optional
        Return a :class:`~xpdiff.JVPResult` (the product, its error
        estimate, ``nfev``, ``ncalls``, the step along each direction).

    Returns
    -------
    Jv : array
        Shape ``(m,)`` for v of shape ``(n,)`` (``()`` for a scalar func),
        ``(m, k)`` for k directions; x's namespace, device and dtype.
    res : JVPResult
        Instead of ``Jv``, with ``full_output=True``.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> f = lambda x: np.stack([x[0] * x[1], np.sin(x[0]) + x[2] ** 2])
    >>> x, v = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, -1.0])
    >>> np.round(xd.jvp(f, x, v), 10)
    array([ 2.        , -5.45969769])
    >>> bool(np.allclose(xd.jvp(f, x, np.eye(3)), xd.jacobian(f, x), rtol=1e-10))
    True
    """
    if (
        type(x) is np.ndarray
        and type(v) is np.ndarray
        and type(method) is str
        and method == "Richardson"
        and _problem.defaults_only(
            method_args, args, kwargs, vectorized, max_batch, workers, full_output
        )
    ):  # the everyday call: planned once (quick_jvp), where func passed the mixing check
        plan = _quick_jvp.plan_for(func, x, v)
        value = None if plan is None else plan.jvp(func, x, v)
        if value is not None:
            return value
    problem = _problem.setup(
        func,
        x,
        method,
        None,
        method_args,
        _problem.CallOptions(args, kwargs, vectorized, max_batch, workers, full_output),
        methods=JVP_METHODS,
        function="jvp",
    )
    xp, s, n = problem.xp, problem.settings, problem.n
    directions, k, one = as_directions(problem, v)
    h = _engine.machine_eps(xp, problem.dtype) if problem.method == "complex" else 0.0
    scheme = jvp_scheme(problem.method, s.r, s.v, h)
    if problem.method == "complex":  # no coordinate moves farther than i h: 1 / |v|_inf
        t, power = along(xp, 1.0, directions)
    elif problem.method == "simple":
        t, power = along(xp, s.eps, directions)
    else:
        t, power = direction_step(xp, problem.x, directions, s)
    if power is not None:  # the step along v / power (along)
        directions = directions / power
    if _one_call(problem, 1 + scheme.family.sets * k):
        rows, head = _jvp_one_call(problem, scheme, directions, t)  # (m, 1, Q', k)
    else:  # within the memory budget, in chunks of directions if need be
        rows, head = _jvp_engine(problem, scheme, directions, t)
    if problem.method == "simple":  # an absolute step eps that moves x nowhere: NaN, not 0
        x, finite = xp.reshape(problem.x, (n, 1)), xp.isfinite(directions)  # no 0 inf
        moved = x + t * xp.where(finite, directions, 0.0) != x
        still = ~xp.any(moved, axis=0) & xp.any(directions != 0, axis=0)
        rows = xp.where(xp.reshape(still, (1, 1, 1, k)), math.nan, rows)
    error = rows[:, 0, 1, :] if full_output and scheme.error is not None else None
    if error is not None:  # a zero direction's points are x: its product is 0 exactly
        error = xp.where(xp.any(directions != 0, axis=0), error, 0.0)
    value, error, t = scaled_back(xp, power, rows[:, 0, 0, :], error, t)  # J u times it: J v
    shape, steps = ((*head, k), xp.reshape(t, (k,))) if not one else (head, xp.reshape(t, ()))
    return product_result(problem, _results.JVPResult, value, error, shape, steps)
