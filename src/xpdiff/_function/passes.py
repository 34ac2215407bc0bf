"""Which funcs passed the mixing check (``mixing``), per kind of call.

A func that passed the check in host memory, on a call that held all of a
derivative's points, is remembered (:func:`remember`) with the kind of call
it passed on (:func:`kind_of_call`), and the same func on the same kind of
call is not checked again (:func:`must_check`): an optimizer's loop pays for
the two points once, and the quick paths (``quick``, ``quick_jvp``) serve
it. "The same func" is the same object, held by a weak reference so that a
new object never takes a gone one's place (:func:`identity`): for a bound
method, made anew at every ``obj.method``, the same function and object; a
NumPy ufunc, which cannot be referenced weakly, is held instead.
"""

from __future__ import annotations

import functools
import itertools
import types
import weakref
from typing import Any

import numpy as np

from .mixing import may_mix, sentinel_direction, values_in_host_memory
from .problem import Problem

__all__ = [
    "identity",
    "kind_of_call",
    "must_check",
    "passed_any",
    "passed_before",
    "passed_on",
    "remember",
]

#: func's identity (:func:`identity`) -> (references to its parts, {kind of call:
#: (outputs, weak references to its args)}): where func passed the check on a whole call
#: in host memory
_PASSED: dict[tuple, tuple[tuple, dict[tuple, tuple[int, tuple]]]] = {}

#: the most kinds of call remembered per func, and ufuncs held (then the oldest forgotten)
_KINDS = 32

#: argument types remembered by value (immutable); other arguments by weak reference
_BY_VALUE = (type(None), bool, int, float, complex, str, bytes)


def identity(func: Any) -> list[tuple[tuple, tuple]]:
    """``(key, parts)`` pairs: the objects func may be remembered by, and their ids.

    func itself; for a bound method (``obj.method``, a new object at every
    access, gone after the call) first its function and its object, so that
    ``grad(model.loss, x)`` in a loop is remembered as ``grad(loss, x)`` is,
    then itself (an object that cannot be referenced weakly, a NamedTuple or a
    class with ``__slots__``: the same bound method kept and passed again).
    """
    itself = ((id(func),), (func,))
    if type(func) is types.MethodType:
        parts = (func.__func__, func.__self__)
        return [((id(parts[0]), id(parts[1])), parts), itself]
    return [itself]


def _found(func: Any) -> dict[tuple, tuple[int, tuple]] | None:
    """func's kinds of call remembered, or None."""
    for key, parts in identity(func):
        entry = _PASSED.get(key)
        if entry is not None and all(r() is p for r, p in zip(entry[0], parts, strict=True)):
            return entry[1]
    return None


def kind_of_call(problem: Problem) -> tuple[tuple, tuple] | None:
    """What a pass is remembered with, and weak references to the arguments it holds
    by identity; None where it cannot be remembered. The evaluator keeps it where
    the check starts (``engine.value_at_x``), for :func:`remember`.

    The kind: the evaluator (its type, ``vectorized``, the complex batch), x's
    library, dtype and shape, the method, the sentinel's direction (the
    caller's ``side``), ``max_batch`` and the memory budget (which lay the
    calls out), and each of ``args`` and ``kwargs``: an immutable number or
    string by value, any other object by identity, held by a weak reference
    so that an identity is never reused while remembered (an object that
    cannot be referenced weakly, a list or a dict: not remembered).
    """
    evaluator = problem.evaluator
    call = evaluator.call
    arguments: tuple = ()
    refs: tuple = ()
    if call.args or call.kwargs:
        named: list = []
        weak: list = []
        for name, value in (*enumerate(call.args), *call.kwargs.items()):
            if type(value) in _BY_VALUE:
                named.append((name, type(value), value))
                continue
            try:
                weak.append(weakref.ref(value))
            except TypeError:
                return None
            named.append((name, id(value)))
        arguments, refs = tuple(named), tuple(weak)
    x = problem.x
    kind = (
        type(evaluator),
        getattr(evaluator, "vectorized", None),
        evaluator.complex_batch,
        problem.xp,
        x.dtype,
        x.shape,
        problem.method,
        sentinel_direction(problem).tobytes() if problem.one_sided else None,
        problem.max_batch,
        problem.budget,
        arguments,
    )
    return kind, refs


