"""Function mode, the Hessian-vector product ``hvp`` (H(x) @ v) of a scalar function.

The four-point mixed difference of e_i and v, ``(f(x + h e_i + t v) - f(x -
h e_i + t v) - f(x + h e_i - t v) + f(x - h e_i - t v)) / (4 h t)``, whose
error series has only even powers when h and t shrink together,
extrapolated by Richardson. The base points are ``x +- t v / v**k`` (per
level and direction); the family is a gradient's central pair around each
of them, with steps ``h_i / v**k``: ``4 r n`` points per direction, linear
in n. The direction's handling and step rule are ``jvp``'s
(``products``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np

from .. import _backend
from .._numerics.richardson import richardson_coefficients
from . import engine as _engine
from . import point_chunks as _point_chunks
from . import problem as _problem
from . import results as _results
from . import schemes as _schemes
from . import steps as _steps
from .around import run_around
from .layout import itemsize_of
from .products import as_directions, direction_step, product_result, scaled_back

__all__ = ["hvp"]

HVP_METHODS = ("Richardson",)


@overload
def hvp(
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
def hvp(
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
) -> _results.HVPResult: ...


def hvp(
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
) -> Any | _results.HVPResult:
    """Hessian-vector product ``H(x) @ v`` of a scalar function, in one batched call.

    ``4 r n`` points per direction (16 n by default) and one call at x,
    where :func:`hessian` needs ``2 r n (n + 1)``: at n = 200, 50 times
    fewer. The product that truncated-Newton and trust-region Krylov
    methods need (``scipy.optimize.minimize(..., hessp=...)``).

    Parameters
    ----------
    func : callable
        A scalar function, vectorized as in :func:`grad`: it gets ``(n,
        points)`` and returns ``(points,)``.
    x : array_like
        The point, shape ``(n,)``.
    v : array_like
        The direction, shape ``(n,)``, or k directions as the columns of an
        ``(n, k)`` array (all in the same call), as :func:`jvp`'s: an array of
        x's library on any device, a NumPy array or a list.
    method : {"Richardson"}, optional
        The four-point mixed difference of e_i and v (see Notes),
        extrapolated over ``r`` levels.
    method_args : dict, optional
        numDeriv's ``eps``, ``d``, ``zero_tol``, ``r``, ``v``, with
        :func:`hessian`'s default ``d`` = 0.1 (``show_details`` is a
        ValueError: hvp builds no Richardson table). Coordinate i moves by ``h_i =
        d |x_i|`` (``eps`` where ``|x_i| < zero_tol``), the direction by ``t
        v`` with ``t`` numDeriv's step for ``|x|_inf`` divided by
        ``|v|_inf``. As :func:`jvp`'s step along v, ``t`` suits a func that
        varies on the scale of ``|x|_inf`` along every coordinate v moves; for
        coordinates of very different scales (x = [1000, 1] with func
        ``exp(x[1])``: the direction [0, 1] moves x[1] by 100, and the product
        comes out -1e38, its error estimate 1e38) rescale them, give ``d``, or
        use ``hessian(func, x) @ v``.
    args, kwargs, vectorized, max_batch, workers
        As in :func:`grad`.
    full_output : bool, optional
        Return a :class:`~xpdiff.HVPResult` (the product, its error
        estimate, ``nfev``, ``ncalls``, the steps).

    Returns
    -------
    Hv : array
        Shape ``(n,)`` for v of shape ``(n,)``, ``(n, k)`` for k
        directions; x's namespace, device and dtype.
    res : HVPResult
        Instead of ``Hv``, with ``full_output=True``.

    Notes
    -----
    Component i is ``(f(x + h_i e_i + t v) - f(x - h_i e_i + t v) - f(x +
    h_i e_i - t v) + f(x - h_i e_i - t v)) / (4 h_i t)``, whose error is a
    series in even powers when ``h_i`` and ``t`` shrink together: Richardson
    levels ``k = 0 .. r-1`` use ``h_i / v**k`` and ``t / v**k`` and are
    extrapolated with numDeriv's factors ``v**(2m)``, the error estimate
    being the difference from the column before, as in :func:`grad`.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> f = lambda x: x[0] ** 2 * x[1] + np.exp(x[1])  # H = [[2 x1, 2 x0], [2 x0, e^x1]]
    >>> Hv = xd.hvp(f, [1.0, 0.0], [1.0, 1.0])
    >>> np.round(Hv, 8) + 0.0
    array([2., 3.])
    """
    problem = _problem.setup(
        func,
        x,
        method,
        None,
        method_args,
        _problem.CallOptions(args, kwargs, vectorized, max_batch, workers, full_output),
        methods=HVP_METHODS,
        function="hvp",
        defaults={"d": 0.1},
        derivative_order=2,
    )
    xp, n, s = problem.xp, problem.n, problem.settings
    directions, k, one = as_directions(problem, v)
    f0, head = _engine.value_at_x(problem)
    if math.prod(head) != 1:
        raise ValueError(
            f"hvp assumes a scalar valued function: func(x) has shape {tuple(f0.shape)}"
        )
    t, power = direction_step(xp, problem.x, directions, s)  # (1, k)
    if power is not None:  # the step along v / power (products.along)
        directions = directions / power
    magnitude = xp.abs(problem.x)
    h = xp.where(magnitude < s.zero_tol, magnitude * s.d + s.eps, magnitude * s.d)  # (n,)
    host_w = _hvp_weights(s.r, s.v)
    w = _backend.host_to_device(host_w, xp, problem.device, problem.dtype)
    # each level's pair weighs four values by its weight: their amplification
    amplification = 4.0 * float(np.sum(np.abs(host_w[:, 0])))
    itemsize = itemsize_of(xp, problem.dtype)
    floor = max(1, problem.budget // _point_chunks.SHARE)
    # held throughout: f(x), the directions, h and |x|
    budget = max(problem.budget - (1 + n * k + 2 * n) * itemsize, floor)
    # per direction: its 2r columns of base points and steps (the engine counts their
    # differences), the differences joined, and its product's temporaries (value and
    # error, a few of each)
    held, kept = (3 * 2 * s.r + 8) * n * itemsize, 2 * n * itemsize

    def part(b0: int, b1: int, rest: int) -> tuple[Any, Any]:
        with np.errstate(all="ignore"):  # an infinite direction: NaN, not a NumPy warning
            tv = directions[:, b0:b1] * t[:, b0:b1]
        sub = problem.with_budget(max(rest - (b1 - b0) * 8 * n * itemsize, floor))
        differences = _central_pairs(sub, f0, head, tv, h)  # (n, k', 2r)
        with np.errstate(all="ignore"):
            # each level's + and - base points first: a zero direction's are the same
            # points, so its product is 0 exactly (weighted apart, a fused multiply-add
            # left their rounding: 2e-15 beside a product of 1)
            pairs = differences[:, :, 0::2] - differences[:, :, 1::2]  # (n, k', r)
            steps = xp.reshape(h, (n, 1, 1)) * xp.reshape(t[:, b0:b1], (1, -1, 1))
            out = (pairs @ w) / steps
            out = xp.where(xp.isfinite(out), out, math.nan)
            noise = _rounding(xp, f0, differences, directions[:, b0:b1], steps, amplification)
        return out[:, :, 0], xp.abs(out[:, :, 1]) + noise

    value, error = _point_chunks.in_chunks(xp, k, budget, held, kept, part)
    value, error, t = scaled_back(xp, power, value, error, t)  # H v, the step along v
    shape = (n,) if one else (n, k)
    return product_result(problem, _results.HVPResult, value, error, shape, (h, t))


def _rounding(
    xp: Any, f0: Any, differences: Any, directions: Any, steps: Any, amplification: float
) -> Any:
    """The value's rounding error, ``(n, k')``: ``steps.value_rounding`` (the engine's
    Richardson estimates' term) over the steps; 0 along a zero direction, whose points
    are the same and whose product is 0 exactly."""
    spread = xp.max(xp.abs(differences), axis=2, keepdims=True)
    noise = _steps.value_rounding(xp, xp.reshape(f0, ()), spread, amplification)
    moves = xp.reshape(xp.any(directions != 0, axis=0), (1, -1, 1))  # (1, k', 1)
    return xp.where(moves, noise / steps, 0.0)[:, :, 0]


def _hvp_weights(r: int, ratio: float) -> np.ndarray:
    """``(r, 2)``: the value's and the error's weights of the ``r`` levels' differences
    (the + base point's minus the - one's).

    Level k: ``1 / (4 v**(-2k))`` times numDeriv's Richardson coefficient of
    level k (value) or its difference from the column before (error).
    """
    value_c, previous_c = richardson_coefficients(r, ratio, False)
    folded = ratio ** (2.0 * np.arange(r)) / 4
    return np.stack([value_c * folded, (value_c - previous_c) * folded]).T


@functools.lru_cache(maxsize=16)
def _pairs_scheme(n: int) -> _schemes.LinearScheme:
    """``f(b + h_i e_i) - f(b - h_i e_i)`` for each of ``n`` coordinates (cached per n: the
    engine's plans are cached per scheme, and a scheme made per call would never be
    found again while its plans stayed)."""
    family = _schemes.Family(
        _schemes.frozen(np.arange(n)[:, None]),
        _schemes.frozen(np.array([[[1.0], [-1.0]]])),
        True,
        n,
    )
    return _schemes.LinearScheme(family, _schemes.frozen(np.array([[[1.0, -1.0]]])))


def _central_pairs(problem: _engine.Problem, f0: Any, head: tuple, tv: Any, h: Any) -> Any:
    """``f(b + h_i e_i) - f(b - h_i e_i)`` at each base point ``b = x + tau t v / v**l``.

    ``tv`` is ``t v`` per direction ``(n, k)``; returns ``(n, k, 2 r)``, by
    direction, then level, then sign. The ``2 r k`` base points (columns) go
    to the engine in chunks where their base points, steps and differences
    would take more than half the budget (``point_chunks.in_chunks``): each
    column's differences are its own, the same numbers however they are cut.
    """
    xp, n, s, device = problem.xp, problem.n, problem.settings, problem.device
    r, ratio, k = s.r, s.v, tv.shape[1]
    # column c: direction c // 2r, level and sign c % 2r -> tau / v**l
    levels = np.tile(
        np.repeat(ratio ** -np.arange(r, dtype=np.float64), 2) * np.tile([1.0, -1.0], r), k
    )
    scheme = _pairs_scheme(n)
    itemsize = itemsize_of(xp, problem.dtype)
    floor = max(1, problem.budget // _point_chunks.SHARE)

    def part(c0: int, c1: int, rest: int) -> Any:
        w = c1 - c0
        taken = xp.take(
            tv, _backend.host_to_device(np.arange(c0, c1) // (2 * r), xp, device), axis=1
        )
        scale = _backend.host_to_device(levels[c0:c1], xp, device, problem.dtype)
        with np.errstate(all="ignore"):  # an infinite x or step: NaN, not a NumPy warning
            base = xp.reshape(problem.x, (n, 1)) + taken * xp.reshape(scale, (1, w))  # (n, w)
        del taken
        hg = xp.reshape(xp.reshape(h, (n, 1)) * xp.reshape(xp.abs(scale), (1, w)), (1, n, 1, w))
        sub = problem.with_budget(max(rest - w * 2 * n * itemsize, floor))
        return run_around(sub, scheme, f0, head, hg, base)  # (1, n, 1, w)

    size = k * 2 * r  # a column holds its base point and steps; the engine its differences
    rows = _point_chunks.in_chunks(xp, size, problem.budget, 2 * n * itemsize, n * itemsize, part)
    return xp.reshape(rows, (n, k, 2 * r))
