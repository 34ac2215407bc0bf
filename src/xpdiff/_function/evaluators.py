"""Evaluators: turning batches of points into function values.

One protocol, three evaluators, chosen once from the arguments (:func:`evaluator_for`):

- :class:`Batched` — func is vectorized: each chunk of points is one call of
  func in this process (the default);
- :class:`Pointwise` — ``vectorized=False``: func gets one point of shape
  ``(n,)`` at a time, as in numDeriv;
- :class:`Mapped` — ``workers=``: the chunks (or, with ``vectorized=False``,
  the points) are tasks mapped over a pool of processes or any map-like
  callable, ``workers(func, iterable)`` (the scipy.optimize convention):
  ``concurrent.futures`` executors' ``.map``, ``multiprocessing.Pool.map``,
  ``dask.distributed.Client.get_executor().map``.

Every evaluator counts points and calls, checks what func returns (an array
or number of the work's library, numeric, with the output shape followed by
the points), and leaves the user's exceptions as they are, adding a note
(PEP 678) where xpdiff can tell why a call likely failed.
"""

from __future__ import annotations

import math
import numbers
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .. import _backend
from ..errors import BatchShapeError, ResultTypeError
from .func_values import as_values, in_work_dtype

__all__ = [
    "COMPLEX_VALUES",
    "BatchShapeError",
    "Batched",
    "Call",
    "Mapped",
    "Pointwise",
    "ResultTypeError",
    "check_batch_shape",
    "check_workers",
    "evaluator_for",
]


class Call:
    """``func(points, *args, **kwargs)``: the picklable task that workers run."""

    __slots__ = ("args", "func", "kwargs")

    def __init__(self, func: Any, args: tuple, kwargs: dict) -> None:
        self.func, self.args, self.kwargs = func, args, kwargs

    def __call__(self, points: Any) -> Any:
        return self.func(points, *self.args, **self.kwargs)

    def __getstate__(self) -> Any:
        return (self.func, self.args, self.kwargs)

    def __setstate__(self, state: Any) -> None:
        self.func, self.args, self.kwargs = state


def _integral(xp: Any, dtype: Any, kind: str | None) -> bool:
    return kind in ("i", "u") if kind is not None else bool(xp.isdtype(dtype, "integral"))


#: func's complex values at real points
COMPLEX_VALUES = (
    "func returned complex values (dtype {dtype}) at real points; derivatives here are of "
    "real functions: differentiate the real and imaginary parts as two outputs (e.g. "
    "stack them) instead"
)


def check_batch_shape(value: Any, head: tuple, points: int, shape: tuple) -> None:
    """The values of a batch must be ``head + (points,)``: anything else is explained."""
    expected = (*head, points)
    if tuple(value.shape) != expected:
        raise BatchShapeError(
            f"func returned shape {tuple(value.shape)} for a batch of points of shape "
            f"{shape}; expected {expected}: the output for each point "
            f"({head if head else 'a scalar'}) followed by the {points} points on the "
            f"last axis. A func that cannot take a batch of points (coordinates on "
            f"axis 0, points on the trailing axes) can be used with vectorized=False, "
            f"which evaluates point by point."
        )


def unpad(value: Any, head: tuple, points: Any, count: int) -> Any:
    """Check the values of a batch of ``points`` and keep those of its first ``count``.

    A batch of n points for n coordinates is built with one more point (a
    copy of a base point): a func that reduces the points' axis instead of
    the coordinates' would return ``(n,)`` for ``(n, n)`` points, which
    looks right; for ``(n, n + 1)`` it is a shape error. The extra value
    is dropped here.
    """
    check_batch_shape(value, head, points.shape[1], tuple(points.shape))
    return value if count == points.shape[1] else value[..., :count]


def _batch_note(shape: tuple) -> str:
    return (
        f"xpdiff called func on a batch of points: an array of shape {shape}, the "
        f"{shape[0]} coordinates on axis 0 and the points on the trailing axes (reduce "
        f"with axis=0, index coordinates as x[0], x[1], ...). A func that takes one "
        f"point at a time works with vectorized=False."
    )


