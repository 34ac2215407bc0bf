"""Function mode, first derivatives: numDeriv's grad and jacobian, batched.

Each call is: check the arguments (``problem.setup``, the shared keywords
held in one ``problem.CallOptions``), call func at x to learn the output's
shape, build the method's scheme on the host (``schemes``: the points and
the folded Richardson weights), evaluate all its points in one batched call,
or the fewest that the memory budget and ``max_batch`` allow
(``engine.run``), and combine each group's values with one weighted
reduction (``engine.combine_linear``). The methods are
numDeriv's (R/numDeriv.R); which scheme serves which method is the table
:data:`FIRST_DERIVATIVE_SCHEMES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, overload

import numpy as np

from .._typing import Array, ArrayLike, SparseMatrix
from . import engine as _engine
from . import first_methods as _first_methods
from . import problem as _problem
from . import quick as _quick
from . import results as _results
from . import sparse_first as _sparse_first
from .first_methods import FIRST_DERIVATIVE_SCHEMES, first_derivatives

__all__ = ["FIRST_DERIVATIVE_SCHEMES", "first_derivatives", "grad", "jacobian"]


# --- grad -------------------------------------------------------------------------------


@overload
def grad(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
    /,
    method: str = "Richardson",
    side: ArrayLike | None = None,
    method_args: dict | None = None,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: Literal[False] = False,
) -> Array: ...


@overload
def grad(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
    /,
    method: str = "Richardson",
    side: ArrayLike | None = None,
    method_args: dict | None = None,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: Literal[True],
) -> _results.GradResult: ...


def grad(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
    /,
    method: str = "Richardson",
    side: ArrayLike | None = None,
    method_args: dict | None = None,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: bool = False,
) -> Array | _results.GradResult:
    """Gradient of a scalar function, numDeriv's ``grad``, in one batched call.

    Parameters
    ----------
    func : callable
        ``func(x, *args, **kwargs)``. Vectorized (the default): ``x`` has shape
        ``(n, ...)`` with the n coordinates on axis 0 and evaluation points on
        the trailing axes, and func returns shape ``(...)``. An elementwise
        func (like ``sin``), whose ``func(x)`` has the shape of ``x``, gets the
        derivative at each element, as in numDeriv. func must give each point
        the value it gives that point alone: a reduction without ``axis=0``
        (``np.sum(x)``, ``x.max()``) mixes the points and is refused with a
        ValueError (NumPy arrays; see "What xpdiff refuses").
    x : array_like
        The point, shape ``(n,)``, or a batch of points, shape ``(n, *B)``
        (the gradient at each of them, still in one call). A scalar is one
        coordinate. Integers become float64 (as does NumPy's longdouble, wider
        than the work's float64); float32 is kept; shorter floats (float16,
        bfloat16) become float32, the result's dtype too. An empty batch
        ``(n, 0)`` gives an empty result.
    method : {"Richardson", "simple", "complex", "adaptive"}, optional
        numDeriv's methods, case-insensitive, and xpdiff's "adaptive", whose
        steps are chosen per coordinate from the function in three calls
        (see Notes, and "Choosing a method" in the documentation). Default
        "Richardson".
    side : sequence, optional
        One of None (or NaN), +1, -1 per coordinate: one-sided differences
        toward +x or -x for those coordinates. Not with "complex".
    method_args : dict, optional
        numDeriv's ``method.args``: ``eps`` (1e-4), ``d`` (1e-4), ``zero_tol``
        (``sqrt(2.220446e-16 / 7e-7)``), ``r`` (4), ``v`` (2) and
        ``show_details`` (False); R's dotted names ``zero.tol`` and
        ``show.details`` are accepted. For "adaptive": ``d`` (0.1, the
        pilot's relative step), ``r`` (4, the ladder's levels, 2 to 10) and
        ``v`` (2, the ratio of its steps, at least 1.5).
    args, kwargs : optional
        Extra arguments of func.
    vectorized : bool, optional
        False: func takes one point of shape ``(n,)`` and xpdiff calls it once
        per point, as numDeriv does. Default True.
    max_batch : int, optional
        At most this many points per call of func; the batch is then split
        into the fewest calls that fit. Default: as many as the memory budget
        allows (:func:`get_memory_budget`: 128 MiB on the host by default),
        which counts the points of a call, the values kept and the result.
    workers : int or callable, optional
        Evaluate the calls in parallel. An int k starts a pool of k processes
        (-1: one per core) for this derivative; a map-like callable
        ``workers(func, iterable)`` is used as it is (scipy.optimize's
        convention: ``concurrent.futures`` executors' ``.map``,
        ``multiprocessing.Pool.map``, a Dask client's
        ``get_executor().map``). The batch is split into chunks (by
        ``max_batch``; by default into as many chunks as processes, or cores
        for a map-like callable, within the memory budget), each chunk one
        call of func and one task; with ``vectorized=False`` each point is a
        task. Results equal ``workers=None``'s. func, args and kwargs must be
        picklable for processes. Default None: in this process.
    full_output : bool, optional
        Return a :class:`~xpdiff.GradResult` instead of the array: the
        gradient (``value``) with error estimates, counts, the Richardson
        table and the steps. It unpacks as ``(value, info)``.

    Returns
    -------
    g : array
        Shape ``(n, *B)`` (``x``'s shape), in ``x``'s namespace and device
        and floating dtype.
    res : GradResult
        Instead of ``g``, with ``full_output=True``.

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

    numDeriv's rule that a level below 1e-20 stops the extrapolation is
    left out: it flips the sign of derivatives of small functions
    (``1e-21 * x**2``), and the plain extrapolation is right at any scale.

    "adaptive" calls func three times: at x, at a pilot of three points per
    coordinate (``x +- T/256``, ``x + T``, ``T = 0.1 max(|x|, 1)``), whose
    first three derivatives estimate the length over which func changes,
    and at a ladder of ``r`` pairs of points ``x +- H / v**k`` with H chosen
    from that length (one-sided: ``2r`` points ``x + s H / v**k``). Every
    entry of the ladder's Richardson table is an estimate; each component
    keeps the one with the smallest error estimate (its difference from the
    order below plus its rounding error) among those whose points are all
    finite, so a domain edge (log near 0) costs accuracy, not a NaN. 12
    points per derivative (11 one-sided), no loop and no transfer to the
    host: it runs under ``jax.jit``, lazily on Dask and on GPUs. On the 16
    test functions of ``benchmarks/bench_adaptive.py`` its median relative
    error is 1e-14, where Richardson's is 6e-12.

    float32 ``x`` is differentiated in float32 with steps for float32:
    Richardson's default ``d`` and ``eps`` grow by
    ``(eps32 / eps64) ** (1/3)``, the ``eps`` of method "simple" becomes
    ``sqrt(eps32)``, and ``zero_tol`` is ``sqrt(eps32 / 7e-7)``.

    Function values that are not finite give NaN in the affected components,
    never a finite wrong number: test the result with ``isnan``.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> print(f"{float(xd.grad(np.sin, np.pi)):.12f}")  # numDeriv: -0.999999999993
    -0.999999999993
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

    Steps from the function itself: near 0, numDeriv's absolute step
    (``1e-4``) takes sqrt below 0; "adaptive" keeps the estimates whose
    points stay in the domain:

    >>> x = np.array([1e-8, 1e-6])
    >>> with np.errstate(invalid="ignore"):  # sqrt of negative numbers: NaN
    ...     print(xd.grad(np.sqrt, x))
    ...     g = xd.grad(np.sqrt, x, method="adaptive")
    [nan nan]
    >>> print(np.abs(g * 2 * np.sqrt(x) - 1).max() < 1e-13)
    True
    """
    f0 = None
    if (
        type(x) is np.ndarray
        and side is None
        and _problem.defaults_only(
            method_args, args, kwargs, vectorized, max_batch, workers, full_output
        )
    ):  # the everyday call: planned once (quick), where func passed the mixing check
        plan = _quick.plan_for(func, x, method)
        if plan is not None:
            f0 = plan.value_at_x(func, x)
            if f0.shape in plan.heads:
                return plan.gradient(func, x, f0)
            # not a scalar function's value this time: the general path, from f0
    options = _problem.CallOptions(args, kwargs, vectorized, max_batch, workers, full_output)
    problem = _problem.setup(func, x, method, side, method_args, options)
    n = problem.n
    f0, head = _engine.value_at_x(problem, f0)
    elementwise = head == (n,)
    if not elementwise and head not in ((), (1,)):
        raise ValueError("grad assumes a scalar valued function.")
    out = first_derivatives(problem, f0, head, elementwise)
    value = problem.xp.reshape(out["value"], problem.shape)
    res = _first_methods.first_derivative_result(problem, out, value, _results.GradResult)
    return res if full_output else value


# --- jacobian --------------------------------------------------------------------------


@overload
def jacobian(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
    /,
    method: str = "Richardson",
    side: ArrayLike | None = None,
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
def jacobian(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
    /,
    method: str = "Richardson",
    side: ArrayLike | None = None,
    method_args: dict | None = None,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: Literal[True],
    sparsity: ArrayLike | SparseMatrix | tuple | None = None,
) -> _results.JacobianResult: ...


def jacobian(
    func: Callable[..., ArrayLike],
    x: ArrayLike,
    /,
    method: str = "Richardson",
    side: ArrayLike | None = None,
    method_args: dict | None = None,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: bool = False,
    sparsity: ArrayLike | SparseMatrix | tuple | None = None,
) -> Array | SparseMatrix | _results.JacobianResult:
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
    method, side, method_args, args, kwargs, vectorized, max_batch, workers
        As in :func:`grad`.
    full_output : bool, optional
        Return a :class:`~xpdiff.JacobianResult` (error estimate of shape
        ``(m, n, *B)``, or in the format of the result with ``sparsity``); it
        unpacks as ``(value, info)``.
    sparsity : array_like, sparse matrix or tuple, optional
        The Jacobian's pattern, for one point x of shape ``(n,)``: a boolean
        ``(m, n)`` array (nonzero: the entry may be nonzero), a scipy.sparse
        (or, on CuPy, cupyx.scipy.sparse) matrix or array, or scipy's
        ``(structure, groups)`` with a group number per column. Columns that
        share no row move together (Curtis, Powell and Reid): xpdiff groups
        them (greedy colouring in column order; b groups for bandwidth b)
        unless ``groups`` are given, which are checked (a group whose columns
        share a row is a ValueError). Every group, level and sign of the
        method goes to func in one call (chunked by the memory budget), so
        the cost is that of a dense Jacobian of as many coordinates as
        groups. Every method works; with ``side``, each group holds columns
        of one side.

    Returns
    -------
    J : array or sparse matrix
        Shape ``(m, n, *B)``: ``J[i, j]`` is the derivative of output i with
        respect to coordinate j. numDeriv's m x n matrix for one point. With
        ``sparsity``: the pattern's entries in its format (a dense array of
        x's library with zeros elsewhere; scipy CSR, as ``csr_matrix`` or
        ``csr_array`` like the pattern; cupyx CSR on CuPy).
    res : JacobianResult
        Instead of ``J``, with ``full_output=True``.

    Notes
    -----
    numDeriv's methods and steps, as in :func:`grad`, without grad's
    elementwise case (numDeriv's jacobian has none). Every perturbed point
    goes to func in one call, plus one call at ``x``; the memory budget
    counts the m function values of each point and the result, so a large
    m is evaluated in chunks whose values are combined as they come.

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

    A sparse Jacobian: the residuals of a tridiagonal system, three groups of
    columns whatever n is, one call for all of them:

    >>> import scipy.sparse as sp
    >>> def residual(u):  # u has shape (n, ...); rows depend on u[i-1], u[i], u[i+1]
    ...     r = 2 * u - u**2 / 4
    ...     r[1:] -= u[:-1]
    ...     r[:-1] -= u[1:]
    ...     return r
    >>> n = 6
    >>> pattern = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n), format="csr")
    >>> J = xd.jacobian(residual, np.linspace(0, 1, n), sparsity=pattern)
    >>> type(J).__name__, J.nnz
    ('csr_matrix', 16)
    >>> np.round(J.toarray()[:3], 6) + 0.0
    array([[ 2. , -1. ,  0. ,  0. ,  0. ,  0. ],
           [-1. ,  1.9, -1. ,  0. ,  0. ,  0. ],
           [ 0. , -1. ,  1.8, -1. ,  0. ,  0. ]])
    """
    options = _problem.CallOptions(args, kwargs, vectorized, max_batch, workers, full_output)
    problem = _problem.setup(func, x, method, side, method_args, options, function="jacobian")
    f0, head = _engine.value_at_x(problem)
    m = math.prod(head)
    if sparsity is not None:
        value, error = _sparse_first.sparse_jacobian(problem, f0, head, sparsity)
        if not full_output:
            return value
        return _results.result(_results.JacobianResult, problem, value, error)
    out = first_derivatives(problem, f0, head, False)
    shape = (m, problem.n, *problem.batch_shape)
    value = problem.xp.reshape(out["value"], shape)
    res = _first_methods.first_derivative_result(problem, out, value, _results.JacobianResult)
    return res if full_output else value
