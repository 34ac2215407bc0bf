"""Function mode, second derivatives: numDeriv's genD and hessian, batched.

genD (R/num2Deriv.R) evaluates ``1 + r (n**2 + n)`` points: x, the
diagonal family ``x +- h_i e_i / v**k`` and the pair family
``x +- (h_i e_i + h_j e_j) / v**k`` (i > j). Both go to func in one call (or
the fewest that the memory budget and ``max_batch`` allow, through
``_engine.run``), and each family's Richardson table is folded into weights
(``_schemes.genD_scheme``), so each group of values is combined with one
weighted reduction; the mixed entries then lose the diagonal terms as in
numDeriv. hessian's "complex" method is the Richardson Jacobian of
complex-step gradients: the complex-step scheme evaluated at every
Richardson point of the gradient, in one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np

from .. import _backend
from . import adaptive as _adaptive
from . import engine as _engine
from . import points as _points
from . import results as _results
from . import schemes as _schemes
from . import sparse as _sparse
from . import steps as _steps

__all__ = ["GenD", "genD", "hessian"]


@dataclass
class GenD:
    """numDeriv's ``Darray``: what :func:`genD` returns.

    Attributes
    ----------
    D : array
        Shape ``(m, n (n + 3) / 2, *B)``: for each of the m outputs, the n
        first derivatives, then the second derivatives of the lower triangle
        by rows, (1,1), (2,1), (2,2), (3,1), ... (numDeriv's layout, 0-based
        here: (0,0), (1,0), (1,1), (2,0), ...).
    p : int
        The number of coordinates n.
    f0 : array
        ``func(x)``, shape ``(m, *B)``.
    x : array
        The point(s).
    d : float
        The relative step used.
    method : str
        "Richardson".
    method_args : dict
        The settings used, defaults included.
    nfev, ncalls : int
        Points evaluated (x included) and calls of func.
    """

    D: Any
    p: int
    f0: Any
    x: Any
    d: float
    method: str
    method_args: dict
    nfev: int
    ncalls: int


def _genD_values(
    problem: _engine.Problem, f0, head: tuple, *, first: bool = True, scheme=None
) -> dict:
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

    def second(S):
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


@overload
def genD(
    func: Callable[..., Any],
    x: Any,
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
) -> GenD: ...


@overload
def genD(
    func: Callable[..., Any],
    x: Any,
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
) -> _results.GenDResult: ...


def genD(
    func: Callable[..., Any],
    x: Any,
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
) -> GenD | _results.GenDResult:
    """First and second derivatives, numDeriv's ``genD``, in one batched call.

    Parameters
    ----------
    func : callable
        Vectorized: ``x`` of shape ``(n, ...)``, returns ``(m, ...)`` or ``(...)``.
    x : array_like
        The point ``(n,)`` or points ``(n, *B)``.
    method : {"Richardson"}
        The only method of genD, as in numDeriv.
    method_args : dict, optional
        ``eps``, ``d``, ``zero_tol``, ``r``, ``v`` with numDeriv's defaults
        (``d = 1e-4``). ``v`` other than 2 uses the extrapolation factors that
        fit it (numDeriv stops with an error).
    args, kwargs, vectorized, max_batch, workers
        As in :func:`grad`.
    full_output : bool, optional
        Return a :class:`~xpdiff.GenDResult` whose ``value`` is the GenD and
        whose ``error`` has D's shape (the difference of the last two
        Richardson levels of each entry); it unpacks as ``(GenD, info)``.

    Returns
    -------
    GenD
        ``D`` has shape ``(m, n (n + 3) / 2, *B)`` in numDeriv's column order.
    res : GenDResult
        Instead of the GenD, with ``full_output=True``.

    Notes
    -----
    All ``1 + r (n**2 + n)`` points (x, then ``x +- h_i e_i`` and
    ``x +- (h_i e_i + h_j e_j)`` for i > j at r step levels) go to func in
    one call plus the call at ``x``, or in the fewest calls of at most
    ``max_batch`` points that the memory budget allows
    (:func:`get_memory_budget`).

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> f = lambda x: np.stack([x[0], x[0], x[1] ** 2])  # numDeriv's example
    >>> result = xd.genD(f, [2.0, 2.0, 5.0])
    >>> result.D.shape
    (3, 9)
    >>> np.round(result.D[2], 5) + 0.0  # numDeriv too gives 1.9999993 for the 2
    array([0., 4., 0., 0., 0., 2., 0., 0., 0.])
    """
    problem = _engine.setup(
        func,
        x,
        method,
        None,
        method_args,
        args=args,
        kwargs=kwargs,
        vectorized=vectorized,
        max_batch=max_batch,
        workers=workers,
        full_output=full_output,
        methods=("Richardson",),
        function="genD",
        derivative_order=2,
    )
    xp, n = problem.xp, problem.n
    f0, head = _engine.value_at_x(problem)
    m = math.prod(head)
    out = _genD_values(problem, f0, head)
    shape = (m, n * (n + 3) // 2, *problem.batch_shape)
    result = GenD(
        D=xp.reshape(out["D"], shape),
        p=n,
        f0=xp.reshape(f0, (m, *problem.batch_shape)),
        x=xp.reshape(xp.asarray(problem.x, copy=True), problem.shape),
        d=problem.settings.d,
        method="Richardson",
        method_args=problem.settings.as_dict(),
        nfev=problem.evaluator.nfev,
        ncalls=problem.evaluator.ncalls,
    )
    if not full_output:
        return result
    error = xp.reshape(out["error"], shape)
    return _second_result(_results.GenDResult, problem, result, error, out["steps"])


def _second_result(cls, problem, value, error, hg):
    """The ``cls`` result of a Richardson second-derivative call: steps ``(r, n, *B)``."""
    xp, settings = problem.xp, problem.settings
    scale = _backend.host_to_device(
        settings.v ** -np.arange(settings.r, dtype=np.float64), xp, problem.device, problem.dtype
    )
    steps = xp.reshape(
        xp.reshape(scale, (settings.r, 1)) * xp.reshape(hg, (1, problem.n * problem.size)),
        (settings.r, *problem.shape),
    )
    return _results.result(cls, problem, value, error, steps=steps)


@overload
def hessian(
    func: Callable[..., Any],
    x: Any,
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
    sparsity: Any = None,
) -> Any: ...


@overload
def hessian(
    func: Callable[..., Any],
    x: Any,
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
    sparsity: Any = None,
) -> _results.HessianResult: ...


def hessian(
    func: Callable[..., Any],
    x: Any,
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
    sparsity: Any = None,
) -> Any | _results.HessianResult:
    """Hessian of a scalar function, numDeriv's ``hessian``, in one batched call.

    Parameters
    ----------
    func : callable
        Vectorized scalar function: ``x`` of shape ``(n, ...)``, returns ``(...)``.
    x : array_like
        The point ``(n,)`` or points ``(n, *B)``.
    method : {"Richardson", "complex", "adaptive"}
        "Richardson": from :func:`genD` with numDeriv's hessian default
        ``d = 0.1``. "complex": numDeriv's Richardson Jacobian of the
        complex-step gradient, all complex-step gradients at all Richardson
        points in one call (``2 r n**2`` complex points). "adaptive":
        xpdiff's, steps chosen per coordinate from the function (as in
        :func:`grad`), a ladder of ``r`` second differences per diagonal
        entry and of ``r`` four-point mixed differences per pair, each entry
        the estimate with the smallest error estimate; three calls.
    method_args : dict, optional
        ``eps`` (1e-4), ``d`` (0.1), ``zero_tol``, ``r`` (4), ``v`` (2). For
        "adaptive": ``d`` (0.1), ``r`` (6, from 2 to 6: ``4r`` points per
        mixed entry) and ``v`` (2).
    args, kwargs, vectorized, max_batch, workers
        As in :func:`grad`.
    full_output : bool, optional
        Return a :class:`~xpdiff.HessianResult` whose ``error`` has H's shape
        (or format, with ``sparsity``); it unpacks as ``(H, info)``.
    sparsity : array_like, sparse matrix or tuple, optional
        The Hessian's symmetric pattern, for one point x of shape ``(n,)``, in
        the forms :func:`jacobian` accepts. "Richardson" and "adaptive"
        evaluate only the pattern's entries: every diagonal entry (the mixed
        formulas need them) and each pair (i, j) of the pattern, with the
        points of the dense method for that entry, ``2r (n + pairs)`` points
        for Richardson; a scalar function gives one number per point, so no
        grouping can do with fewer points than entries. "complex" is the
        sparse Jacobian of the complex-step gradient: the pattern's columns
        grouped as in :func:`jacobian`, the complex-step gradient at the
        ``2r`` points of each group, ``2 r n`` complex points per group.

    Returns
    -------
    H : array or sparse matrix
        Shape ``(n, n, *B)``, symmetric for "Richardson" (numDeriv's
        construction); for "complex" numDeriv's Jacobian of the gradient,
        ``H[i, j]`` the derivative of gradient component i in coordinate j.
        With ``sparsity``, the pattern's entries in its format.
    res : HessianResult
        Instead of ``H``, with ``full_output=True``.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> rosen = lambda x: 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
    >>> np.round(xd.hessian(rosen, [-1.2, 1.0]), 6)
    array([[1330.,  480.],
           [ 480.,  200.]])
    >>> np.round(xd.hessian(rosen, [-1.2, 1.0], method="complex"), 6)
    array([[1330.,  480.],
           [ 480.,  200.]])
    >>> H, info = xd.hessian(rosen, [-1.2, 1.0], method="adaptive", full_output=True)
    >>> np.round(H, 9), info.ncalls
    (array([[1330.,  480.],
           [ 480.,  200.]]), 3)
    """
    problem = _engine.setup(
        func,
        x,
        method,
        None,
        method_args,
        args=args,
        kwargs=kwargs,
        vectorized=vectorized,
        max_batch=max_batch,
        workers=workers,
        full_output=full_output,
        methods=HESSIAN_METHODS,
        function="hessian",
        defaults={"d": 0.1},
        derivative_order=2,
    )
    xp, n = problem.xp, problem.n
    f0, head = _engine.value_at_x(problem)
    if math.prod(head) != 1:
        raise ValueError(f"{problem.method} method for hessian assumes a scalar valued function.")
    if sparsity is not None:
        H, error = _sparse_hessian(problem, f0, head, sparsity)
        if not full_output:
            return H
        return _results.result(_results.HessianResult, problem, H, error)
    out = HESSIAN_METHODS_IMPL[problem.method](problem, f0, head)
    shape = (n, n, *problem.batch_shape)
    H = xp.reshape(out["H"], shape)
    if not full_output:
        return H
    if problem.method == "adaptive":
        return _results.result(
            _results.HessianResult,
            problem,
            H,
            xp.reshape(out["error"], shape),
            steps=xp.reshape(out["steps"], problem.shape),
            order=xp.reshape(out["order"], shape),
            step=xp.reshape(out["step"], shape),
        )
    error = xp.reshape(out["error"], shape)
    return _second_result(_results.HessianResult, problem, H, error, out["steps"])


def _richardson_hessian(problem, f0, head):
    """genD's lower triangle, mirrored (numDeriv's hessian)."""
    xp, n = problem.xp, problem.n
    out = _genD_values(problem, f0, head, first=False)
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


def _complex_hessian(problem, f0, head):
    """numDeriv: jacobian (Richardson) of grad (complex), every complex point in one call.

    The complex-step gradient is evaluated at each of the ``2 r n``
    Richardson points of the gradient: those points are the base points of
    the complex-step scheme, ``2 r n**2`` complex points in all.
    """
    xp, device, settings = problem.xp, problem.device, problem.settings
    n, size, r = problem.n, problem.size, settings.r
    richardson = _schemes.richardson_scheme(n, (math.nan,) * n, r, settings.v, False, False)
    x4, xg = problem.base_points()
    hg = _steps.numderiv_steps(xp, xg, settings)
    rect = _points.Rectangle(richardson.family, 0, n * 2 * r, 0, size)
    base = _points.build(xp, [rect], x4, xg, hg, problem.dtype, False)  # (n, n 2r size)
    count = n * 2 * r * size
    complex_step = _schemes.complex_step_scheme(n, _engine.machine_eps(xp, problem.dtype), False)
    gradients = _engine.run_linear(
        problem,
        complex_step,
        None,
        head,
        None,
        x4=xp.reshape(base, (n, 1, 1, count)),
        xg=xp.reshape(base, (1, n, 1, count)),
        own_base=True,
        at_x=f0,
    )
    # (1, i, 1, (j, level and sign, b)) -> (i, j, level and sign, b)
    gradients = xp.reshape(gradients, (n, n, 2 * r, size))
    weights = _backend.host_to_device(richardson.weights, xp, device, problem.dtype)
    with np.errstate(all="ignore"):  # NaN where f is: an answer, not a NumPy warning
        H = (weights @ gradients)[:, :, 0, :] / xp.reshape(hg, (1, n, size))
        out = {"H": xp.where(xp.isfinite(H), H, math.nan), "steps": hg}
        if problem.full_output:
            error = _backend.host_to_device(richardson.error, xp, device, problem.dtype)
            out["error"] = xp.abs((error @ gradients)[:, :, 0, :] / xp.reshape(hg, (1, n, size)))
    return out


def _sparse_hessian(problem, f0, head, sparsity):
    """A sparse Hessian ``(H, error)`` in the pattern's format (see :func:`hessian`)."""
    xp, device, settings = problem.xp, problem.device, problem.settings
    _sparse.require_one_point(problem)
    n = problem.n
    pattern = _sparse.pattern_of(sparsity, (n, n))
    first, second, index = _sparse.symmetric_pairs(pattern)  # pairs i > j
    if problem.method == "complex":
        return _sparse_complex_hessian(problem, f0, head, pattern)
    if problem.method == "adaptive":
        out = _adaptive.hessian_values(problem, f0, head, second, first)  # pairs as (j < i)
        values, error = out["rows"][:, 0, 0], out["rows"][:, 1, 0]
    else:
        # genD's groups: the n diagonal entries first, then the pairs
        scheme = _schemes.genD_pairs_scheme(
            np.concatenate([np.arange(n), first]),
            np.concatenate([np.arange(n), second]),
            np.arange(n),
            settings.r,
            settings.v,
        )
        out = _genD_values(problem, f0, head, first=False, scheme=scheme)
        values = out["D"][0, :, 0]
        error = out["error"][0, :, 0] if problem.full_output else None
    H = _sparse.assemble_values(xp, device, pattern, values, index)
    if error is None:
        error = xp.full(values.shape, math.nan, dtype=values.dtype, device=device)
    return H, _sparse.assemble_values(xp, device, pattern, error, index)


