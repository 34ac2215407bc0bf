"""Array mode: derivatives of sampled data, numpy.gradient on every backend.

``gradient`` is compile once, run many: numpy.gradient's everyday call on a
NumPy array or a PyTorch tensor runs a program compiled for its signature
(``executors.compiled``, ``executors.torch``); any other call is checked
(``arguments``), planned axis by axis (``planner``; plans of scalar spacings
are cached per key) and carried out by the executor of f's library
(``executors``). The modules of that general path are imported with its
first call, not with ``import xpdiff``. Nothing is
written in place, so read-only NumPy arrays and JAX work, and Dask stays
lazy.

Bit-for-bit parity with numpy.gradient comes from doing numpy's operations in
numpy's order and dtypes: differences of ``f`` in ``f``'s dtype, spacings as
weak Python scalars or as strongly typed scalars/arrays of the coordinates'
dtype, each part promoted as NumPy 2 promotes it and cast once to the output
dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .. import _backend
from . import executors as _executors

__all__ = ["fd_weights", "gradient"]


def gradient(
    f: Any,
    *varargs: Any,
    axis: int | Sequence[int] | None = None,
    edge_order: int | None = None,
    n: int = 1,
    accuracy: int | None = None,
    periodic: bool | Sequence[bool] = False,
) -> Any:
    """Return the gradient of an N-dimensional array, as numpy.gradient does.

    The gradient is computed using second order accurate central differences
    in the interior points and either first or second order accurate
    one-sided (forward or backwards) differences at the boundaries. The
    returned gradient hence has the same shape as the input array. Arrays of
    any Array API library are accepted (NumPy, CuPy, PyTorch, JAX, Dask,
    array-api-strict, ...); results come back in the same library, on the same
    device.

    Parameters
    ----------
    f : array_like
        An N-dimensional array containing samples of a scalar function. Python
        scalars, lists and tuples are taken as NumPy arrays.
    *varargs : scalars or 1-D arrays, optional
        Spacing between f values. Default unitary spacing for all dimensions.
        Spacing can be specified using:

        1. a single scalar to specify a sample distance for all dimensions;
        2. N scalars to specify a constant sample distance for each dimension,
           i.e. ``dx``, ``dy``, ``dz``, ...;
        3. N arrays to specify the coordinates of the values along each
           dimension of f; the length of the array must match the size of the
           corresponding dimension;
        4. any combination of N scalars/arrays with the meaning of 2. and 3.

        If `axis` is given, the number of varargs must equal the number of
        axes. Coordinates may be arrays of ``f``'s library, NumPy arrays or
        lists; NumPy arrays and lists are moved once to ``f``'s device.
        Spacing must be real for real data; complex data also takes complex
        spacing and coordinates, with numpy.gradient's formulas.
    axis : None or int or tuple of ints, optional
        Gradient is calculated only along the given axis or axes. The default
        (``axis=None``) is to calculate the gradient for all the axes of the
        input array. `axis` may be negative, in which case it counts from the
        last to the first axis.
    edge_order : {1, 2}, optional
        Gradient is calculated using N-th order accurate differences at the
        boundaries. Default: 1. Unlike numpy.gradient, any value other than
        the integers 1 and 2 is a ValueError. With ``accuracy`` it may only
        repeat it (``accuracy=2, edge_order=2``); with ``n > 1`` only 2 is
        allowed. It has no effect on periodic axes, which have no edges.
    n : int, optional
        Order of the derivative along each requested axis, ``n >= 1``.
        Default 1.
    accuracy : even int, optional
        Order ``p >= 2`` of the truncation error, O(h**p) at every point,
        edges included, on uniform and non-uniform coordinates, for any `n`.
        Interior points use centred stencils, edge points one-sided stencils
        of ``n + p`` points, with Fornberg's weights. ``accuracy=2`` with
        ``n=1`` is ``edge_order=2``, to the bit. Default: None, which is
        numpy.gradient for ``n=1`` and accuracy 2 otherwise.
    periodic : bool or sequence of bool, optional
        Whether each requested axis wraps around (one bool for all, or one
        per axis). A periodic axis uses the centred stencil at every point.
        Its spacing is a scalar h (period ``len * h``), ``len`` uniform
        coordinates (period ``len / (len - 1) * (x[-1] - x[0])``), or
        ``len + 1`` coordinates whose last entry is the first coordinate
        plus the period (non-uniform grids: ``len`` non-uniform coordinates
        are a ValueError). Default False.

    Returns
    -------
    gradient : array or tuple of arrays
        One array for one axis, else a tuple of arrays (an empty tuple for a
        0-d input), each of the same shape as `f`, in `f`'s namespace and on
        its device. Integer input gives float64; float16, float32, float64 and
        complex dtypes are kept.

    Raises
    ------
    ValueError
        For spacings of the wrong shape or length, an axis too short for the
        edge order, an edge order other than 1 or 2, and repeated axes
        (numpy.exceptions.AxisError, a ValueError, for an axis out of range).
    TypeError
        For the wrong number of spacings, non-numeric ``f`` or a function
        given as ``f`` (see :func:`xpdiff.grad`), complex spacing for real
        data, and spacing arrays of a different array library than ``f``.

    See Also
    --------
    numpy.gradient : the reference this function reproduces.

    Notes
    -----
    The interior uses ``(f[i+1] - f[i-1]) / 2h`` for uniform spacing and the
    second-order three-point formula of Quarteroni, Sacco and Saleri for
    non-uniform coordinates; edges use one-sided differences of order
    `edge_order`. The arithmetic is numpy.gradient's, operation for
    operation, so NumPy results are identical to numpy.gradient's.

    Coordinate arrays are checked for uniform spacing, as numpy.gradient does;
    for coordinates on a device (CuPy, torch CUDA, a Dask array) this check
    is the one device-to-host synchronisation. Coordinates given as NumPy
    arrays or lists are checked on the host and need none.

    Dask arrays stay lazy and keep their chunks: each output chunk is one
    task computed from its input chunk and the few rows of its neighbours
    that the stencils reach, by the chunk's own library (see "Scaling out"
    in the documentation). Coordinates given as Dask arrays are computed
    once, when ``gradient`` is called.

    NumPy arrays of datetime64 or timedelta64 dtype and NumPy subclasses such
    as masked arrays are handed to numpy.gradient itself after the arguments
    are checked, so they behave exactly as there.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> f = np.array([1, 2, 4, 7, 11, 16])
    >>> xd.gradient(f)
    array([1. , 1.5, 2.5, 3.5, 4.5, 5. ])
    >>> xd.gradient(f, 2)
    array([0.5 , 0.75, 1.25, 1.75, 2.25, 2.5 ])

    Non-uniform coordinates:

    >>> x = np.array([0., 1., 1.5, 3.5, 4., 6.])
    >>> xd.gradient(f, x)
    array([1. , 3. , 3.5, 6.7, 6.9, 2.5])

    Several axes give a tuple, one array per axis:

    >>> xd.gradient(np.array([[1, 2, 6], [3, 4, 5]]))
    (array([[ 2.,  2., -1.],
           [ 2.,  2., -1.]]), array([[1. , 2.5, 4. ],
           [1. , 1. , 1. ]]))
    >>> xd.gradient(np.array([[1, 2, 6], [3, 4, 5]]), axis=0)
    array([[ 2.,  2., -1.],
           [ 2.,  2., -1.]])

    Second-order edges:

    >>> x = np.array([0, 1, 2, 3, 4])
    >>> xd.gradient(x**2, edge_order=2)
    array([0., 2., 4., 6., 8.])

    Beyond numpy.gradient: a fourth-order second derivative, and a periodic
    axis whose edges are as accurate as its interior:

    >>> x = np.linspace(0, 1, 6)
    >>> np.round(xd.gradient(x**4, x, n=2, accuracy=4), 10) + 0.0  # exact: 12 x**2
    array([ 0.  ,  0.48,  1.92,  4.32,  7.68, 12.  ])
    >>> t = np.arange(16) * 2 * np.pi / 16
    >>> error = np.abs(xd.gradient(np.sin(t), t[1] - t[0], accuracy=6, periodic=True) - np.cos(t))
    >>> print(f"at t=0: {error[0]:.1e}, largest: {error.max():.1e}")
    at t=0: 2.5e-05, largest: 2.5e-05

    Any Array API library works the same way, e.g. array-api-strict:

    >>> import array_api_strict as xps
    >>> xd.gradient(xps.asarray([1.0, 2.0, 4.0, 7.0]))
    Array([1. , 1.5, 2.5, 3. ], dtype=array_api_strict.float64)
    """
    program = _executors.compiled_program(f, varargs, axis, edge_order, n, accuracy, periodic)
    if program is not None:
        return program(f, varargs)  # NumPy's or PyTorch's everyday call, compiled once
    # the plans' path, imported with its first call: ``import xpdiff`` stays light
    from . import arguments as _arguments
    from . import planner as _planner

    order, accuracy, edge_order = _arguments.check_options(f, n, accuracy, edge_order)
    numpy_only = _arguments.numpy_only(f, varargs)
    if numpy_only is not None:
        return _arguments.numpy_only_gradient(
            numpy_only, f, varargs, axis, edge_order, order, accuracy, periodic
        )
    xp, f = _backend.array_namespace(f, varargs, what="spacing")
    f = _backend.without_empty_chunks(f)  # Dask after boolean indexing: no empty block
    axes = normalize_axis_tuple(axis, f.ndim) if axis is not None else tuple(range(f.ndim))
    wraps = _arguments.check_periodic(periodic, len(axes))
    # plans live where the executor wants their numbers (Dask's: on the host)
    plan_xp, plan_device, varargs = _executors.plan_space(xp, f, varargs, axes)
    spacings = _arguments.parse_spacings(plan_xp, plan_device, f, axes, varargs, wraps)
    f, out_dtype = _arguments.input_dtypes(xp, f)
    executor = _executors.executor_for(xp, f)
    jobs = []  # (plan, dtype of the data it reads): all axes in one call of the executor
    for ax, spacing, wrap in zip(axes, spacings, wraps, strict=True):
        plan, data = _planner.axis_plan(
            plan_xp, plan_device, f, ax, spacing, order, accuracy, edge_order, wrap
        )
        jobs.append((plan, f.dtype if data is None else data))  # None: f as it is
    outvals = _executors.apply_axes(executor, xp, f, jobs, out_dtype)
    return outvals[0] if len(axes) == 1 else tuple(outvals)


def fd_weights(points: Any, n: int = 1, x0: float = 0.0) -> np.ndarray:
    """Finite-difference weights of the n-th derivative at x0, by Fornberg's algorithm.

    Parameters
    ----------
    points : sequence of float
        Distinct real abscissae of the stencil, in any order and spacing
        (a list or a NumPy array: the weights are computed on the host).
    n : int, optional
        Derivative order, ``0 <= n < len(points)`` (0 gives interpolation
        weights). Default 1.
    x0 : float, optional
        Where the derivative is taken. Default 0.

    Returns
    -------
    weights : numpy.ndarray
        float64 array with ``len(points)`` entries: the n-th derivative at
        ``x0`` of a function sampled as ``y`` at ``points`` is approximately
        ``weights @ y``, exact for polynomials of degree ``len(points) - 1``.

    Raises
    ------
    ValueError
        If points repeat, are not finite or not 1-D real numbers, or if
        ``n >= len(points)``.

    References
    ----------
    B. Fornberg, Generation of finite difference formulas on arbitrarily
    spaced grids, Math. Comp. 51 (1988), 699-706.

    Examples
    --------
    >>> import xpdiff as xd
    >>> xd.fd_weights([-2, -1, 0, 1, 2]) * 12
    array([ 1., -8.,  0.,  8., -1.])
    >>> xd.fd_weights([-1, 0, 1], n=2)
    array([ 1., -2.,  1.])
    >>> xd.fd_weights([0, 1, 2])
    array([-1.5,  2. , -0.5])
    >>> xd.fd_weights([0.0, 0.5, 2.0], n=1, x0=0.5)
    array([-1.5       ,  1.33333333,  0.16666667])
    """
    from .._numerics import stencils as _stencils  # imported with the first call

    return _stencils.fd_weights_host(points, n, x0)
