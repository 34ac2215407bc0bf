"""Array mode: derivatives of sampled data, numpy.gradient on every backend.

This module combines the resolver (``_backend``: which library, which device)
with the stencils (``_stencils``: which weights). It parses numpy.gradient's
arguments with numpy's rules and messages, then evaluates each axis with
array-API operations only: slicing, arithmetic, ``astype`` and ``concat``.
Nothing is written in place, so read-only NumPy arrays and JAX work, and Dask
stays lazy.

Bit-for-bit parity with numpy.gradient comes from doing numpy's operations in
numpy's order and dtypes: differences of ``f`` in ``f``'s dtype, spacings as
weak Python scalars or as strongly typed scalars/arrays of the coordinates'
dtype, each part promoted as NumPy 2 promotes it and cast once to the output
dtype.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .. import _backend
from .._numerics import stencils as _stencils
from . import executors as _executors
from . import plans as _plans

__all__ = ["fd_weights", "gradient"]


@dataclass(frozen=True)
class _Spacing:
    """The spacing along one axis, ready for the stencils.

    ``value`` is a Python float (a weak scalar, as numpy treats Python
    numbers), a 0-d array (uniform spacing with a dtype of its own), or a 1-d
    array of coordinate differences (non-uniform), in the work's namespace and
    on its device. ``coords`` keeps given coordinates for Fornberg weights
    (a float64 NumPy array when they came from the host, else an array of
    f's library), and ``period`` the period of a periodic axis with
    non-uniform coordinates.
    """

    value: Any
    uniform: bool
    coords: Any = None
    period: Any = None

    @property
    def on_host(self) -> bool:
        return isinstance(self.coords, np.ndarray)


def _check_integer(name: str, value: object, allowed: str) -> int:
    """An integer argument: a bool, float or string is a TypeError naming what is allowed."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {allowed}, got {value!r} of type {type(value).__name__}")
    return int(value)


def _check_edge_order(edge_order: object) -> int:
    edge_order = _check_integer("edge_order", edge_order, "the integer 1 or 2")
    if edge_order > 2:
        # numpy's own message for this case
        raise ValueError("'edge_order' greater than 2 not supported")
    if edge_order < 1:
        raise ValueError(f"edge_order must be 1 or 2, got {edge_order!r}")
    return int(edge_order)


def _is_numpy_only(f: object) -> bool:
    """Inputs that only numpy.gradient understands: time types and ndarray subclasses."""
    if isinstance(f, np.ndarray):
        return type(f) is not np.ndarray or f.dtype.kind in "mM"
    return isinstance(f, (np.datetime64, np.timedelta64))


def _ndim(x: Any) -> int:
    if _backend.is_array(x):
        return x.ndim
    return np.ndim(x)


def _check_real_spacing_dtype(kind: str, what: object) -> None:
    if kind == "b":
        raise TypeError(f"spacing must be real numbers, got booleans: {what!r}")
    if kind == "c":
        raise TypeError(f"spacing must be real numbers, got complex values: {what!r}")
    if kind not in "iuf":
        raise TypeError(f"spacing must be real numbers, got {what!r}")


def _xp_real_coordinates(xp, values):
    """Arrays of f's library as real floating coordinates (integers to float64)."""
    if not xp.isdtype(values.dtype, "real floating"):
        if not xp.isdtype(values.dtype, "integral"):
            complex_ = xp.isdtype(values.dtype, "complex floating")
            _check_real_spacing_dtype("c" if complex_ else "b", values.dtype)
        values = xp.astype(values, _backend.widest_float(xp))
    return values


