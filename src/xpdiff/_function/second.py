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
from typing import Literal, overload

from .._typing import Array, ArrayLike, SparseMatrix
from . import engine as _engine
from . import problem as _problem
from . import results as _results
from . import second_methods as _second_methods
from . import sparse_second as _sparse_second

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

    D: Array
    p: int
    f0: Array
    x: Array
    d: float
    method: str
    method_args: dict
    nfev: int
    ncalls: int


def _second_problem(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
    method: str,
    method_args: dict | None,
    options: _problem.CallOptions,
    function: str,
    methods: tuple[str, ...],
    d: float | None = None,
) -> _problem.Problem:
    """The checked arguments of a second derivative: no side; ``d``, the default step."""
    return _problem.setup(
        func,
        x,
        method,
        None,
        method_args,
        options,
        methods=methods,
        function=function,
        defaults=None if d is None else {"d": d},
        derivative_order=2,
    )


@overload
def genD(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
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
    func: Callable[..., ArrayLike],
    x: ArrayLike,
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
    func: Callable[..., ArrayLike],
    x: ArrayLike,
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
        Richardson levels of each entry plus its rounding error); it unpacks
        as ``(GenD, info)``.

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
    options = _problem.CallOptions(args, kwargs, vectorized, max_batch, workers, full_output)
    problem = _second_problem(func, x, method, method_args, options, "genD", ("Richardson",))
    xp, n = problem.xp, problem.n
    f0, head = _engine.value_at_x(problem)
    m = math.prod(head)
    out = _second_methods.genD_over_points(problem, f0, head)
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
    return _second_methods.second_result(_results.GenDResult, problem, result, error, out["steps"])


@overload
def hessian(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
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
    sparsity: ArrayLike | SparseMatrix | tuple | None = None,
) -> Array | SparseMatrix: ...


@overload
def hessian(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
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
    sparsity: ArrayLike | SparseMatrix | tuple | None = None,
) -> _results.HessianResult: ...


def hessian(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
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
    sparsity: ArrayLike | SparseMatrix | tuple | None = None,
) -> Array | SparseMatrix | _results.HessianResult:
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
        points in one call (``2 r n**2`` complex points), after func at those
        ``2 r n`` real points (a gradient is NaN where func is not finite
        there, as :func:`grad`'s complex step at x). "adaptive":
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
    options = _problem.CallOptions(args, kwargs, vectorized, max_batch, workers, full_output)
    methods = _second_methods.HESSIAN_METHODS
    problem = _second_problem(func, x, method, method_args, options, "hessian", methods, 0.1)
    xp, n = problem.xp, problem.n
    f0, head = _engine.value_at_x(problem)
    if math.prod(head) != 1:
        raise ValueError(f"{problem.method} method for hessian assumes a scalar valued function.")
    if sparsity is not None:
        H, error = _sparse_second.sparse_hessian(problem, f0, head, sparsity)
        if not full_output:
            return H
        return _results.result(_results.HessianResult, problem, H, error)
    out = _second_methods.hessian_over_points(problem, f0, head)
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
    return _second_methods.second_result(_results.HessianResult, problem, H, error, out["steps"])
