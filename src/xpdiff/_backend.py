"""The backend resolver: the only module of xpdiff that knows array libraries.

It finds the array namespace and device of the caller's arguments through
array-api-compat, refuses arguments that mix two array libraries, and moves
host data (weights, steps, coordinates held as NumPy arrays) once to the work's
namespace, device and dtype. The numerics (``_numerics``) never come here, and
the algorithms (``_array``, ``_function``) combine the two. Nothing here imports
cupy, torch, jax or dask: a library is only ever seen through an array that
the caller already made with it.
"""

from __future__ import annotations

import functools
import numbers
import sys
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "array_namespace",
    "available_dtype",
    "copy",
    "cupy_module",
    "device_of",
    "free_device_memory",
    "host_to_device",
    "is_numpy",
    "is_numpy_namespace",
    "is_python_scalar",
    "is_traced",
    "library_name",
    "match_layout",
    "namespace_dtype",
    "numpy_namespace",
    "to_host",
    "widest_float",
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


def is_traced(x: object) -> bool:
    """True for an array being traced by ``jax.jit`` (it has no values to look at yet)."""
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(x, jax.core.Tracer)


def cupy_module() -> Any:
    """The cupy module, for the CuPy executor: asked for only with a CuPy array in hand."""
    return sys.modules["cupy"]


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


def array_namespace(
    f: Any, others: tuple[Any, ...] = (), *, what: str = "argument", first: str = "f"
) -> Any:
    """Resolve the namespace of ``f`` and check ``others`` against it.

    ``f`` may be an array of any Array API library, or a Python scalar, list
    or tuple (which mean NumPy). Each of ``others`` may be a Python scalar, a
    list or tuple, a NumPy array or scalar (host data, accepted with any
    ``f`` and moved later), or an array of ``f``'s own library. An array of a
    third library is a TypeError naming both libraries (``f`` as ``first``, the
    others as ``what``).

    Returns
    -------
    xp, f
        The array-api-compat namespace, and ``f`` as an array of it.
    """
    if type(f) is np.ndarray and not others:
        return numpy_namespace(), f  # the common case, without the general checks
    if not is_array(f):
        f = np.asarray(f)
        if not others:
            return numpy_namespace(), f
    f_library = library_name(f)
    for other in others:
        if is_array(other) and not is_numpy(other):
            other_library = library_name(other)
            if other_library != f_library:
                own = "" if f_library == "numpy" else f"a {f_library} array, "
                raise TypeError(
                    f"cannot mix array libraries: {first} is a {f_library} array but a "
                    f"{what} is a {other_library} array; give the {what} as "
                    f"{own}a NumPy array, a list or a Python scalar"
                )
    if is_numpy(f):
        return numpy_namespace(), np.asarray(f)
    kind = type(f)
    namespace = _NAMESPACES.get(kind)
    if namespace is None:
        namespace = array_api_compat.array_namespace(f)
        if kind.__module__.split(".", 1)[0] in _COMPAT_WRAPPED:
            _NAMESPACES[kind] = namespace
    return namespace, f


#: libraries whose arrays array-api-compat wraps in a namespace of its own, chosen by
#: the array's type alone; other arrays name theirs (``__array_namespace__``), which
#: may differ from one array to the next, and are asked every time
_COMPAT_WRAPPED = frozenset({"torch", "cupy", "jax", "jaxlib", "dask"})
#: array-api-compat's namespace of each array type of those libraries met so far
_NAMESPACES: dict[type, Any] = {}


class _NumPyNamespace:
    """array-api-compat's NumPy namespace, with its most frequent calls made cheaply.

    NumPy's Python-level functions (``np.reshape``, array-api-compat's
    wrappers) cost a few microseconds each, more than the arithmetic on small
    arrays; function mode makes a few dozen such calls per derivative. Here
    the calls xpdiff uses most go straight to ndarray methods with the same
    results; every other name is array-api-compat's own (looked up once).
    """

    def __init__(self, compat: Any) -> None:
        self._compat = compat
        self.__name__ = compat.__name__  # array_api_compat.is_numpy_namespace knows it

    def __getattr__(self, name: Any) -> Any:
        value = getattr(self._compat, name)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return f"<xpdiff's fast view of {self.__name__}>"

    @staticmethod
    def reshape(x: Any, /, shape: Any, *, copy: Any = None) -> Any:
        if copy is None and type(x) is np.ndarray:
            return x.reshape(shape)
        return numpy_namespace()._compat.reshape(x, shape, copy=copy)

    @staticmethod
    def astype(x: Any, dtype: Any, /, *, copy: Any = True, device: Any = None) -> Any:
        return x.astype(dtype, copy=copy)

    @staticmethod
    def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: Any = None) -> Any:
        if copy and dtype is None and type(obj) is np.ndarray:
            return obj.copy()
        return numpy_namespace()._compat.asarray(obj, dtype=dtype, device=device, copy=copy)

    @staticmethod
    def permute_dims(x: Any, /, axes: Any) -> Any:
        if type(x) is np.ndarray:
            return x.transpose(axes)
        return numpy_namespace()._compat.permute_dims(x, axes)

    matmul = staticmethod(np.matmul)
    arange = staticmethod(np.arange)


