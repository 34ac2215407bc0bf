"""Function mode, second derivatives: numDeriv's genD and hessian, batched.

This module combines the resolver (``_backend``), the step rules and
Richardson tables (``_steps``), the batch machinery (``_batch``) and the
first-derivative pieces of ``_function``. It follows R's numDeriv ``genD``
and ``hessian`` (R/num2Deriv.R) step for step, but evaluates all
``1 + r (n**2 + n)`` points of genD in one call of ``func`` (or the fewest
calls that ``max_batch`` allows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _backend, _batch, _function

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


def _pair_sets(xp, x, h_i, h_j, first, second):
    """Sets x +- (h_i e_i + h_j e_j) of level k, in (k, sign, pair) order.

    ``h_i``, ``h_j``: the steps of each pair's coordinates, ``(r, P, size)``;
    ``first``, ``second``: the pairs' coordinates as host integers.
    """
    r, p_count, size = h_i.shape
    plus = xp.stack([h_i, h_j], axis=2)  # (r, P, 2, size)
    moves = xp.stack([plus, -plus], axis=1)  # (r, 2, P, 2, size)
    moves = xp.reshape(moves, (r * 2 * p_count, 2, size))
    coords = np.tile(np.stack([first, second], axis=1), (2 * r, 1))
    return _batch.PointSets(x, moves, coords)


def _genD_values(problem, func_head, f0):
    """D as (m, n(n+3)/2, size), numDeriv's genD arithmetic on one batch of points."""
    xp, device, settings = problem.xp, problem.device, problem.settings
    x, n, size = problem.x, problem.n, problem.size
    m = math.prod(func_head)
    r = settings.r
    step_stack = _function.richardson_steps(xp, x, settings)  # (r, n, size)
    pairs = [(i, j) for i in range(n) for j in range(i)]
    groups = [_function.richardson_point_sets(xp, x, step_stack, [math.nan] * n, device)]
    if pairs:
        first = np.array([i for i, _ in pairs])
        second = np.array([j for _, j in pairs])
        idx_i = _backend.host_to_device(first, xp, device)
        idx_j = _backend.host_to_device(second, xp, device)
        h_i = xp.take(step_stack, idx_i, axis=1)  # (r, P, size)
        h_j = xp.take(step_stack, idx_j, axis=1)
        groups.append(_pair_sets(xp, x, h_i, h_j, first, second))
    values = problem.evaluator.on(xp, groups, func_head)
    f0 = xp.reshape(f0, (m, 1, 1, size))

    sides = [math.nan] * n
    diag = xp.reshape(values[0], (m, r, 2, n, size))
    f1, f2 = diag[:, :, 0, ...], diag[:, :, 1, ...]
    first = xp.permute_dims((f1 - f2) / (2 * step_stack), (1, 0, 2, 3))  # (r, m, n, size)
    second = xp.permute_dims((f1 - 2 * f0 + f2) / (step_stack * step_stack), (1, 0, 2, 3))
    gradient, gradient_error, _ = _function.extrapolate(
        xp, first, sides, settings, device, zero_rule=False
    )
    hdiag, hdiag_error, _ = _function.extrapolate(
        xp, second, sides, settings, device, zero_rule=False
    )

    if not pairs:
        return (
            xp.concat([gradient, hdiag], axis=1),
            xp.concat([gradient_error, hdiag_error], axis=1),
            step_stack,
        )
    p_count = len(pairs)
    mixed_values = xp.reshape(values[1], (m, r, 2, p_count, size))
    f1, f2 = mixed_values[:, :, 0, ...], mixed_values[:, :, 1, ...]
    d_i = xp.take(hdiag, idx_i, axis=1)  # (m, P, size)
    d_j = xp.take(hdiag, idx_j, axis=1)
    # numDeriv: (f1 - 2 f0 + f2 - Hdiag_i h_i^2 - Hdiag_j h_j^2) / (2 h_i h_j)
    numerator = (
        f1 - 2 * f0 + f2 - d_i[:, None, ...] * (h_i * h_i) - d_j[:, None, ...] * (h_j * h_j)
    )
    offdiag_levels = xp.permute_dims(numerator / (2 * h_i * h_j), (1, 0, 2, 3))
    offdiag, offdiag_error, _ = _function.extrapolate(
        xp, offdiag_levels, [math.nan] * p_count, settings, device, zero_rule=False
    )
    pair_index = {pair: n + k for k, pair in enumerate(pairs)}
    order = [i if i == j else pair_index[(i, j)] for i in range(n) for j in range(i + 1)]
    order = _backend.host_to_device(np.array(order), xp, device)

    def layout(first_part, diagonal, mixed):
        # numDeriv's columns: gradient, then the lower triangle by rows
        both = xp.concat([diagonal, mixed], axis=1)  # (m, n + P, size)
        return xp.concat([first_part, xp.take(both, order, axis=1)], axis=1)

    return (
        layout(gradient, hdiag, offdiag),
        layout(gradient_error, hdiag_error, offdiag_error),
        step_stack,
    )