def _scalar_spacing(xp, device, value) -> _Spacing:
    """A scalar spacing: weak for Python numbers, typed for NumPy and xp 0-d arrays."""
    if not (_backend.is_python_scalar(value) or _backend.is_array(value)):
        raise TypeError(
            f"spacing must be a real number, or 1-d coordinates of the axis, got "
            f"{type(value).__name__} {value!r:.40}"
        )
    if _backend.is_python_scalar(value):
        if isinstance(value, (bool, complex)):
            _check_real_spacing_dtype("b" if isinstance(value, bool) else "c", value)
        return _Spacing(float(value), uniform=True)
    if _backend.is_numpy(value):
        value = np.asarray(value)
        _check_real_spacing_dtype(value.dtype.kind, value)
        if value.dtype.kind in "iu":
            # numpy promotes integer spacings to float64 in every formula
            value = value.astype(np.float64)
        return _Spacing(_backend.host_to_device(value, xp, device), uniform=True)
    # a 0-d array of f's own library
    return _Spacing(_xp_real_coordinates(xp, value), uniform=True)


def _coordinate_spacing(xp, device, coords, length: int, periodic: bool) -> _Spacing:
    """Coordinate array -> uniform scalar step or array of differences.

    On a periodic axis the coordinates may have ``length + 1`` entries, the
    last being the first point's coordinate one period later; with ``length``
    entries the step that wraps around is taken as the mean step, so the
    period is ``length / (length - 1) * (x[-1] - x[0])``.
    """
    host = not _backend.is_array(coords) or _backend.is_numpy(coords)
    if host:
        coords = np.asarray(coords)
    if coords.ndim != 1:
        raise ValueError("distances must be either scalars or 1d")
    closed = periodic and coords.shape[0] == length + 1 and length > 0
    if coords.shape[0] != length and not closed:
        if periodic:
            raise ValueError(
                f"coordinates of a periodic axis of length {length} must have {length} "
                f"entries (uniform spacing, period {length} steps) or {length + 1} "
                f"(the last one being the first coordinate plus the period), "
                f"got {coords.shape[0]}"
            )
        raise ValueError("when 1d, distances must match the length of the corresponding dimension")
    if host:
        _check_real_spacing_dtype(coords.dtype.kind, coords.dtype)
        if coords.dtype.kind in "iu":
            # avoid modular arithmetic in the differences, as numpy does
            coords = coords.astype(np.float64)
        diffs = np.diff(coords)
        if diffs.shape[0] == 0:
            # too short: the shape check of the caller raises numpy's ValueError
            return _Spacing(1.0, uniform=True)
        uniform = bool((diffs == diffs[0]).all())
        host_coords = coords.astype(np.float64, copy=False)
        if closed and not host_coords[-1] > host_coords[0]:
            raise ValueError(_closed_message(host_coords[0], host_coords[-1]))
        if uniform:
            step = _backend.host_to_device(diffs[0], xp, device)
            return _Spacing(step, uniform=True, coords=host_coords)
        period = None
        if closed:
            period, host_coords = host_coords[-1] - host_coords[0], host_coords[:-1]
            diffs = diffs[:-1]
        elif periodic:
            period = (host_coords[-1] - host_coords[0]) * length / (length - 1)
        return _Spacing(
            _backend.host_to_device(diffs, xp, device),
            uniform=False,
            coords=host_coords,
            period=period,
        )

    coords = _xp_real_coordinates(xp, coords)
    diffs = coords[1:] - coords[:-1]
    if diffs.shape[0] == 0:
        return _Spacing(1.0, uniform=True)
    # numpy.gradient's uniform-spacing check: the one device-to-host sync; coordinates
    # being traced (jax.jit) have no values yet, and are taken as non-uniform
    if not _backend.is_traced(coords) and bool(xp.all(diffs == diffs[0])):
        return _Spacing(diffs[0], uniform=True, coords=coords)
    period = None
    if closed:
        period, coords, diffs = coords[-1] - coords[0], coords[:-1], diffs[:-1]
        if not _backend.is_traced(period) and not bool(period > 0):  # a second sync, rare
            raise ValueError(_closed_message(coords[0], coords[0] + period))
    elif periodic:
        period = (coords[-1] - coords[0]) * (length / (length - 1))
    return _Spacing(diffs, uniform=False, coords=coords, period=period)


def _closed_message(first, last) -> str:
    return (
        f"the last coordinate of a periodic axis given with one coordinate more than "
        f"points is the first one plus the period, so it must be greater than the first: "
        f"got first {float(first)!r}, last {float(last)!r}"
    )


