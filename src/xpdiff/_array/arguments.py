"""Array mode's arguments: numpy.gradient's forms, checked with numpy's rules and messages.

``gradient`` takes f, spacings given as nothing, one scalar, one scalar or
coordinate array per axis, and its options; this module checks each one
(TypeError for a bad type, ValueError for a bad value, numpy's own message
where numpy has one) and turns spacings into :class:`Spacing` objects, the
input of the plans (``planner``). It knows libraries only through
``_backend``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _backend

__all__ = [
    "Spacing",
    "check_accuracy",
    "check_derivative_order",
    "check_edge_order",
    "check_options",
    "check_periodic",
    "input_dtypes",
    "numpy_only",
    "numpy_only_gradient",
    "parse_spacings",
]


@dataclass(frozen=True)
class Spacing:
    """The spacing along one axis, ready for the stencils.

    ``value`` is a Python float (a weak scalar, as numpy treats Python
    numbers), a 0-d array (uniform spacing with a dtype of its own), or a 1-d
    array of coordinate differences (non-uniform), in the work's namespace and
    on its device. ``coords`` keeps given coordinates for Fornberg weights
    (a float64, or complex128, NumPy array when they came from the host, else an array of
    f's library), and ``period`` the period of a periodic axis with
    non-uniform coordinates.
    """

    value: Any
    uniform: bool
    coords: Any = None
    period: Any = None
    #: complex spacing (complex data only): numpy.gradient's formulas only
    complex: bool = False
    #: edge_order 1's divisor where it is not ``value``: numpy.gradient divides the edges
    #: by an integer spacing as it is given, so complex64 data and an integer of at most
    #: 16 bits divide in complex64 (the interior's ``2. * dx`` is float64)
    edge: Any = None

    @property
    def on_host(self) -> bool:
        return isinstance(self.coords, np.ndarray)


def _check_integer(name: str, value: object, allowed: str) -> int:
    """An integer argument: a bool, float or string is a TypeError naming what is allowed."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {allowed}, got {value!r} of type {type(value).__name__}")
    return int(value)


def check_edge_order(edge_order: object) -> int:
    edge_order = _check_integer("edge_order", edge_order, "the integer 1 or 2")
    if edge_order > 2:
        # numpy's own message for this case
        raise ValueError("'edge_order' greater than 2 not supported")
    if edge_order < 1:
        raise ValueError(f"edge_order must be 1 or 2, got {edge_order!r}")
    return int(edge_order)


def numpy_only(f: object, varargs: tuple = ()) -> str | None:
    """What makes a call numpy.gradient's alone, or None: time types and ndarray subclasses
    (a masked array's mask, a matrix) as data, or, with NumPy data, as spacings, and
    spacings of object dtype or of a number type of Python's other than int, float and
    complex (``Decimal``): numpy.gradient's own results and errors for them."""
    if isinstance(f, np.ndarray):
        if type(f) is not np.ndarray:
            return f"f is a {type(f).__name__}"
        if f.dtype.kind in "mM":
            return f"f has dtype {f.dtype}"
    elif isinstance(f, (np.datetime64, np.timedelta64)):
        return f"f is a {type(f).__name__}"
    elif _backend.is_array(f):
        return None  # another library's data: xpdiff checks its spacings
    for value in varargs:
        if isinstance(value, np.ndarray):
            if type(value) is not np.ndarray:
                return f"a spacing is a {type(value).__name__}"
            if value.dtype.kind in "OmM":
                return f"a spacing has dtype {value.dtype}"
        elif isinstance(value, (np.datetime64, np.timedelta64)) or (
            isinstance(value, numbers.Number)
            and not isinstance(value, (int, float, complex, np.generic))
        ):
            return f"a spacing is a {type(value).__name__}"
    return None


def _ndim(x: Any) -> int:
    if _backend.is_array(x):
        return x.ndim
    return np.ndim(x)