def _note_mixed_libraries(exc: BaseException, points: Any) -> None:
    """func failed inside NumPy on an array of another library: say which, and what to use."""
    frames = traceback.walk_tb(exc.__traceback__)
    in_numpy = any(f.f_globals.get("__name__", "").split(".")[0] == "numpy" for f, _ in frames)
    if in_numpy and not _backend.is_numpy(points):
        library, kind = _backend.library_name(points), type(points)
        exc.add_note(
            f"func received a {library} array ({kind.__module__}.{kind.__qualname__}), the "
            f"library of x, and failed inside NumPy: NumPy's functions (np.sum(p, axis=0), "
            f"np.sin, ...) do not work on {library} arrays. Compute with x's own library: xp = "
            f"array_api_compat.array_namespace(p), then xp.sum(p, axis=0), xp.sin(p), ... (or "
            f"{library}'s functions).",
        )


# --- the evaluators -----------------------------------------------------------------------


class Evaluator:
    """The shared part: counting, the call at x, checking and shaping the values.

    ``complex_batch``: the batch's values must be complex (the complex step)
    rather than real. The call at x must always give real values.
    """

    #: the smallest number of calls a batch should be split into (workers want several)
    min_calls = 1
    #: the most points whose chunks may be held at once (set from the memory budget)
    wave_points: int | None = None
    #: x's floating dtype: func's values are taken in it (``func_values.in_work_dtype``)
    work_dtype: Any = None
    #: func takes a batch of points (False: one point at a time, ``vectorized=False``)
    vectorized = True

    def __init__(
        self, func: Any, args: tuple, kwargs: dict, *, complex_batch: bool = False
    ) -> None:
        self.call = Call(func, args, kwargs)
        self.complex_batch = complex_batch
        self.nfev = 0
        self.ncalls = 0
        #: func at x and that x (``engine.value_at_x``): the check that func does not mix points
        self.value_at_x: Any = None
        self.x_of_value: Any = None
        self.checked: Any = None  # the kind of call the check is for (passes.remember)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        return False

    def _values(self, xp: Any, value: Any, device: Any, *, batch: bool) -> Any:
        value = as_values(xp, value, device, self.work_dtype)
        kind = getattr(value.dtype, "kind", None)  # NumPy's dtypes say it cheaply
        is_complex = (
            kind == "c" if kind is not None else xp.isdtype(value.dtype, "complex floating")
        )
        if self.complex_batch:
            if batch and not is_complex and not _integral(xp, value.dtype, kind):
                # numDeriv's message (integers: a constant, whose imaginary part is 0)
                raise ResultTypeError(
                    "function does not return a complex value as required by method 'complex'."
                )
            # at x, a complex dtype (zero imaginary part) is fine too
            return in_work_dtype(xp, value, self.work_dtype, is_complex or batch)
        if is_complex:
            raise ResultTypeError(COMPLEX_VALUES.format(dtype=value.dtype))
        return in_work_dtype(xp, value, self.work_dtype, False)

    def at(self, xp: Any, x: Any, device: Any) -> Any:
        """func at the point(s) ``x`` of shape ``(n, *B)`` (a copy that xpdiff owns)."""
        self.ncalls += 1
        self.nfev += math.prod(x.shape[1:])
        try:
            value = self.call(x)
        except Exception as exc:
            _note_mixed_libraries(exc, x)  # NumPy x: nothing to note
            raise
        return self.checked_at(xp, x, device, value)

    def checked_at(self, xp: Any, x: Any, device: Any, value: Any) -> Any:
        """func's ``value`` at the point(s) ``x``, checked (:meth:`at` without the call)."""
        value = self._values(xp, value, device, batch=False)
        batch_shape = tuple(x.shape[1:])
        if batch_shape and (
            value.ndim < len(batch_shape)
            or tuple(value.shape[value.ndim - len(batch_shape) :]) != batch_shape
        ):
            raise BatchShapeError(
                f"func(x) returned shape {tuple(value.shape)} for x of shape "
                f"{tuple(x.shape)}; expected the batch shape {batch_shape} at the end, "
                f"after any output dimensions, i.e. () + {batch_shape} for a scalar "
                f"function. With vectorized=False func gets one point of shape "
                f"({x.shape[0]},) at a time."
            )
        return value

    def _at_pointwise(self, xp: Any, x: Any, device: Any) -> Any:
        """The call at x, one point at a time (``vectorized=False``)."""
        batch_shape = tuple(x.shape[1:])
        if not batch_shape:
            return Evaluator.at(self, xp, x, device)
        flat = xp.reshape(x, (x.shape[0], math.prod(batch_shape)))
        values = self._points(xp, flat, device, batch=False)
        return xp.reshape(values, (*values.shape[:-1], *batch_shape))

    def _points(self, xp: Any, points: Any, device: Any, *, batch: bool = True) -> Any:
        values = []
        for p in range(points.shape[1]):
            self.ncalls += 1
            self.nfev += 1
            point = points[:, p]
            try:
                value = self.call(point)
            except Exception as exc:
                self._explain(xp, exc, point, batch=False)
                raise
            values.append(self._values(xp, value, device, batch=batch))
        return xp.stack(values, axis=-1)

    def batch(self, xp: Any, points: Any, count: Any, head: Any, device: Any) -> Any:
        """One vectorized call on ``(n, P)`` points; the values ``(*head, count)``."""
        self.ncalls += 1
        self.nfev += points.shape[1]
        try:
            value = self.call(points)
        except Exception as exc:
            self._explain(xp, exc, points, batch=True)
            raise
        return self.batch_values(xp, value, points, count, head, device)

    def batch_values(
        self, xp: Any, value: Any, points: Any, count: int, head: tuple, device: Any
    ) -> Any:
        """func's ``value`` on ``points``, checked (:meth:`batch` without the call)."""
        # NumPy values of NumPy points, of the points' dtype (x's, or its complex
        # counterpart for the complex step): as they are
        if not (type(points) is type(value) is np.ndarray and value.dtype == points.dtype):
            value = self._values(xp, value, device, batch=True)
        return unpad(value, head, points, count)

    def explain(self, xp: Any, exc: Any, points: Any) -> None:
        """Notes on an exception of func on a batch of ``points`` (:meth:`batch`'s)."""
        self._explain(xp, exc, points, batch=True)

    def _explain(self, xp: Any, exc: Any, points: Any, *, batch: bool) -> None:
        """Notes on an exception of func: called on a batch; given complex points."""
        _note_mixed_libraries(exc, points)
        if self.complex_batch and _fails_for_complex_only(xp, self.call, points):
            # numDeriv's message, as a note: the user's exception stays as it is
            exc.add_note(
                "function does not accept complex argument as required by method 'complex' "
                "(it works on the real parts of the same points); the complex step needs a "
                "func that computes with complex numbers (no math.*, float(), abs() of the "
                "argument).",
            )
        elif batch:
            exc.add_note(_batch_note(tuple(points.shape)))

    def batches(self, xp: Any, chunks: Iterable, head: tuple, device: Any) -> Iterator:
        """Values ``(*head, count)`` for each chunk ``(points, count)``, in order.

        ``points`` is ``(n, P)``; only the first ``count`` are wanted (see
        :func:`unpad`).
        """
        raise NotImplementedError

    def one_batch(self, xp: Any, chunk: tuple[Any, int], head: tuple, device: Any) -> Any:
        """The values of one chunk, as :meth:`batches` gives them (a derivative in one call)."""
        (values,) = self.batches(xp, iter((chunk,)), head, device)
        return values