@functools.cache
def numpy_namespace() -> Any:
    """xpdiff's view of array-api-compat's NumPy namespace (see :class:`_NumPyNamespace`)."""
    return _NumPyNamespace(array_api_compat.array_namespace(np.empty(0)))


def is_numpy_namespace(xp: Any) -> bool:
    """True when ``xp`` is NumPy (bare or array-api-compat's wrapper)."""
    return xp is np or xp is numpy_namespace() or array_api_compat.is_numpy_namespace(xp)


def copy(xp: Any, x: Any) -> Any:
    """A copy of ``x`` that xpdiff owns (NumPy: ``ndarray.copy``, the cheapest; PyTorch:
    ``clone``, which keeps autograd's graph as ``asarray`` now does, without its warning
    that ``requires_grad`` defaults to the tensor's)."""
    if type(x) is np.ndarray:
        return x.copy()
    if library_name(x) == "torch":
        return x.clone()
    return xp.asarray(x, copy=True)


def row_major_transpose(xp: Any, a: Any) -> Any:
    """The transpose of a 2-D ``a``, laid out row by row where a library has layouts
    (NumPy, CuPy, torch: a copy), elsewhere the library's transpose (JAX, Dask).

    Work that broadcasts along a short axis runs NumPy's inner loops over that
    axis: a jvp's ``x + m t v`` is built with the n coordinates last (inner
    loops over n, not over the 8 sets) and transposed once here.
    """
    if type(a) is np.ndarray:
        return np.ascontiguousarray(a.T)
    t = xp.permute_dims(a, (1, 0))
    if library_name(t) == "cupy":
        return cupy_module().ascontiguousarray(t)
    contiguous = getattr(t, "contiguous", None)  # torch
    return contiguous() if callable(contiguous) else t


def match_layout(result: Any, like: Any) -> Any:
    """Give ``result`` the memory layout of ``like`` where a library has one to keep.

    Dask: slicing and concatenating along an axis splits chunks (an interior
    of n - 2 points next to edges of 1); this restores ``like``'s chunks so
    that a gradient does not double the task graph of what follows. Other
    libraries: ``result`` unchanged.
    """
    if array_api_compat.is_dask_array(result) and result.chunks != like.chunks:
        return result.rechunk(like.chunks)
    return result


def complex_dtype(xp: Any, real: Any) -> Any:
    """The complex dtype of a real floating ``real`` (float32's complex64, else complex128)."""
    return xp.complex128 if real == xp.float64 else xp.complex64


def without_empty_chunks(x: Any) -> Any:
    """``x`` with no chunk of size 0: a Dask array after boolean indexing and
    ``compute_chunk_sizes()`` can have one, and Dask's reductions without an identity
    (``min``, ``max``) fail on its empty block. Other arrays unchanged."""
    if not array_api_compat.is_dask_array(x) or not any(0 in c for c in x.chunks):
        return x
    return x.rechunk(tuple(tuple(size for size in c if size) or (0,) for c in x.chunks))


def device_of(x: Any) -> Any:
    """The device of ``x``, as array-api-compat reports it."""
    if type(x) is np.ndarray:
        return "cpu"
    return array_api_compat.device(x)


def free_device_memory(x: Any) -> int | None:
    """Bytes free on the CUDA device of ``x`` (CuPy, PyTorch), or None where unknown.

    Memory that the library's own pool holds but does not use counts as
    free. Host arrays, and libraries that do not say, give None.
    """
    if type(x) is np.ndarray:
        return None
    name = library_name(x)
    if name == "cupy":
        cupy = sys.modules["cupy"]
        with x.device:
            free, _ = cupy.cuda.runtime.memGetInfo()
        return int(free) + int(cupy.get_default_memory_pool().free_bytes())
    if name == "torch" and x.device.type == "cuda":
        torch = sys.modules["torch"]
        free, _ = torch.cuda.mem_get_info(x.device)
        pooled = torch.cuda.memory_reserved(x.device) - torch.cuda.memory_allocated(x.device)
        return int(free) + int(pooled)
    return None


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


