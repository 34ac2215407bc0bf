"""The exceptions xpdiff raises of its own, importable as ``xpdiff.errors``.

Bad arguments are plain :class:`TypeError` and :class:`ValueError` (the
types numpy.gradient raises, so code written for it keeps working). The
classes here are raised when *func* returned something xpdiff cannot
differentiate; each is still a subclass of :class:`ValueError` or
:class:`TypeError`, so ``except ValueError`` catches it too, and each prints
under the name it is imported by (``xpdiff.errors.BatchShapeError``). An
exception raised by func itself is never wrapped in one of these: it
propagates as itself, with a note (PEP 678) where xpdiff can tell why.

This module imports nothing: the evaluators that raise these classes import
them from here.
"""

from __future__ import annotations

__all__ = ["BatchShapeError", "FuncResultError", "ResultTypeError"]


class FuncResultError(Exception):
    """What func returned failed xpdiff's checks (never one of func's own exceptions).

    The base class of :class:`BatchShapeError` and :class:`ResultTypeError`:
    ``except xpdiff.errors.FuncResultError`` catches both and nothing that
    func raised itself.

    Examples
    --------
    >>> from xpdiff.errors import BatchShapeError, FuncResultError, ResultTypeError
    >>> issubclass(BatchShapeError, FuncResultError), issubclass(BatchShapeError, ValueError)
    (True, True)
    >>> issubclass(ResultTypeError, FuncResultError), issubclass(ResultTypeError, TypeError)
    (True, True)
    """


class BatchShapeError(FuncResultError, ValueError):
    """func returned the wrong shape for a batch of points (a :class:`ValueError`).

    A vectorized func gets the coordinates on axis 0 and the points on the
    trailing axes, and must return one value per point, the points last. The
    message gives the shape returned and the shape expected; a func that
    reduces the wrong axis (``np.sum(p)`` instead of ``np.sum(p, axis=0)``) is
    the usual cause, and ``vectorized=False`` evaluates point by point.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> xd.grad(lambda p: np.sum(p**2, axis=-1), np.array([1.0, 2.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    xpdiff.errors.BatchShapeError: func returned shape (2,) for a batch of points of shape ...
    """


class ResultTypeError(FuncResultError, TypeError):
    """func returned something that is not numbers of x's library (a :class:`TypeError`).

    For instance a string, ``None``, a bool, an object array, complex values
    at real points, or a NumPy array when x is a PyTorch tensor. The message
    says what func returned and what is expected.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> xd.grad(lambda p: None, np.array([1.0, 2.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    xpdiff.errors.ResultTypeError: func returned NoneType None; expected a number or an array ...
    """