def _check_spacing_dtype(kind: str, what: object, complex_data: bool) -> None:
    """Real spacings for any data; complex ones (numpy.gradient's) only for complex data."""
    if kind == "b":
        raise TypeError(f"spacing must be real numbers, got booleans: {what!r}")
    if kind == "c" and not complex_data:
        raise TypeError(
            f"spacing must be real numbers for real data, got complex values: {what!r} "
            f"(numpy.gradient would drop their imaginary part); complex spacing is "
            f"accepted with complex data"
        )
    if kind not in "iufc":
        raise TypeError(f"spacing must be real numbers, got {what!r}")


def _xp_coordinates(xp: Any, values: Any, complex_data: bool) -> Any:
    """Arrays of f's library as floating coordinates (integers to float64)."""
    if xp.isdtype(values.dtype, "real floating"):
        return values
    if xp.isdtype(values.dtype, "complex floating"):
        _check_spacing_dtype("c", values.dtype, complex_data)
        return values
    if not xp.isdtype(values.dtype, "integral"):
        _check_spacing_dtype("b", values.dtype, complex_data)
    return xp.astype(values, _backend.widest_float(xp))


def _scalar_spacing(xp: Any, device: Any, value: Any, complex_data: bool) -> Spacing:
    """A scalar spacing: weak for Python numbers, typed for NumPy and xp 0-d arrays."""
    if not (_backend.is_python_scalar(value) or _backend.is_array(value)):
        raise TypeError(
            f"spacing must be a real number, or 1-d coordinates of the axis, got "
            f"{type(value).__name__} {value!r:.40}"
        )
    if _backend.is_python_scalar(value):
        if isinstance(value, bool):
            _check_spacing_dtype("b", value, complex_data)
        if isinstance(value, complex):
            _check_spacing_dtype("c", value, complex_data)
            return Spacing(value, uniform=True, complex=True)
        return Spacing(float(value), uniform=True)
    if _backend.is_numpy(value):
        value = np.asarray(value)
        _check_spacing_dtype(value.dtype.kind, value, complex_data)
        edge = None
        if value.dtype.kind in "iu":
            # numpy's formulas take 2. * dx and -1.5 / dx, float64; its edges of order 1
            # divide by dx itself: an integer of at most 16 bits keeps complex64 data in
            # complex64 (complex division rounds otherwise than complex128's)
            if complex_data and value.dtype.itemsize <= 2:
                edge = _backend.host_to_device(value.astype(np.float32), xp, device)
            value = value.astype(np.float64)
        step = _backend.host_to_device(value, xp, device)
        return Spacing(step, uniform=True, complex=value.dtype.kind == "c", edge=edge)
    # a 0-d array of f's own library
    value = _xp_coordinates(xp, value, complex_data)
    return Spacing(value, uniform=True, complex=xp.isdtype(value.dtype, "complex floating"))


def _check_coordinate_count(coords: Any, length: int, periodic: bool) -> bool:
    """Whether a periodic axis's coordinates are closed (one more than the points)."""
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
    return closed


#: len(f) periodic coordinates are uniform when their steps differ by at most this many
#: units of rounding of the largest coordinate (np.arange(n) * h is not exactly uniform)
_UNIFORM_ROUNDING = 64


def _open_periodic_message(length: int) -> str:
    return (
        f"a periodic axis with non-uniform coordinates needs {length + 1} of them for "
        f"{length} points, the last being the first coordinate plus the period (e.g. "
        f"np.append(x, x[0] + period)); {length} non-uniform coordinates leave the "
        f"period unknown"
    )


