"""Process pools of ``workers=<int>``: what may be sent, how they start and how they end.

The checks before a pool starts (func, its args and kwargs must pickle, and
must not live in a ``__main__`` that new processes cannot import), the start
method, the notes on what a pool raised, and the termination of a pool whose
derivative was abandoned. Used by the ``Mapped`` evaluator
(:mod:`xpdiff._function.evaluators`), which imports this module only when a
derivative has workers.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import sys
from typing import Any

from .evaluators import Call

__all__ = [
    "TERMINATE_WAIT",
    "check_picklable",
    "is_pickling_error",
    "main_is_importable",
    "main_references",
    "note_worker_failure",
    "process_context",
    "terminate_pool",
]


#: seconds to wait for a terminated worker process before killing it
TERMINATE_WAIT = 1.0


def terminate_pool(pool: Any) -> None:
    """End a process pool's workers now, hung ones included, and leave no process behind.

    ``shutdown(wait=True)`` would wait for a worker stuck in func; this
    terminates every worker (SIGTERM, then SIGKILL after
    :data:`TERMINATE_WAIT` seconds); the tasks not started fail with the pool.
    """
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:  # pragma: no cover - Python 3.14
        terminate()
        return
    # before 3.14 the executor lists its processes only in this attribute
    processes = list((getattr(pool, "_processes", None) or {}).values())
    # tasks that map already cancelled: Python 3.11's manager thread would fail on them
    # ("InvalidStateError: CANCELLED") when it finds the workers gone; removing them
    # from the dict races with its queue of ids (KeyError), so their futures are
    # swapped for cancelled ones that take any outcome silently
    pending = getattr(pool, "_pending_work_items", None) or {}
    for item in list(pending.values()):
        if item.future.cancelled():
            item.future = _dropped_future()
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(TERMINATE_WAIT)
        if process.is_alive():  # pragma: no cover - a worker that ignores SIGTERM
            process.kill()
            process.join(TERMINATE_WAIT)
    # its manager thread now sees dead workers and fails the waiting tasks (cancelling
    # them here as well races with it on Python < 3.12): only that thread is waited for
    pool.shutdown(wait=True)


def _dropped_future() -> Any:
    """A cancelled future whose set_result and set_exception do nothing (see terminate_pool)."""
    import concurrent.futures

    class Dropped(concurrent.futures.Future):
        def set_result(self, result: Any) -> None:
            pass

        def set_exception(self, exception: BaseException | None) -> None:
            pass

    future = Dropped()
    future.cancel()
    return future


def note_worker_failure(exc: BaseException) -> None:
    """Notes on what the workers' map raised: which side failed to pickle, a dead worker."""
    remote = type(exc.__cause__).__name__ == "_RemoteTraceback"
    if is_pickling_error(exc) and remote:
        exc.add_note(
            "a worker could not send back the exception that func raised there (that "
            "exception cannot be pickled): func itself reached the worker; its exception "
            "and traceback are in the remote traceback above.",
        )
    elif is_pickling_error(exc):
        exc.add_note(
            "xpdiff sends func, its args and kwargs and the points to the workers; "
            "they must be picklable by the workers' map (for process pools: a "
            "function defined at the top level of a module, not a lambda or a "
            "nested function).",
        )
    elif type(exc).__name__ == "BrokenProcessPool":
        exc.add_note(
            "a worker process ended abruptly: it was killed (out of memory, a signal), "
            "crashed in native code, or could not import func (a func defined in "
            "python -c, standard input or a notebook cannot be imported by new "
            "processes). Define func in an importable module, pass a thread pool's map "
            "as workers, or use workers=None.",
        )


def process_context() -> Any:
    """forkserver where the platform has it (safe beside threads), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def is_pickling_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, pickle.PicklingError) or "pickle" in text


def check_picklable(call: Call) -> None:
    try:
        found = main_references(call)
    except Exception as exc:
        raise TypeError(
            f"func cannot be sent to worker processes: pickling it (with its args and "
            f"kwargs) failed with {type(exc).__name__}: {exc}. With workers=<int>, define "
            f"func at the top level of a module (not a lambda or a nested function), or "
            f"pass a map-like workers that does not pickle, e.g. a thread pool's map."
        ) from exc
    if found and not main_is_importable():
        names = ", ".join(sorted({getattr(o, "__qualname__", repr(o)) for o in found}))
        raise TypeError(
            f"func cannot be sent to worker processes: it (or its args and kwargs) refers to "
            f"{names}, defined in the __main__ module of a session that new processes "
            f"cannot import (python -c, standard input, a notebook or an interactive "
            f"shell); workers=<int> would fail inside the workers. Define func in a module "
            f"(a .py file) and import it, pass a thread pool's map as workers (e.g. "
            f"concurrent.futures.ThreadPoolExecutor().map), or use workers=None."
        )


def main_references(call: Call) -> list:
    """Pickle ``call`` (as the workers' map will) and return the objects of ``__main__``
    that the pickle refers to by name."""
    found: list = []

    class Finder(pickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if getattr(obj, "__module__", None) == "__main__" and (
                isinstance(obj, type) or hasattr(obj, "__qualname__")
            ):
                found.append(obj)
            return NotImplemented

    Finder(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL).dump(call)
    return found


def main_is_importable() -> bool:
    """Whether new processes can import ``__main__`` (a script's file or a ``-m`` module)."""
    main = sys.modules.get("__main__")
    if main is None:
        return False
    if getattr(main, "__spec__", None) is not None:
        return True
    path = getattr(main, "__file__", None)  # "<stdin>" for standard input
    return isinstance(path, str) and os.path.isfile(path)
