"""The memory budget of function mode: how many bytes one derivative may hold at once.

Everything that xpdiff itself holds for one derivative — the perturbed points
of one call of func, the function values kept for the combination, the arrays
that grow with the points of a batch (steps, f(x), scales, ``jvp``/``hvp``'s
directions, ``derivative``'s copy of x for the call at x) and the result —
stays within this budget, a batch being split into chunks of points or
directions where needed (``_function.point_chunks``). Not counted: func's own
temporaries, the caller's x and v, the copy of x that the call at x gets
(except ``derivative``'s), a result that alone is larger than the budget, and
the other cases docs/scaling_out.md lists. The budget is a
process-wide default (:func:`set_memory_budget`) that a ``with
memory_budget(...)`` block overrides in its own thread or task (a context
variable). By default it is automatic: 128 MiB for host arrays, and a quarter
of the free memory of the GPU for arrays on a CUDA device where the library
can tell (CuPy, PyTorch), so that a large GPU is not held to small chunks.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
from collections.abc import Iterator
from typing import Any

from . import _backend

__all__ = ["get_memory_budget", "memory_budget", "set_memory_budget"]

#: the automatic budget for host arrays (and devices that do not say how much is free)
HOST_BUDGET = 128 * 2**20
#: the share of a GPU's free memory that the automatic budget takes
DEVICE_SHARE = 4

_UNSET = object()  # no memory_budget block: the process-wide setting applies
_default: int | None = None  # None: automatic
_override: contextvars.ContextVar = contextvars.ContextVar("xpdiff_memory_budget", default=_UNSET)


def _check(nbytes: object) -> int | None:
    if nbytes is None:
        return None
    if isinstance(nbytes, bool) or not isinstance(nbytes, numbers.Integral):
        raise TypeError(
            f"the memory budget must be an integer number of bytes or None (automatic), "
            f"got {type(nbytes).__name__} {nbytes!r}"
        )
    if nbytes < 1:
        raise ValueError(f"the memory budget must be at least 1 byte, got {nbytes!r}")
    return int(nbytes)


def get_memory_budget(like: Any = None) -> int:
    """The memory budget in bytes for one derivative of arrays like ``like``.

    Parameters
    ----------
    like : array, optional
        An array on the device that the work will use. With the automatic
        budget, arrays on a CUDA device of CuPy or PyTorch get a quarter of the
        device's free memory (at least 128 MiB); anything else gets 128 MiB.

    Returns
    -------
    int
        The budget set by the innermost :func:`memory_budget` block, else the
        one set by :func:`set_memory_budget`, else the automatic budget.

    Examples
    --------
    >>> import xpdiff as xd
    >>> xd.get_memory_budget() // 2**20
    128
    >>> with xd.memory_budget(16 * 2**20):
    ...     xd.get_memory_budget() // 2**20
    16
    """
    nbytes = _override.get()
    if nbytes is _UNSET:
        nbytes = _default
    if nbytes is not None:
        return nbytes
    free = _backend.free_device_memory(like) if like is not None else None
    if free is None:
        return HOST_BUDGET
    return max(HOST_BUDGET, free // DEVICE_SHARE)


def set_memory_budget(nbytes: int | None) -> int | None:
    """Set the process-wide memory budget of function mode; return the previous setting.

    Parameters
    ----------
    nbytes : int or None
        Bytes that one derivative may hold at once: the points of one call of
        func, the function values kept for the combination, and the result.
        None restores the automatic budget (128 MiB on the host, a quarter of
        a GPU's free memory on CuPy and PyTorch CUDA arrays).

    Returns
    -------
    int or None
        The previous process-wide setting (None: it was automatic).

    Raises
    ------
    TypeError
        If ``nbytes`` is not an integer or None.
    ValueError
        If ``nbytes`` is below 1.

    Notes
    -----
    The budget decides how many points go to func in one call (``max_batch``
    caps that further) and, for a batch of many points, how many points are
    derived at once. It cannot be smaller than the result itself: a
    derivative whose result alone exceeds the budget still runs, with the
    smallest chunks. func's own temporaries and the caller's x are not
    counted (see "The memory budget" in the documentation).

    Examples
    --------
    >>> import xpdiff as xd
    >>> previous = xd.set_memory_budget(512 * 2**20)
    >>> xd.get_memory_budget() // 2**20
    512
    >>> xd.set_memory_budget(previous) // 2**20
    512
    """
    global _default
    nbytes = _check(nbytes)
    previous, _default = _default, nbytes
    return previous


@contextlib.contextmanager
def memory_budget(nbytes: int | None) -> Iterator[None]:
    """A ``with`` block in which the memory budget of function mode is ``nbytes``.

    Parameters
    ----------
    nbytes : int or None
        Bytes that one derivative may hold at once inside the block; None
        means the automatic budget. The setting is local to the thread (and
        asyncio task) that enters the block.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> calls = []
    >>> def f(x):
    ...     calls.append(x.shape)
    ...     return np.sum(x**2, axis=0)
    >>> with xd.memory_budget(4096):   # 80 points of 10 coordinates do not fit
    ...     g = xd.grad(f, np.ones(10))
    >>> len(calls) > 2
    True
    """
    token = _override.set(_check(nbytes))
    try:
        yield
    finally:
        _override.reset(token)