def _host_coordinate_spacing(
    xp: Any, device: Any, coords: np.ndarray, length: int, periodic: bool, complex_data: bool
) -> Spacing:
    """Coordinates given on the host (NumPy arrays, lists): checked there, moved once."""
    closed = _check_coordinate_count(coords, length, periodic)
    _check_spacing_dtype(coords.dtype.kind, coords.dtype, complex_data)
    is_complex = coords.dtype.kind == "c"
    if is_complex and periodic:
        raise TypeError("complex coordinates are for numpy.gradient's formulas, not periodic axes")
    if coords.dtype.kind in "iu":
        # avoid modular arithmetic in the differences, as numpy does
        coords = coords.astype(np.float64)
    diffs = np.diff(coords)
    if diffs.shape[0] == 0:
        # too short: the shape check of the caller raises numpy's ValueError
        return Spacing(1.0, uniform=True)
    uniform = bool((diffs == diffs[0]).all())
    host_coords = coords if is_complex else coords.astype(np.float64, copy=False)
    if closed and not host_coords[-1] > host_coords[0]:
        raise ValueError(_closed_message(host_coords[0], host_coords[-1]))
    if uniform:
        step = _backend.host_to_device(diffs[0], xp, device)
        return Spacing(step, uniform=True, coords=host_coords, complex=is_complex)
    period = None
    if closed:
        period, host_coords = host_coords[-1] - host_coords[0], host_coords[:-1]
        diffs = diffs[:-1]
    elif periodic:
        spread = np.abs(diffs - diffs.mean()).max()
        if not spread <= _UNIFORM_ROUNDING * np.finfo(diffs.dtype).eps * np.abs(coords).max():
            raise ValueError(_open_periodic_message(length))
        period = (host_coords[-1] - host_coords[0]) * length / (length - 1)
    step = _backend.host_to_device(diffs, xp, device)
    return Spacing(step, uniform=False, coords=host_coords, period=period, complex=is_complex)


def _coordinate_spacing(
    xp: Any, device: Any, coords: Any, length: int, periodic: bool, complex_data: bool
) -> Spacing:
    """Coordinate array -> uniform scalar step or array of differences.

    On a periodic axis the coordinates may have ``length + 1`` entries, the
    last being the first point's coordinate one period later; ``length``
    entries are accepted when uniform up to rounding (the step that wraps
    around is the grid's step, so the period is ``length / (length - 1) *
    (x[-1] - x[0])``), and refused otherwise: the period would be a guess.
    """
    if not _backend.is_array(coords) or _backend.is_numpy(coords):
        if isinstance(coords, np.ndarray) and type(coords) is not np.ndarray:
            raise TypeError(
                f"coordinates given as a {type(coords).__name__} go with NumPy data "
                f"(numpy.gradient's rules, a mask's NaN); with another library's data give "
                f"a plain array (np.asarray(c), or c.filled(...) for a masked one)"
            )
        coords = np.asarray(coords)
        return _host_coordinate_spacing(xp, device, coords, length, periodic, complex_data)
    closed = _check_coordinate_count(coords, length, periodic)
    coords = _xp_coordinates(xp, coords, complex_data)
    is_complex = xp.isdtype(coords.dtype, "complex floating")
    if is_complex and periodic:
        raise TypeError("complex coordinates are for numpy.gradient's formulas, not periodic axes")
    diffs = coords[1:] - coords[:-1]
    if diffs.shape[0] == 0:
        return Spacing(1.0, uniform=True)
    # numpy.gradient's uniform-spacing check: the one device-to-host sync; coordinates
    # being traced (jax.jit) have no values yet, and are taken as non-uniform
    traced = _backend.is_traced(coords)
    if not traced and bool(xp.all(diffs == diffs[0])):
        return Spacing(diffs[0], uniform=True, coords=coords, complex=is_complex)
    period = valid = None
    if closed:
        period, coords, diffs = coords[-1] - coords[0], coords[:-1], diffs[:-1]
        valid = period > 0
        if not _backend.is_traced(period) and not bool(valid):  # a second sync, rare
            raise ValueError(_closed_message(coords[0], coords[0] + period))
    elif periodic:
        spread = xp.max(xp.abs(diffs - xp.mean(diffs)))
        eps = xp.finfo(diffs.dtype).eps
        valid = spread <= _UNIFORM_ROUNDING * eps * xp.max(xp.abs(coords))
        if not traced and not bool(valid):  # uniform up to rounding, or refused (a sync)
            raise ValueError(_open_periodic_message(length))
        # the uniform grid's period, as documented
        period = (coords[-1] - coords[0]) * (length / (length - 1))
    if period is not None and traced:  # the checks above need values: NaN, not a guess
        coords, diffs, period = (xp.where(valid, a, xp.nan) for a in (coords, diffs, period))
    return Spacing(diffs, uniform=False, coords=coords, period=period, complex=is_complex)