def _parse_spacings(xp, device, f, axes, varargs, periodic) -> list[_Spacing]:
    len_axes = len(axes)
    n = len(varargs)
    if n == 0:
        return [_Spacing(1.0, uniform=True)] * len_axes
    if n == 1 and _ndim(varargs[0]) == 0:
        return [_scalar_spacing(xp, device, varargs[0])] * len_axes
    if n == len_axes:
        spacings = []
        for axis, distances, wrap in zip(axes, varargs, periodic, strict=True):
            if _ndim(distances) == 0:
                spacings.append(_scalar_spacing(xp, device, distances))
            else:
                spacings.append(_coordinate_spacing(xp, device, distances, f.shape[axis], wrap))
        return spacings
    raise TypeError("invalid number of arguments")


def _input_dtypes(xp, f):
    """numpy's dtype rule: integers to float64, inexact kept, anything else refused."""
    dtype = f.dtype
    if xp.isdtype(dtype, ("real floating", "complex floating")):
        return f, dtype
    if xp.isdtype(dtype, "integral"):
        # convert first, so that differences never wrap around
        widest = _backend.widest_float(xp)
        return xp.astype(f, widest), widest
    raise TypeError(
        f"gradient needs numeric data: f has dtype {dtype}; "
        "allowed are integer, real floating and complex floating dtypes"
    )


# --- plans: numpy.gradient's formulas, and Fornberg's for any order ------------------------


def _numpy_plan(xp, axis: int, length: int, spacing: _Spacing, edge_order: int) -> _plans.AxisPlan:
    """numpy.gradient's formulas for one axis, operation for operation (its rounding)."""
    Region, Term = _plans.Region, _plans.Term
    if spacing.uniform:
        h = spacing.value
        interior = Region(
            1,
            length - 1,
            (Term(None, 2), Term(None, 0)),
            kind="difference",
            divisor=_plans.central_uniform_denominator(h),
        )
        h_first = h_last = h
    else:
        diffs = spacing.value
        # row 1 + r: dx1 = diffs[r], dx2 = diffs[r + 1]
        central = _plans.WindowWeights(diffs, 2, _plans.central_nonuniform_rule)
        terms = (Term(None, 0), Term(None, 1), Term(None, 2))
        interior = Region(1, length - 1, terms, lazy_weights=central, weight_dtype=diffs.dtype)
        h_first, h_last = diffs[0], diffs[-1]
    if edge_order == 1:
        first = Region(0, 1, (Term(None, 1), Term(None, 0)), kind="difference", divisor=h_first)
        last = Region(
            length - 1,
            length,
            (Term(None, length - 1), Term(None, length - 2)),
            kind="difference",
            divisor=h_last,
        )
    else:
        if spacing.uniform:
            h = spacing.value
            one = 1.0 if isinstance(h, float) else xp.ones_like(h)
            w_first = _plans.first_edge2_uniform(h, one)
            w_last = _plans.last_edge2_uniform(h, one)
        else:
            w_first = _plans.first_edge2_nonuniform(diffs[0], diffs[1])
            w_last = _plans.last_edge2_nonuniform(diffs[-2], diffs[-1])
        first = Region(0, 1, tuple(Term(w, k) for k, w in enumerate(w_first)))
        last = Region(
            length - 1, length, tuple(Term(w, length - 3 + k) for k, w in enumerate(w_last))
        )
    return _plans.AxisPlan(axis, length, (first, interior, last), halo=edge_order, edges=(1, 1))


def _work_dtypes(xp, f_dtype, spacing: _Spacing):
    """(real dtype of the weights, dtype of the data) for the high-order path.

    Weights follow the precision of ``f`` (float16 data is combined in
    float32, then rounded once), promoted with a typed spacing as NumPy 2
    would: float32 data with float64 coordinates is combined in float64.
    """
    bits = xp.finfo(f_dtype).bits
    real = xp.float64 if bits >= 64 else xp.float32
    typed = spacing.value if not isinstance(spacing.value, float) else None
    if typed is not None:
        real = xp.result_type(real, typed.dtype)
    if xp.isdtype(f_dtype, "complex floating"):
        data = xp.complex128 if real == xp.float64 else xp.complex64
    else:
        data = real
    return real, data


