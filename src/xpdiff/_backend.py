"""The backend resolver: the only module of xpdiff that knows array libraries.

It finds the array namespace and device of the caller's arguments through
array-api-compat, refuses arguments that mix two array libraries, and moves
host data (weights, steps, coordinates held as NumPy arrays) once to the work's
namespace, device and dtype. The numerics (``_stencils``) never come here, and
the public functions (``_gradient``) combine the two. Nothing here imports
cupy, torch, jax or dask: a library is only ever seen through an array that
the caller already made with it.
"""

from __future__ import annotations

import numbers
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "array_namespace",
    "device_of",
    "host_to_device",
    "is_numpy",
    "is_numpy_namespace",
    "is_python_scalar",
    "library_name",
    "match_layout",
    "namespace_dtype",
    "to_host",
]

_COMPAT_NAMES = (
    ("numpy", array_api_compat.is_numpy_array),
    ("cupy", array_api_compat.is_cupy_array),
    ("torch", array_api_compat.is_torch_array),
    ("jax", array_api_compat.is_jax_array),
    ("dask", array_api_compat.is_dask_array),
)


def is_python_scalar(x: object) -> bool:
    """True for Python bool, int, float and complex (not NumPy scalars)."""
    return isinstance(x, numbers.Number) and not isinstance(x, np.generic)


def is_numpy(x: object) -> bool:
    """True for NumPy arrays (any subclass) and NumPy scalars."""
    return isinstance(x, (np.ndarray, np.generic))


def is_array(x: object) -> bool:
    """True for any array object of an Array API library (NumPy included)."""
    return array_api_compat.is_array_api_obj(x) and not is_python_scalar(x)


def library_name(x: object) -> str:
    """The name of the library that made the array ``x`` ("numpy", "torch", ...)."""
    for name, test in _COMPAT_NAMES:
        if test(x):
            return name
    return type(x).__module__.split(".", 1)[0]


def array_namespace(f: Any, others: tuple[Any, ...] = (), *, what: str = "argument"):
    """Resolve the namespace of ``f`` and check ``others`` against it.

    ``f`` may be an array of any Array API library, or a Python scalar, list
    or tuple (which mean NumPy). Each of ``others`` may be a Python scalar, a
    list or tuple, a NumPy array or scalar (host data, accepted with any
    ``f`` and moved later), or an array of ``f``'s own library. An array of a
    third library is a TypeError naming both libraries.

    Returns
    -------
    xp, f
        The array-api-compat namespace, and ``f`` as an array of it.
    """
    if not is_array(f):
        f = np.asarray(f)
    f_library = library_name(f)
    for other in others:
        if is_array(other) and not is_numpy(other):
            other_library = library_name(other)
            if other_library != f_library:
                raise TypeError(
                    f"cannot mix array libraries: f is a {f_library} array but a "
                    f"{what} is a {other_library} array; give the {what} as a "
                    f"{f_library} array, a NumPy array, a list or a Python scalar"
                )
    if is_numpy(f) and isinstance(f, np.generic):
        f = np.asarray(f)
    return array_api_compat.array_namespace(f), f


def is_numpy_namespace(xp: Any) -> bool:
    """True when ``xp`` is NumPy (bare or array-api-compat's wrapper)."""
    return array_api_compat.is_numpy_namespace(xp)


def match_layout(result: Any, like: Any):
    """Give ``result`` the memory layout of ``like`` where a library has one to keep.

    Dask: slicing and concatenating along an axis splits chunks (an interior
    of n - 2 points next to edges of 1); this restores ``like``'s chunks so
    that a gradient does not double the task graph of what follows. Other
    libraries: ``result`` unchanged.
    """
    if array_api_compat.is_dask_array(result) and result.chunks != like.chunks:
        return result.rechunk(like.chunks)
    return result


def device_of(x: Any):
    """The device of ``x``, as array-api-compat reports it."""
    return array_api_compat.device(x)


def to_host(x: Any) -> np.ndarray:
    """A NumPy copy of ``x``: a device-to-host transfer, for printing only."""
    if is_numpy(x):
        return np.asarray(x)
    name = library_name(x)
    if name == "torch":
        return x.detach().cpu().numpy()
    if name == "cupy":
        return x.get()
    if name == "dask":
        return np.asarray(x.compute())
    if name == "array_api_strict":
        return np.asarray(x.to_device(type(x.device)("CPU_DEVICE")))
    return np.asarray(x)


def namespace_dtype(xp: Any, np_dtype: np.dtype):
    """The dtype of namespace ``xp`` that has the name of the NumPy dtype ``np_dtype``."""
    name = np.dtype(np_dtype).name
    try:
        return getattr(xp, name)
    except AttributeError:
        if array_api_compat.is_dask_namespace(xp) or array_api_compat.is_numpy_namespace(xp):
            # these use NumPy dtypes, also those the standard leaves out (float16)
            return np.dtype(np_dtype)
        raise TypeError(
            f"dtype {name} of host data has no counterpart in namespace {xp.__name__}"
        ) from None


def host_to_device(values: Any, xp: Any, device: Any, dtype: Any = None):
    """Move host data (NumPy arrays or scalars, e.g. float64 weights) once to ``xp``.

    This is the one way host-computed numbers (stencil weights, steps,
    coordinate differences given as NumPy arrays) reach a backend: one
    transfer, to ``device``, in ``dtype`` (by default the NumPy dtype's
    counterpart in ``xp``). No device-to-host traffic happens here.
    """
    values = np.asarray(values)
    if dtype is None:
        dtype = namespace_dtype(xp, values.dtype)
    if array_api_compat.is_numpy_namespace(xp):
        return np.asarray(values, dtype=dtype)
    return xp.asarray(values, dtype=dtype, device=device)