def namespace_dtype(xp: Any, np_dtype: np.dtype) -> Any:
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


_NARROWER = {"float64": "float32", "complex128": "complex64", "int64": "int32", "uint64": "uint32"}


def available_dtype(xp: Any, dtype: Any) -> Any:
    """``dtype``, or its 32-bit counterpart where ``xp`` has no 64-bit types.

    JAX without ``jax_enable_x64`` (its default) has no float64, complex128
    or int64: asking for them truncates with a warning. xpdiff asks for the
    dtype the work can have instead.
    """
    if array_api_compat.is_jax_namespace(xp) and not sys.modules["jax"].config.jax_enable_x64:
        narrower = _NARROWER.get(np.dtype(dtype).name)
        if narrower is not None:
            return getattr(xp, narrower)
    return dtype


def widest_float(xp: Any) -> Any:
    """The most precise real floating dtype of ``xp``: float64, or float32 for 32-bit JAX."""
    return available_dtype(xp, xp.float64)


def host_to_device(values: Any, xp: Any, device: Any, dtype: Any = None) -> Any:
    """Move host data (NumPy arrays or scalars, e.g. float64 weights) once to ``xp``.

    This is the one way host-computed numbers (stencil weights, steps,
    coordinate differences given as NumPy arrays) reach a backend: one
    transfer, to ``device``, in ``dtype`` (by default the NumPy dtype's
    counterpart in ``xp``). No device-to-host traffic happens here.
    """
    if dtype is not None and is_numpy_namespace(xp):
        return np.asarray(values, dtype=dtype)
    values = np.asarray(values)
    if dtype is None:
        dtype = namespace_dtype(xp, values.dtype)
    if is_numpy_namespace(xp):
        return np.asarray(values, dtype=dtype)
    if not values.flags.writeable:
        values = values.copy()  # torch warns about read-only (cached) host arrays
    return xp.asarray(values, dtype=available_dtype(xp, dtype), device=device)


def index_to_device(values: Any, xp: Any, device: Any) -> Any:
    """Host indices for ``xp.take``: :func:`host_to_device`'s, but NumPy's own for Dask,
    whose ``take`` with a Dask index of one number along axis 0 gives the wrong shape
    (axis 0's whole length: a later reshape fails), with NumPy indices the right one."""
    if array_api_compat.is_dask_namespace(xp):
        return np.asarray(values)
    return host_to_device(values, xp, device)


def without_graph(x: Any) -> Any:
    """``x`` without an autograd graph (PyTorch: ``detach()``), for pickling to a process:
    a tensor that requires grad and is not a leaf cannot be pickled."""
    if getattr(x, "requires_grad", False) and callable(getattr(x, "detach", None)):
        return x.detach()
    return x


def to_device(x: Any, device: Any) -> Any:
    """``x`` (an array of the work's library) on ``device``: as it is where it is there."""
    if type(x) is np.ndarray or device_of(x) == device:
        return x
    return array_api_compat.to_device(x, device)


def jax_module() -> Any:
    """The ``jax`` module (imported on first use; for ``interop.as_jax``)."""
    import jax

    return jax


def torch_tensor_type() -> Any:
    """``torch.Tensor`` where PyTorch is imported already, else None (nothing is imported)."""
    torch = sys.modules.get("torch")
    return None if torch is None else torch.Tensor


def torch_transforms_probe() -> Any:
    """A function of no arguments: whether a ``torch.func`` transform is running.

    Tensors inside a transform (vmap, grad, jacrev...) are wrapped, and their
    ``out=`` operations have no batching rule: executors that write with
    ``out=`` leave them alone. Asked for with a tensor in hand (PyTorch is
    imported); a PyTorch without the probe has no transforms to detect.
    """
    active = getattr(sys.modules["torch"]._C, "_are_functorch_transforms_active", None)
    return active if active is not None else (lambda: False)


def torch_module() -> Any:
    """The ``torch`` module (imported on first use; for ``interop.as_torch``)."""
    import torch

    return torch


def dask_graph_tools() -> tuple[Any, Any]:
    """``(dask.array, HighLevelGraph)`` for the Dask executor, which writes its own graph.

    Asked for only with a Dask array in hand, so Dask is already imported.
    """
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    return da, HighLevelGraph


def namespace_of(x: Any) -> Any:
    """The array-api-compat namespace of the array ``x`` (TypeError if it has none)."""
    return array_api_compat.array_namespace(x)


def cupyx_sparse_module() -> Any:
    """``cupyx.scipy.sparse``, imported on demand (for cupyx sparsity patterns)."""
    import cupyx.scipy.sparse

    return cupyx.scipy.sparse