def _uniform_weights(xp, device, offsets_rows, n, spacing, real):
    """Exact host weights for integer offsets, scaled by ``h**-n``: one list per row.

    A Python-float spacing gives Python floats (weak: they take the data's
    precision); a typed spacing gives 0-d arrays of ``real`` on the device.
    """
    host = [np.array(_stencils.exact_weights(tuple(row), n)) for row in offsets_rows]
    h = spacing.value
    if isinstance(h, float):
        return [[float(w) / h**n for w in row] for row in host]
    scale = xp.astype(h, real) ** n
    return [[_backend.host_to_device(w, xp, device, real) / scale for w in row] for row in host]


def _nonuniform_weights(xp, device, offsets, n, on_host, real, centre=None):
    """Fornberg weights of many points at once; one transfer for host coordinates.

    With ``centre`` (the index of the offset that is 0) the first derivative's
    weights come from the shorter Lagrange formula.
    """
    if n == 1 and centre is not None:
        weights = _stencils.first_derivative_weights(offsets, centre)
    else:
        weights = _stencils.fornberg(offsets, n)
    if on_host and not _backend.is_numpy_namespace(xp):
        stacked = _backend.host_to_device(np.stack(weights), xp, device, real)  # one transfer
        return [stacked[j, ...] for j in range(len(weights))]
    if on_host:
        return [np.asarray(w, dtype=real) for w in weights]
    return [xp.astype(w, real) for w in weights]


def _fornberg_rows(columns, n, left, real, xp, device):
    """A :class:`~xpdiff._plans.WindowWeights` rule: rows' weights from host coordinates.

    ``columns[j]`` holds the j-th coordinate of every row's window, the row's
    own point being ``columns[left]``; ``xp`` None means NumPy (what a Dask
    chunk's plan carries: no module to pickle).
    """
    points = columns[left]
    offsets = [column - points for column in columns]
    xp = _backend._numpy_namespace() if xp is None else xp
    return _nonuniform_weights(xp, device, offsets, n, True, real, left)


def _periodic_extension(cxp, x, left: int, right: int, period):
    """Coordinates ``x`` with ``left`` points wrapped in front and ``right`` after."""
    n = x.shape[0]
    return cxp.concat([x[n - left :] - period, x, x[:right] + period], axis=0)