def passed_before(problem: Problem) -> int | None:
    """The number of outputs func gave where it passed on this kind of call, else None.

    A vectorized func (``mixing.may_mix``) is checked unless the same func
    (:func:`identity`) passed the check (:func:`remember`) on the same
    kind of call (:func:`kind_of_call`), with x in host memory (elsewhere
    the check's flag is never read, so nothing is remembered, and a
    traced or device call is always checked). A func that mixes points
    only on some calls, depending on state that changes between them, is
    caught only on the first (docs/errors.md). A func that cannot be
    referenced weakly (a class with ``__slots__`` and no ``__weakref__``) is
    checked on every call; a NumPy ufunc is held (:func:`remember`).
    """
    func = problem.evaluator.call.func
    if _found(func) is None or not values_in_host_memory(problem.x):
        return None
    kind = kind_of_call(problem)
    return None if kind is None else passed_on(func, kind[0])


def passed_any(func: Any) -> bool:
    """Whether func passed the check on some kind of call (:func:`remember`)."""
    return _found(func) is not None


def passed_on(func: Any, kind: tuple) -> int | None:
    """:func:`passed_before` for a kind of call known already (``kind_of_call(...)[0]``,
    x in host memory): grad's quick path keeps its kind in its plan (``quick``)."""
    kinds = _found(func)
    found = None if kinds is None else kinds.get(kind)
    if found is None or (found[1] and any(ref() is None for ref in found[1])):
        return None  # an argument it was remembered with is gone: its id may be reused
    return found[0]


def must_check(problem: Problem) -> bool:
    """Whether this derivative checks that func does not mix points: a vectorized func
    that has not passed on this kind of call (:func:`passed_before`)."""
    return may_mix(problem.evaluator) and passed_before(problem) is None


def remember(func: Any, kind: tuple[tuple, tuple] | None, outputs: int) -> None:
    """Note that func passed the check, with values in host memory, on a call that held
    all of a derivative's points, giving ``outputs`` outputs per point; ``kind`` from
    :func:`kind_of_call` (None: not to be remembered).

    Its parts (:func:`identity`) are referenced weakly, forgotten when one
    is gone; a NumPy ufunc (``np.sin``, ``scipy.special.erf``: its loops
    never change), which cannot be, is held, :data:`_KINDS` ufuncs at most
    (then the oldest is forgotten); a part that is neither (a class with
    ``__slots__`` and no ``__weakref__``) is not remembered.
    """
    if kind is None:
        return
    kinds = _found(func)
    if kinds is None:
        for key, parts in identity(func):
            try:
                refs: tuple = tuple(
                    weakref.ref(part, functools.partial(_forget, key)) for part in parts
                )
                break
            except TypeError:
                continue
        else:
            if type(func) is not np.ufunc:
                return
            held = [k for k, e in _PASSED.copy().items() if type(e[0][0]) is not weakref.ref]
            for old in held[: max(0, len(held) + 1 - _KINDS)]:  # the oldest, beyond _KINDS
                _PASSED.pop(old, None)  # (a copy: _forget may run as the loop allocates)
            refs = (itertools.repeat(func).__next__,)  # the ufunc, held
        kinds = {}
        _PASSED[key] = (refs, kinds)
    if len(kinds) >= _KINDS:
        kinds.clear()
    kinds[kind[0]] = (outputs, kind[1])


def _forget(key: tuple, ref: weakref.ref) -> None:
    """A part of func is gone: its entry goes (unless another func took its key since)."""
    entry = _PASSED.get(key)
    if entry is not None and any(r is ref for r in entry[0]):
        del _PASSED[key]
