"""Type aliases for annotations: Array, ArrayLike, Namespace, Device and SparseMatrix.

Array libraries share no static type (the Array API standard is a protocol that
NumPy, CuPy, PyTorch, JAX and Dask each meet in their own classes, and none is
imported here), so these are aliases of ``Any`` named for what a value holds:
an annotation ``Array`` reads as "an array of the caller's library", and a
type checker accepts any library's. Host-side modules and algorithms alike may
use them; this module imports no array library.
"""

from __future__ import annotations

from typing import Any, TypeAlias

__all__ = ["Array", "ArrayLike", "Device", "Namespace", "SparseMatrix"]

#: an array of any Array API library (NumPy, CuPy, PyTorch, JAX, Dask, ...)
Array: TypeAlias = Any
#: what a public function turns into an array: an array, a Python scalar or a nested sequence
ArrayLike: TypeAlias = Any
#: an Array API namespace (``array_api_compat.array_namespace``'s result)
Namespace: TypeAlias = Any
#: a device of an array's library (``array_api_compat.device``'s result)
Device: TypeAlias = Any
#: a sparse matrix or array (scipy.sparse, cupyx.scipy.sparse): a sparse pattern or result
SparseMatrix: TypeAlias = Any