def _high_order_plan(xp, device, axis, length, spacing, n, accuracy, periodic, real):
    """Fornberg stencils of order ``accuracy`` for the ``n``-th derivative along one axis.

    The interior takes the centred stencil (a "pairs" region on uniform
    grids; on non-uniform host coordinates its per-row weights are computed
    block by block as the executor asks for them), the edges one-sided
    stencils row by row, and a periodic axis the centred stencil everywhere,
    wrapping around.
    """
    Region, Term = _plans.Region, _plans.Term
    plan = _stencils.stencil_plan(n, accuracy, spacing.uniform, length)
    size, left, right, edge = plan.size, plan.left, plan.right, plan.edge_size
    need = plan.size if periodic else plan.min_points
    if length < need:
        kind = "periodic " if periodic else ""
        raise ValueError(
            f"axis {axis} has {length} points, but the {kind}stencil of n={n} with "
            f"accuracy={accuracy} needs at least {need} points along it"
        )
    if not periodic:
        _stencils.check_edge_conditioning(n, accuracy, float(xp.finfo(real).eps), axis)
    inner = length - left - right
    if spacing.uniform:
        (centre,) = _uniform_weights(
            xp, device, [[j - left for j in range(size)]], n, spacing, real
        )
        interior = _plans.pairs_region(left, left + inner, centre, left, n)
        exact = _stencils.exact_weights(tuple(range(-left, size - left)), n)
        kept = [j for j in range(size) if exact[j]]  # an odd derivative's centre weight is 0

        def wrap_weights(i):
            return centre
    else:
        x = spacing.coords
        x = x.astype(np.float64) if spacing.on_host else xp.astype(x, real)
        cxp = np if spacing.on_host else xp
        if periodic:
            period = spacing.period if spacing.on_host else xp.astype(spacing.period, real)
            xe = _periodic_extension(cxp, x, left, right, period)
        else:
            xe = None

        def offsets(r0, r1):  # interior rows left + r0 .. left + r1 - 1 (never wrapping)
            points = x[left + r0 : left + r1]
            return [x[j + r0 : j + r1] - points for j in range(size)]

        kept = list(range(size))
        terms = tuple(Term(None, j) for j in range(size))
        if spacing.on_host:
            target = None if _backend.is_numpy_namespace(xp) else xp
            lazy = _plans.WindowWeights(x, size, _fornberg_rows, (n, left, real, target, device))
            interior = Region(left, left + inner, terms, lazy_weights=lazy, weight_dtype=real)
        else:
            weights = _nonuniform_weights(xp, device, offsets(0, inner), n, False, real, left)
            interior = Region(left, left + inner, tuple(Term(w, j) for j, w in enumerate(weights)))

        def wrap_weights(i):  # a periodic row outside the interior: its own stencil
            row = [xe[i + j : i + j + 1] - x[i : i + 1] for j in range(size)]
            return [
                w[0, ...] for w in _nonuniform_weights(xp, device, row, n, spacing.on_host, real)
            ]

    regions = [interior]
    if periodic:
        for i in [*range(left), *range(left + inner, length)]:
            weights = wrap_weights(i)
            terms = tuple(Term(weights[j], (i - left + j) % length) for j in kept)
            unwrapped = tuple(i - left + j for j in kept)
            regions.append(Region(i, i + 1, terms, unwrapped=unwrapped))
        regions.sort(key=lambda region: region.start)
        return _plans.AxisPlan(
            axis, length, tuple(regions), halo=max(left, right), edges=(0, 0), periodic=True
        )
    if spacing.uniform:
        first = [[k - i for k in range(edge)] for i in range(left)]
        last = [[k - (edge - right + i) for k in range(edge)] for i in range(right)]
        first_weights = _uniform_weights(xp, device, first, n, spacing, real)
        last_weights = _uniform_weights(xp, device, last, n, spacing, real)
    else:
        first_weights = _edge_rows(
            xp, device, [x[k] - x[0:left] for k in range(edge)], n, spacing, real
        )
        last_weights = _edge_rows(
            xp,
            device,
            [x[length - edge + k] - x[length - right :] for k in range(edge)],
            n,
            spacing,
            real,
        )
    for i, weights in enumerate(first_weights):
        regions.append(Region(i, i + 1, tuple(Term(w, k) for k, w in enumerate(weights))))
    for i, weights in enumerate(last_weights):
        row = length - right + i
        terms = tuple(Term(w, length - edge + k) for k, w in enumerate(weights))
        regions.append(Region(row, row + 1, terms))
    regions.sort(key=lambda region: region.start)
    return _plans.AxisPlan(axis, length, tuple(regions), halo=max(edge, size), edges=(left, right))