def _closed_message(first: Any, last: Any) -> str:
    return (
        f"the last coordinate of a periodic axis given with one coordinate more than "
        f"points is the first one plus the period, so it must be greater than the first: "
        f"got first {float(first)!r}, last {float(last)!r}"
    )


def parse_spacings(
    xp: Any, device: Any, f: Any, axes: tuple[int, ...], varargs: tuple, periodic: tuple
) -> list[Spacing]:
    """numpy.gradient's spacing forms, one :class:`Spacing` per axis."""
    complex_data = xp.isdtype(f.dtype, "complex floating")
    len_axes = len(axes)
    n = len(varargs)
    if n == 0:
        return [Spacing(1.0, uniform=True)] * len_axes
    if n == 1 and _ndim(varargs[0]) == 0:
        return [_scalar_spacing(xp, device, varargs[0], complex_data)] * len_axes
    if n == len_axes:
        spacings = []
        for axis, distances, wrap in zip(axes, varargs, periodic, strict=True):
            if _ndim(distances) == 0:
                spacings.append(_scalar_spacing(xp, device, distances, complex_data))
            else:
                spacing = _coordinate_spacing(
                    xp, device, distances, f.shape[axis], wrap, complex_data
                )
                spacings.append(spacing)
        return spacings
    raise TypeError("invalid number of arguments")


def input_dtypes(xp: Any, f: Any) -> Any:
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


def check_derivative_order(n: object) -> int:
    n = _check_integer("n (the derivative order)", n, "an integer >= 1")
    if n < 1:
        raise ValueError(f"n (the derivative order) must be an integer >= 1, got {n!r}")
    return n


def check_accuracy(accuracy: object) -> int | None:
    if accuracy is None:
        return None
    accuracy = _check_integer("accuracy", accuracy, "an even integer >= 2 or None")
    if accuracy < 2 or accuracy % 2:
        raise ValueError(
            f"accuracy must be an even integer >= 2 (the order of the truncation error), "
            f"got {accuracy!r}"
        )
    return int(accuracy)


def check_periodic(periodic: object, naxes: int) -> tuple[bool, ...]:
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


def check_options(
    f: object, n: object, accuracy: object, edge_order: object
) -> tuple[int, int | None, int | None]:
    """(n, accuracy, edge_order) checked alone and together; ``f`` must be data, not a function."""
    if callable(f) and not _backend.is_array(f):
        raise TypeError(
            f"gradient differentiates sampled data (an array), got the function "
            f"{getattr(f, '__name__', type(f).__name__)!r}; to differentiate a function "
            f"at a point, use xpdiff.grad (function mode), e.g. xd.grad(func, x)"
        )
    order = check_derivative_order(n)
    checked_accuracy = check_accuracy(accuracy)
    checked_edge = None if edge_order is None else check_edge_order(edge_order)
    if checked_accuracy is not None and checked_edge is not None and checked_edge != accuracy:
        raise ValueError(
            f"edge_order={checked_edge} conflicts with accuracy={checked_accuracy}: accuracy "
            f"sets the order at the edges too; leave edge_order out"
        )
    if order > 1 and checked_accuracy is None and checked_edge == 1:
        raise ValueError(
            f"edge_order=1 (first-order edges) is for first derivatives; for n={order} "
            f"leave edge_order out or give accuracy (an even order >= 2)"
        )
    return order, checked_accuracy, checked_edge


def numpy_only_gradient(
    reason: str,
    f: Any,
    varargs: tuple,
    axis: Any,
    edge_order: int | None,
    n: int,
    accuracy: Any,
    periodic: Any,
) -> Any:
    """numpy.gradient's own result where :func:`numpy_only` gave ``reason`` (datetimes,
    NumPy subclasses such as masked arrays, object spacings)."""
    if n != 1 or accuracy not in (None, 2) or periodic is not False:
        raise TypeError(
            f"n, accuracy and periodic need plain numeric arrays and real spacings; "
            f"{reason}, which only numpy.gradient's own arguments support"
        )
    numpy_gradient: Any = np.gradient
    return numpy_gradient(f, *varargs, axis=axis, edge_order=edge_order or accuracy or 1)
