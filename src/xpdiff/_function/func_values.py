"""What func returns, checked: a numeric array of x's library, in the work's dtype.

The evaluators (``evaluators``) call :func:`as_values` on every result of
func and :func:`in_work_dtype` on the checked values: integers (a constant
func) and floats of another precision than x's become x's floating dtype
(or its complex counterpart for the complex step's batches), so that every
later operation, matrix products included, sees one dtype on every library
(PyTorch's and array-api-strict's products do not promote).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import _backend
from ..errors import ResultTypeError

__all__ = ["as_values", "in_work_dtype"]


_NUMPY_NUMBERS = (np.ndarray, np.float64, np.float32, np.complex128, np.complex64)


def as_values(xp: Any, value: Any, device: Any, dtype: Any = None) -> Any:
    """func's result as a numeric array of ``xp``, or a TypeError saying what was wrong.

    A Python float or complex (or a NumPy scalar for another library) becomes an
    array of the work's ``dtype`` (x's real floating dtype) or its complex
    counterpart where given: PyTorch makes a float of its default dtype, float32,
    which rounded a float64 x's values (a derivative wrong in its third digit).
    """
    if type(value) in _NUMPY_NUMBERS and _backend.is_numpy_namespace(xp):
        if type(value) is not np.ndarray:
            return np.asarray(value)  # a NumPy scalar, as a 0-d array
        if value.dtype.kind in "fc":
            return value  # the common case, checked cheaply
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        raise ResultTypeError(
            f"func returned {type(value).__name__} {value!r:.80}; expected a number or an "
            f"array of numbers"
        )
    if isinstance(value, numbers.Number) and not isinstance(value, np.generic):
        return _number(xp, value, device, dtype)
    if not _backend.is_array(value):
        raise ResultTypeError(
            f"func returned a {type(value).__module__}.{type(value).__name__}; expected a "
            f"number or an array of the same library as x ({_library_of_namespace(xp)})"
        )
    if _backend.is_numpy(value) and not _backend.is_numpy_namespace(xp):
        library = _library_of_namespace(xp)
        if value.ndim == 0 and value.dtype.kind in "iufc":
            return _number(xp, value.item(), device, dtype)  # a NumPy scalar: a number
        raise ResultTypeError(
            f"func returned a NumPy array for x of library {library}; return an array of "
            f"{library} (the library of x), so that the derivative stays on x's device"
        )
    if not _backend.is_numpy(value) and not _same_library(xp, value):
        raise ResultTypeError(
            f"func returned a {_backend.library_name(value)} array for x of library "
            f"{_library_of_namespace(xp)}; return an array of the library of x"
        )
    if _backend.is_numpy(value):
        value = np.asarray(value)
        if value.dtype.kind not in "iufc":
            raise ResultTypeError(
                f"func returned an array of dtype {value.dtype}; expected numbers"
            )
        return value
    if xp.isdtype(value.dtype, "bool"):
        raise ResultTypeError(f"func returned an array of dtype {value.dtype}; expected numbers")
    return value


def _number(xp: Any, value: Any, device: Any, dtype: Any) -> Any:
    """A Python number as a 0-d array of ``xp``: a float in ``dtype``, a complex in its
    complex counterpart (where ``dtype`` is given), an integer as the library makes it."""
    if dtype is not None and isinstance(value, (float, complex)):
        if isinstance(value, complex):
            dtype = _backend.complex_dtype(xp, dtype)
        return xp.asarray(value, dtype=dtype, device=device)
    return xp.asarray(value, device=device)


def _same_library(xp: Any, value: Any) -> bool:
    try:
        return _backend.namespace_of(value) is xp
    except TypeError:
        return False


def _library_of_namespace(xp: Any) -> str:
    return getattr(xp, "__name__", str(xp)).replace("array_api_compat.", "")


def in_work_dtype(xp: Any, value: Any, dtype: Any, is_complex: bool) -> Any:
    """``value`` in the work's ``dtype`` (x's real floating dtype), or in its complex
    counterpart where the values are complex; unchanged where ``dtype`` is None."""
    if dtype is None:
        return value
    if is_complex:
        dtype = _backend.complex_dtype(xp, dtype)
    return value if value.dtype == dtype else xp.astype(value, dtype)