def _edge_rows(xp, device, offsets, n, spacing, real):
    """Weights of each one-sided edge row (rows of the offsets' arrays), as per-row lists."""
    weights = _nonuniform_weights(xp, device, offsets, n, spacing.on_host, real)
    rows = weights[0].shape[0]
    return [[w[i, ...] for w in weights] for i in range(rows)]


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
        Spacing must be real.
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
        plus the period (non-uniform grids). Default False.

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
        For the wrong number of spacings, non-numeric ``f``, non-real spacing,
        and spacing arrays of a different array library than ``f``.

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
        return program(f, varargs)
    order = _check_derivative_order(n)
    accuracy = _check_accuracy(accuracy)
    if edge_order is not None:
        edge_order = _check_edge_order(edge_order)
    if accuracy is not None and edge_order is not None and edge_order != accuracy:
        raise ValueError(
            f"edge_order={edge_order} conflicts with accuracy={accuracy}: accuracy sets "
            f"the order at the edges too; leave edge_order out"
        )
    if order > 1 and accuracy is None and edge_order == 1:
        raise ValueError(
            f"edge_order=1 (first-order edges) is for first derivatives; for n={order} "
            f"leave edge_order out or give accuracy (an even order >= 2)"
        )

    if _is_numpy_only(f):
        if order != 1 or accuracy not in (None, 2) or periodic is not False:
            raise TypeError(
                f"n, accuracy and periodic need numeric data; {f.dtype} arrays and NumPy "
                "subclasses support numpy.gradient's arguments only"
            )
        numpy_gradient: Any = np.gradient  # datetimes and subclasses: numpy's own result
        return numpy_gradient(f, *varargs, axis=axis, edge_order=edge_order or accuracy or 1)

    xp, f = _backend.array_namespace(f, varargs, what="spacing")
    device = _backend.device_of(f)
    axes = normalize_axis_tuple(axis, f.ndim) if axis is not None else tuple(range(f.ndim))
    wraps = _check_periodic(periodic, len(axes))
    # plans live where the executor wants their numbers: on f's device, or on
    # the host for Dask, whose executor hands each chunk the part it needs
    plan_xp, plan_device = xp, device
    if type(f) is not np.ndarray and _backend.library_name(f) == "dask":
        varargs = tuple(_executors.dask_host_spacing(v) for v in varargs)
        plan_xp, plan_device = _backend._numpy_namespace(), "cpu"
    spacings = _parse_spacings(plan_xp, plan_device, f, axes, varargs, wraps)
    f, out_dtype = _input_dtypes(xp, f)

    executor = _executors.executor_for(xp, f)
    outvals = []
    for ax, spacing, wrap in zip(axes, spacings, wraps, strict=True):
        length = f.shape[ax]
        if order == 1 and not wrap and accuracy in (None, 2):
            # numpy.gradient's own formulas, to the bit
            numpy_edge_order = accuracy or edge_order or 1
            if length < numpy_edge_order + 1:
                raise ValueError(
                    "Shape of array too small to calculate a numerical gradient, "
                    "at least (edge_order + 1) elements are required."
                )
            plan = _numpy_plan(plan_xp, ax, length, spacing, numpy_edge_order)
            outvals.append(executor.apply(xp, f, plan, out_dtype))
            continue
        real, data = _work_dtypes(plan_xp, f.dtype, spacing)
        plan = _high_order_plan(
            plan_xp, plan_device, ax, length, spacing, order, accuracy or 2, wrap, real
        )
        outvals.append(executor.apply(xp, xp.astype(f, data, copy=False), plan, out_dtype, f))

    if len(axes) == 1:
        return outvals[0]
    return tuple(outvals)


def _check_derivative_order(n: object) -> int:
    n = _check_integer("n (the derivative order)", n, "an integer >= 1")
    if n < 1:
        raise ValueError(f"n (the derivative order) must be an integer >= 1, got {n!r}")
    return n


def _check_accuracy(accuracy: object) -> int | None:
    if accuracy is None:
        return None
    accuracy = _check_integer("accuracy", accuracy, "an even integer >= 2 or None")
    if accuracy < 2 or accuracy % 2:
        raise ValueError(
            f"accuracy must be an even integer >= 2 (the order of the truncation error), "
            f"got {accuracy!r}"
        )
    return int(accuracy)


def _check_periodic(periodic: object, naxes: int) -> tuple[bool, ...]:
    if isinstance(periodic, (bool, np.bool_)):
        return (bool(periodic),) * naxes
    if isinstance(periodic, (list, tuple)):
        if len(periodic) != naxes or not all(isinstance(p, (bool, np.bool_)) for p in periodic):
            raise ValueError(
                f"periodic must be a bool or a sequence of one bool per axis "
                f"({naxes} axes), got {periodic!r}"
            )
        return tuple(bool(p) for p in periodic)
    raise TypeError(
        f"periodic must be a bool or a sequence of bools, got {type(periodic).__name__}"
    )


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
    return _stencils.fd_weights_host(points, n, x0)