def genD(
    func,
    x,
    method="Richardson",
    method_args=None,
    *,
    args=(),
    kwargs=None,
    vectorized=True,
    max_batch=None,
    full_output=False,
):
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
    args, kwargs, vectorized, max_batch
        As in :func:`grad`.
    full_output : bool, optional
        Also return a :class:`GradInfo` whose ``error`` has D's shape (the
        difference of the last two Richardson levels of each entry).

    Returns
    -------
    GenD
        ``D`` has shape ``(m, n (n + 3) / 2, *B)`` in numDeriv's column order.
    info : GradInfo
        Only with ``full_output=True``.

    Notes
    -----
    All ``1 + r (n**2 + n)`` points (x, then ``x +- h_i e_i`` and
    ``x +- (h_i e_i + h_j e_j)`` for i > j at r step levels) go to func in
    one call plus the call at ``x``, or in the fewest calls of at most
    ``max_batch`` points; the default keeps one call's points under
    ``xpdiff._batch.MEMORY_BUDGET`` (128 MiB).

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
    problem = _function.setup(
        func, x, method, None, method_args, args, kwargs, vectorized, max_batch, derivative_order=2
    )
    if problem.method != "Richardson":
        raise ValueError("method not implemented.")
    xp = problem.xp
    f0 = problem.evaluator.at(xp, problem.x_shaped)
    head = tuple(f0.shape[: f0.ndim - len(problem.batch_shape)])
    m = math.prod(head)
    D, error, steps = _genD_values(problem, head, f0)
    n = problem.n
    shape = (m, n * (n + 3) // 2, *problem.batch_shape)
    D = xp.reshape(xp.astype(D, problem.x.dtype, copy=False), shape)
    result = GenD(
        D=D,
        p=n,
        f0=xp.reshape(f0, (m, *problem.batch_shape)),
        x=problem.x_shaped,
        d=problem.settings.d,
        method="Richardson",
        method_args=problem.settings.as_dict(),
        nfev=problem.evaluator.nfev,
        ncalls=problem.evaluator.ncalls,
    )
    if not full_output:
        return result
    return result, _info(problem, xp.reshape(error, shape), steps)


def _info(problem, error, steps):
    """The GradInfo of a second-derivative call."""
    xp = problem.xp
    steps = xp.reshape(steps, (problem.settings.r, *problem.x_shaped.shape))
    return _function.GradInfo(
        error=error,
        nfev=problem.evaluator.nfev,
        ncalls=problem.evaluator.ncalls,
        table=None,
        steps=steps,
        method=problem.method,
        method_args=problem.settings.as_dict(),
    )


def hessian(
    func,
    x,
    method="Richardson",
    method_args=None,
    *,
    args=(),
    kwargs=None,
    vectorized=True,
    max_batch=None,
    full_output=False,
):
    """Hessian of a scalar function, numDeriv's ``hessian``, in one batched call.

    Parameters
    ----------
    func : callable
        Vectorized scalar function: ``x`` of shape ``(n, ...)``, returns ``(...)``.
    x : array_like
        The point ``(n,)`` or points ``(n, *B)``.
    method : {"Richardson", "complex"}
        "Richardson": from :func:`genD` with numDeriv's hessian default
        ``d = 0.1``. "complex": numDeriv's Richardson Jacobian of the
        complex-step gradient, all complex-step gradients at all Richardson
        points in one call (``2 r n**2`` complex points).
    method_args : dict, optional
        ``eps`` (1e-4), ``d`` (0.1), ``zero_tol``, ``r`` (4), ``v`` (2).
    args, kwargs, vectorized, max_batch
        As in :func:`grad`.
    full_output : bool, optional
        Also return a :class:`GradInfo` whose ``error`` has H's shape.

    Returns
    -------
    H : array
        Shape ``(n, n, *B)``, symmetric for "Richardson" (numDeriv's
        construction); for "complex" numDeriv's Jacobian of the gradient,
        ``H[i, j]`` the derivative of gradient component i in coordinate j.
    info : GradInfo
        Only with ``full_output=True``.

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
    """
    problem = _function.setup(
        func,
        x,
        method,
        None,
        method_args,
        args,
        kwargs,
        vectorized,
        max_batch,
        defaults={"d": 0.1},
        derivative_order=2,
    )
    xp = problem.xp
    f0 = problem.evaluator.at(xp, problem.x_shaped)
    head = tuple(f0.shape[: f0.ndim - len(problem.batch_shape)])
    if math.prod(head) != 1:
        raise ValueError("Richardson method for hessian assumes a scalar valued function.")
    n, size = problem.n, problem.size
    out_shape = (n, n, *problem.batch_shape)
    if problem.method == "Richardson":
        D, D_error, steps = _genD_values(problem, head, f0)
        index = np.zeros((n, n), dtype=np.int64)
        k = n  # D's columns after the gradient: the lower triangle by rows
        for i in range(n):
            for j in range(i + 1):
                index[i, j] = index[j, i] = k
                k += 1
        flat = _backend.host_to_device(index.reshape(-1), xp, problem.device)
        H = xp.reshape(xp.take(D[0, ...], flat, axis=0), (n, n, size))
        error = xp.reshape(xp.take(D_error[0, ...], flat, axis=0), (n, n, size))
    elif problem.method == "complex":
        H, error, steps = _complex_hessian(problem, head)
    else:
        raise ValueError("method not implemented.")
    H = xp.reshape(xp.astype(H, problem.x.dtype, copy=False), out_shape)
    if not full_output:
        return H
    return H, _info(problem, xp.reshape(error, out_shape), steps)


def _complex_hessian(problem, head):
    """numDeriv: jacobian(Richardson) of grad(complex), every complex point in one call."""
    xp, device, settings = problem.xp, problem.device, problem.settings
    x, n, size = problem.x, problem.n, problem.size
    r = settings.r
    sides = [math.nan] * n
    step_stack = _function.richardson_steps(xp, x, settings)
    real_sets = _function.richardson_point_sets(xp, x, step_stack, sides, device)
    # the 2rn Richardson points, as base points of the complex step
    base = real_sets.chunk(xp, 0, real_sets.points)  # (n, 2rn * size)
    real = x.dtype
    cdtype = xp.complex128 if real == xp.float64 else xp.complex64
    h = float(xp.finfo(real).eps)
    imag = xp.full((n, 1, base.shape[1]), complex(0.0, h), dtype=cdtype, device=device)
    sets = _batch.PointSets(xp.astype(base, cdtype), imag, np.arange(n)[:, None])
    values = _function.complex_values(xp, problem.evaluator, sets, head)
    gradients = xp.imag(xp.reshape(values, (n, 2 * r * n * size))) / h  # (n_out, points)
    gradients = xp.reshape(gradients, (n, r, 2, n, size))
    first = (gradients[:, :, 0, ...] - gradients[:, :, 1, ...]) / (2 * step_stack)
    first = xp.permute_dims(first, (1, 0, 2, 3))  # (r, n_out, n, size)
    value, error, _ = _function.extrapolate(xp, first, sides, settings, device, zero_rule=False)
    return value, error, step_stack