class Batched(Evaluator):
    """func is vectorized: each chunk is one call, in this process."""

    def batches(self, xp: Any, chunks: Any, head: Any, device: Any) -> Any:
        for points, count in chunks:
            yield self.batch(xp, points, count, head, device)

    def one_batch(self, xp: Any, chunk: tuple[Any, int], head: tuple, device: Any) -> Any:
        return self.batch(xp, chunk[0], chunk[1], head, device)


class Pointwise(Evaluator):
    """``vectorized=False``: func takes one point of shape ``(n,)`` and is called per point."""

    vectorized = False

    def at(self, xp: Any, x: Any, device: Any) -> Any:
        return self._at_pointwise(xp, x, device)

    def batches(self, xp: Any, chunks: Any, head: Any, device: Any) -> Any:
        for points, count in chunks:
            values = self._points(xp, points[:, :count], device)
            check_batch_shape(values, head, count, (points.shape[0], count))
            yield values


class Mapped(Evaluator):
    """``workers=``: tasks mapped over a pool of processes or a map-like callable.

    Vectorized, each chunk of points is one task (one call of func in a
    worker); with ``vectorized=False`` each point is one task. Tasks are
    handed to the map in waves of at most :attr:`wave_points` points, so
    that the points held at once stay within the memory budget; results
    come back in order. An int ``workers`` starts a process pool for the
    derivative and shuts it down after. The call at x runs in this process.
    """

    def __init__(
        self,
        func: Any,
        args: Any,
        kwargs: Any,
        *,
        workers: Any,
        vectorized: bool,
        complex_batch: Any = False,
    ) -> None:
        super().__init__(func, args, kwargs, complex_batch=complex_batch)
        self.workers = workers
        self.vectorized = vectorized
        self.pool: Any = None
        if isinstance(workers, numbers.Integral):
            self.processes: int | None = (os.cpu_count() or 1) if workers == -1 else int(workers)
            self.min_calls = self.processes
            from . import workers as _workers

            _workers.check_picklable(self.call)
        else:
            self.processes = None
            self.min_calls = os.cpu_count() or 1

    def __enter__(self) -> Any:
        if self.processes is not None:
            import concurrent.futures  # only a process pool needs it: not at import time

            from . import workers as _workers

            self.pool = concurrent.futures.ProcessPoolExecutor(
                self.processes, mp_context=_workers.process_context()
            )
        return self

    def __exit__(self, exc_type: Any, *exc_info: Any) -> Any:
        pool, self.pool = self.pool, None
        if pool is not None:
            if exc_type is None:
                pool.shutdown(wait=True)
            else:  # abandoned (an error, a timeout, Ctrl-C): end the workers, wait for none
                from . import workers as _workers

                _workers.terminate_pool(pool)
        return False

    def _map(self, xp: Any, tasks: list) -> list:
        mapper = self.pool.map if self.pool is not None else self.workers
        if self.pool is not None:  # to processes: points without autograd's graph
            tasks = [_backend.without_graph(t) for t in tasks]
        try:
            return list(mapper(self.call, tasks))
        except Exception as exc:
            if self.complex_batch and tasks:
                self._explain(xp, exc, tasks[0], batch=self.vectorized)
            from . import workers as _workers

            _workers.note_worker_failure(exc)
            raise

    def at(self, xp: Any, x: Any, device: Any) -> Any:
        if self.vectorized:
            return Evaluator.at(self, xp, x, device)
        return self._at_pointwise(xp, x, device)

    def batches(self, xp: Any, chunks: Any, head: Any, device: Any) -> Any:
        wave: list = []
        held = 0
        for points, count in chunks:
            if wave and self.wave_points is not None and held + count > self.wave_points:
                yield from self._run_wave(xp, wave, head, device)
                wave, held = [], 0
            wave.append((points, count))
            held += count
        if wave:
            yield from self._run_wave(xp, wave, head, device)

    def _run_wave(self, xp: Any, wave: Any, head: Any, device: Any) -> Any:
        if self.vectorized:
            results = self._map(xp, [points for points, _ in wave])
            for (points, count), value in zip(wave, results, strict=True):
                self.ncalls += 1
                self.nfev += points.shape[1]
                yield unpad(self._values(xp, value, device, batch=True), head, points, count)
            return
        each = iter(self._map(xp, [points[:, p] for points, count in wave for p in range(count)]))
        for points, count in wave:
            values = []
            for _ in range(count):
                self.ncalls += 1
                self.nfev += 1
                values.append(self._values(xp, next(each), device, batch=True))
            stacked = xp.stack(values, axis=-1)
            check_batch_shape(stacked, head, count, (points.shape[0], count))
            yield stacked


