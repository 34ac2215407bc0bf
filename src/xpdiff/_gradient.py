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
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from . import _backend, _stencils

__all__ = ["gradient"]


@dataclass(frozen=True)
class _Spacing:
    """The spacing along one axis, ready for the stencils.

    ``value`` is a Python float (a weak scalar, as numpy treats Python
    numbers), a 0-d array (uniform spacing with a dtype of its own), or a 1-d
    array of coordinate differences (non-uniform), in the work's namespace and
    on its device.
    """

    value: Any
    uniform: bool


def _check_edge_order(edge_order: object) -> int:
    if isinstance(edge_order, bool) or not isinstance(edge_order, numbers.Integral):
        raise ValueError(
            f"edge_order must be the integer 1 or 2, got {edge_order!r} "
            f"of type {type(edge_order).__name__}"
        )
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


def _ndim(x: object) -> int:
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


def _scalar_spacing(xp, device, value) -> _Spacing:
    """A scalar spacing: weak for Python numbers, typed for NumPy and xp 0-d arrays."""
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
    if not xp.isdtype(value.dtype, "real floating"):
        if not xp.isdtype(value.dtype, "integral"):
            _check_real_spacing_dtype(
                "c" if xp.isdtype(value.dtype, "complex floating") else "b", value
            )
        value = xp.astype(value, xp.float64)
    return _Spacing(value, uniform=True)


def _coordinate_spacing(xp, device, coords, length: int) -> _Spacing:
    """Coordinate array -> uniform scalar step or array of differences."""
    host = not _backend.is_array(coords) or _backend.is_numpy(coords)
    if host:
        coords = np.asarray(coords)
    if coords.ndim != 1:
        raise ValueError("distances must be either scalars or 1d")
    if coords.shape[0] != length:
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
        if (diffs == diffs[0]).all():
            return _Spacing(_backend.host_to_device(diffs[0], xp, device), uniform=True)
        return _Spacing(_backend.host_to_device(diffs, xp, device), uniform=False)

    if not xp.isdtype(coords.dtype, "real floating"):
        if not xp.isdtype(coords.dtype, "integral"):
            _check_real_spacing_dtype(
                "c" if xp.isdtype(coords.dtype, "complex floating") else "b", coords.dtype
            )
        coords = xp.astype(coords, xp.float64)
    diffs = coords[1:] - coords[:-1]
    if diffs.shape[0] == 0:
        return _Spacing(1.0, uniform=True)
    # numpy.gradient's uniform-spacing check: the one device-to-host sync
    if bool(xp.all(diffs == diffs[0])):
        return _Spacing(diffs[0], uniform=True)
    return _Spacing(diffs, uniform=False)


def _parse_spacings(xp, device, f, axes, varargs) -> list[_Spacing]:
    len_axes = len(axes)
    n = len(varargs)
    if n == 0:
        return [_Spacing(1.0, uniform=True)] * len_axes
    if n == 1 and _ndim(varargs[0]) == 0:
        return [_scalar_spacing(xp, device, varargs[0])] * len_axes
    if n == len_axes:
        spacings = []
        for axis, distances in zip(axes, varargs, strict=True):
            if _ndim(distances) == 0:
                spacings.append(_scalar_spacing(xp, device, distances))
            else:
                spacings.append(_coordinate_spacing(xp, device, distances, f.shape[axis]))
        return spacings
    raise TypeError("invalid number of arguments")


def _input_dtypes(xp, f):
    """numpy's dtype rule: integers to float64, inexact kept, anything else refused."""
    dtype = f.dtype
    if xp.isdtype(dtype, ("real floating", "complex floating")):
        return f, dtype
    if xp.isdtype(dtype, "integral"):
        # convert first, so that differences never wrap around
        return xp.astype(f, xp.float64), xp.float64
    raise TypeError(
        f"gradient needs numeric data: f has dtype {dtype}; "
        "allowed are integer, real floating and complex floating dtypes"
    )


def _axis_slicer(f, axis: int):
    """``take(start, stop)`` is ``f[..., start:stop, ...]`` along ``axis``."""

    def take(start, stop):
        index = [slice(None)] * f.ndim
        index[axis] = slice(start, stop)
        return f[tuple(index)]

    return take


def _divide(xp, numerator, denominator):
    """``numerator / denominator`` with NumPy 2 promotion for typed denominators.

    ``numerator`` is always a fresh temporary of this module, so on NumPy it
    is divided in place (ufunc ``out=``), saving the temporary that NumPy's
    own expression elision saves numpy.gradient.
    """
    if not isinstance(denominator, float):
        work = xp.result_type(numerator.dtype, denominator.dtype)
        numerator = xp.astype(numerator, work, copy=False)
        denominator = xp.astype(denominator, work, copy=False)
    if _backend.is_numpy_namespace(xp):
        return np.divide(numerator, denominator, out=numerator)
    return numerator / denominator