def _sparse_complex_hessian(problem, f0, head, pattern):
    """numDeriv's complex hessian on a pattern: the sparse Jacobian of the complex gradient.

    The pattern's column groups move together at the Richardson points of
    each group (``2r`` per group, masked like a sparse Jacobian's); the
    complex-step gradient at each of them (``n`` complex points), one call.
    Row i of the compressed Jacobian and group g is then column j's entry,
    divided by its step.
    """
    xp, device, settings = problem.xp, problem.device, problem.settings
    n, r = problem.n, settings.r
    base = _schemes.richardson_scheme(n, (math.nan,), r, settings.v, True, False)
    family = _schemes.masked_family(base.family, pattern.masks)
    x4, xg = problem.base_points()
    hg = _steps.numderiv_steps(xp, x4, settings)  # (n, 1, 1, 1)
    sets = pattern.count * 2 * r
    rect = _points.Rectangle(family, 0, sets, 0, 1)
    points = _points.build(xp, [rect], x4, xg, hg, problem.dtype, False)  # (n, sets)
    complex_step = _schemes.complex_step_scheme(n, _engine.machine_eps(xp, problem.dtype), False)
    gradients = _engine.run_linear(
        problem,
        complex_step,
        None,
        head,
        None,
        x4=xp.reshape(points, (n, 1, 1, sets)),
        xg=xp.reshape(points, (1, n, 1, sets)),
        own_base=True,
        at_x=f0,
    )
    # (1, i, 1, (group, level and sign)) -> (i, group, level and sign, 1)
    gradients = xp.reshape(gradients, (n, pattern.count, 2 * r, 1))
    weights = _backend.host_to_device(base.weights[:1], xp, device, problem.dtype)  # (1, 1, 2r)
    steps = xp.reshape(hg, (n,))
    with np.errstate(all="ignore"):
        compressed = (weights @ gradients)[:, :, 0, 0]  # (n, groups), per unit step
        H = _sparse.assemble(xp, device, pattern, compressed, steps)
        error = xp.full(compressed.shape, math.nan, dtype=compressed.dtype, device=device)
        if problem.full_output:
            e = _backend.host_to_device(base.error[:1], xp, device, problem.dtype)
            error = xp.abs((e @ gradients)[:, :, 0, 0])
    return H, _sparse.assemble(xp, device, pattern, error, steps)


#: hessian's methods: numDeriv's, and xpdiff's adaptive one
HESSIAN_METHODS = ("Richardson", "complex", "adaptive")
HESSIAN_METHODS_IMPL = {
    "Richardson": _richardson_hessian,
    "complex": _complex_hessian,
    "adaptive": _adaptive.hessian,
}