def _fails_for_complex_only(xp: Any, call: Any, points: Any) -> bool:
    """func raised on complex ``points``: does it work on their real parts?"""
    if not xp.isdtype(points.dtype, "complex floating"):
        return False
    try:
        call(xp.real(points))
    except Exception:
        return False
    return True


def check_workers(workers: Any) -> None:
    """``workers``: None, an int >= 1 or -1, or a map-like callable; else the error."""
    if workers is None or callable(workers):
        return
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral):
        raise TypeError(
            f"workers must be None, an int (processes; -1 for all cores) or a map-like "
            f"callable workers(func, iterable), got {type(workers).__name__} {workers!r}"
        )
    if workers < 1 and workers != -1:
        raise ValueError(
            f"workers must be a number of processes >= 1, or -1 for all cores, got {workers}"
        )


def evaluator_for(
    func: Callable,
    args: tuple,
    kwargs: dict,
    *,
    vectorized: bool,
    workers: Any,
    complex_batch: bool = False,
    dtype: Any = None,
) -> Evaluator:
    """The evaluator that the arguments ask for; ``dtype``: x's floating dtype, in which
    func's values are taken (``Evaluator.work_dtype``)."""
    check_workers(workers)
    evaluator: Evaluator
    if workers is not None:
        evaluator = Mapped(
            func,
            args,
            kwargs,
            workers=workers,
            vectorized=vectorized,
            complex_batch=complex_batch,
        )
    elif vectorized:
        evaluator = Batched(func, args, kwargs, complex_batch=complex_batch)
    else:
        evaluator = Pointwise(func, args, kwargs, complex_batch=complex_batch)
    evaluator.work_dtype = dtype
    return evaluator