def _combine(xp, weights, values):
    """``w0 v0 + w1 v1 + w2 v2``, left to right, with NumPy 2 promotion."""
    if isinstance(weights[0], float):
        w0, w1, w2 = weights
        v0, v1, v2 = values
        return w0 * v0 + w1 * v1 + w2 * v2
    work = xp.result_type(weights[0].dtype, values[0].dtype)
    w0, w1, w2 = (xp.astype(w, work, copy=False) for w in weights)
    v0, v1, v2 = (xp.astype(v, work, copy=False) for v in values)
    return w0 * v0 + w1 * v1 + w2 * v2


def _gradient_along(xp, f, axis: int, spacing: _Spacing, edge_order: int, out_dtype):
    ndim = f.ndim
    take = _axis_slicer(f, axis)

    if spacing.uniform:
        h = spacing.value
        interior = _divide(
            xp, take(2, None) - take(None, -2), _stencils.central_uniform_denominator(h)
        )
    else:
        diffs = spacing.value
        shape = [1] * ndim
        shape[axis] = -1
        weights = tuple(
            xp.reshape(w, tuple(shape))
            for w in _stencils.central_nonuniform(diffs[:-1], diffs[1:])
        )
        interior = _combine(xp, weights, (take(None, -2), take(1, -1), take(2, None)))

    if edge_order == 1:
        h_first = spacing.value if spacing.uniform else spacing.value[0]
        h_last = spacing.value if spacing.uniform else spacing.value[-1]
        first = _divide(xp, take(1, 2) - take(0, 1), h_first)
        last = _divide(xp, take(-1, None) - take(-2, -1), h_last)
    else:
        if spacing.uniform:
            w_first = _stencils.first_edge2_uniform(spacing.value)
            w_last = _stencils.last_edge2_uniform(spacing.value)
        else:
            diffs = spacing.value
            w_first = _stencils.first_edge2_nonuniform(diffs[0], diffs[1])
            w_last = _stencils.last_edge2_nonuniform(diffs[-2], diffs[-1])
        first = _combine(xp, w_first, (take(0, 1), take(1, 2), take(2, 3)))
        last = _combine(xp, w_last, (take(-3, -2), take(-2, -1), take(-1, None)))

    return _assemble(xp, (first, interior, last), axis, out_dtype, like=f)


def _assemble(xp, parts, axis: int, out_dtype, *, like):
    """Join edge and interior pieces along ``axis``, each cast once to ``out_dtype``.

    Generic path: ``concat``. NumPy fast path (design.md's small-primitive
    rule): slice assignment into a fresh array that xpdiff owns, as
    numpy.gradient does, which saves the extra pass of ``concat``. Both
    round each piece once to ``out_dtype``, so results are the same. The
    result gets ``like``'s layout (Dask chunks).
    """
    if _backend.is_numpy_namespace(xp):
        shape = list(parts[1].shape)
        shape[axis] = sum(p.shape[axis] for p in parts)
        out = np.empty(tuple(shape), dtype=out_dtype)
        index = [slice(None)] * len(shape)
        start = 0
        for part in parts:
            index[axis] = slice(start, start + part.shape[axis])
            out[tuple(index)] = part
            start += part.shape[axis]
        return out
    parts = [xp.astype(part, out_dtype, copy=False) for part in parts]
    return _backend.match_layout(xp.concat(parts, axis=axis), like)


def gradient(f, *varargs, axis=None, edge_order=1):
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
        the integers 1 and 2 is a ValueError.

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

    Any Array API library works the same way, e.g. array-api-strict:

    >>> import array_api_strict as xps
    >>> xd.gradient(xps.asarray([1.0, 2.0, 4.0, 7.0]))
    Array([1. , 1.5, 2.5, 3. ], dtype=array_api_strict.float64)
    """
    if _is_numpy_only(f):
        _check_edge_order(edge_order)
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)

    xp, f = _backend.array_namespace(f, varargs, what="spacing")
    device = _backend.device_of(f)
    axes = normalize_axis_tuple(axis, f.ndim) if axis is not None else tuple(range(f.ndim))
    spacings = _parse_spacings(xp, device, f, axes, varargs)
    edge_order = _check_edge_order(edge_order)
    f, out_dtype = _input_dtypes(xp, f)

    outvals = []
    for ax, spacing in zip(axes, spacings, strict=True):
        if f.shape[ax] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
        outvals.append(_gradient_along(xp, f, ax, spacing, edge_order, out_dtype))

    if len(axes) == 1:
        return outvals[0]
    return tuple(outvals)
