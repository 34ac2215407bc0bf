"""The argument checks that every public function shares: one bad value, one error.

A bad type is a TypeError, a bad value a ValueError, and each message names
the argument, what was given and what is allowed. Host-side, no array
library: array mode, function mode and what builds on them call these.
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
from typing import Any

import numpy as np

__all__ = [
    "check_bool",
    "check_integer",
    "check_max_batch",
    "check_positive_real",
    "check_real",
    "func_arguments",
    "given",
    "known_shape",
    "method_name",
    "sides",
]


def check_bool(name: str, value: object) -> bool:
    """``value`` if it is True or False (NumPy's bools too), else a TypeError."""
    if value is True or value is False:
        return value
    if not isinstance(value, np.bool_):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def func_arguments(args: object, kwargs: object) -> tuple[tuple, dict]:
    """func's extra arguments: ``args`` as a tuple (an object that is not a tuple: a
    tuple of it) and ``kwargs`` as a dict (None: empty; anything else a TypeError)."""
    if kwargs is None:
        kwargs = {}
    elif not isinstance(kwargs, dict):
        raise TypeError(f"kwargs must be a dict or None, got {type(kwargs).__name__}")
    if type(args) is not tuple:
        args = tuple(args) if isinstance(args, tuple) else (args,)
    return args, kwargs


def known_shape(name: str, shape: Any) -> tuple[int, ...]:
    """``shape`` as a tuple of ints; a size that is not known (a Dask array after boolean
    indexing has NaN there) is a ValueError saying how to know it."""
    shape = tuple(shape)
    if all(type(size) is int for size in shape):
        return shape
    if any(size is None or (isinstance(size, float) and math.isnan(size)) for size in shape):
        raise ValueError(
            f"{name} has sizes that are not known, shape {shape} (a Dask array after boolean "
            f"indexing); call {name}.compute_chunk_sizes() first, or give an array whose "
            f"shape is known"
        )
    return tuple(operator.index(size) for size in shape)


def check_max_batch(max_batch: object) -> int | None:
    """``max_batch``: None, or an integer >= 1."""
    if max_batch is None:
        return None
    if isinstance(max_batch, (bool, np.bool_)) or not isinstance(max_batch, numbers.Integral):
        raise TypeError(
            f"max_batch must be an integer >= 1 or None, got "
            f"{type(max_batch).__name__} {max_batch!r}"
        )
    if max_batch < 1:
        raise ValueError(f"max_batch must be an integer >= 1 or None, got {given(max_batch)}")
    return int(max_batch)


def given(value: object) -> str:
    """``repr(value)`` as an error message shows what was given; an integer of more than
    100 bits (about 30 digits) by its size (``-10**400``: "a negative integer of 401
    digits"), whose repr would fill the message (or, beyond 4300 digits, raise)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        size = abs(operator.index(value))
        if size.bit_length() > 100:
            digits = math.floor(math.log10(size)) + 1  # a float's log: off by one at most
            digits += (size >= 10**digits) - (size < 10 ** (digits - 1))
            sign = "a negative" if operator.index(value) < 0 else "an"
            return f"{sign} integer of {digits} digits"
    return repr(value)


def check_real(name: str, value: object) -> float:
    """A real number (not a bool): TypeError for anything else; NaN and inf pass."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {given(value)}")
    try:
        return float(value)
    except OverflowError:  # an int beyond float64 (10**400): infinite, as float64 sees it
        return math.inf if value > 0 else -math.inf  # type: ignore[operator]


def check_positive_real(name: str, value: object, *, at_least: float | None = None) -> float:
    """A finite real number > 0 (or ``>= at_least``): TypeError or ValueError."""
    number = check_real(name, value)
    if at_least is not None:
        if not (math.isfinite(number) and number >= at_least):
            raise ValueError(f"{name} must be a finite number >= {at_least:g}, got {given(value)}")
    elif not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {given(value)}")
    return number


def check_integer(
    name: str, value: object, low: int, high: int | None = None, *, whole_floats: bool = True
) -> int:
    """An integer (or a whole float) from ``low`` to ``high``: TypeError or ValueError."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or (not whole_floats and not isinstance(value, numbers.Integral))
    ):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if isinstance(value, numbers.Integral):
        number = operator.index(value)
    elif float(value).is_integer():
        number = int(float(value))
    else:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if number < low or (high is not None and number > high):
        allowed = f">= {low}" if high is None else f"from {low} to {high}"
        raise ValueError(f"{name} must be an integer {allowed}, got {given(value)}")
    return number


def method_name(
    method: object, methods: tuple[str, ...], function: str, known: tuple[str, ...] = ()
) -> str:
    """numDeriv's name for ``method`` (case-insensitive) among ``methods``, or an error.

    A method among ``known`` that ``function`` does not have gets numDeriv's
    "method not implemented." followed by the methods that are.
    """
    if type(method) is str and method in methods:
        return method  # numDeriv's spelling: the common case
    if isinstance(method, str):
        lowered = method.lower()
        for name in methods:
            if lowered == name.lower():
                return name
    allowed = ", ".join(repr(m) for m in methods)
    if isinstance(method, str):
        if any(method.lower() == name.lower() for name in known):
            raise ValueError(
                f"method not implemented. {function}'s method must be one of {allowed} "
                f"(case-insensitive), got {method!r}"
            )
        raise ValueError(f"method must be one of {allowed} (case-insensitive), got {method!r}")
    raise TypeError(
        f"method must be a string, one of {allowed}, got {type(method).__name__} {method!r}"
    )


@functools.lru_cache(maxsize=64)
def _two_sided(n: int) -> tuple[float, ...]:
    return (math.nan,) * n


def sides(side: object, n: int) -> tuple[float, ...]:
    """numDeriv's side: None, or one of NaN/None, +1, -1 per coordinate (n of them)."""
    if side is None:
        return _two_sided(n)
    values = np.asarray(side, dtype=object).ravel() if not np.isscalar(side) else [side]
    if len(values) != n:
        raise ValueError(
            "Non-NULL argument 'side' should have the same length as x "
            f"(got {len(values)} value{'s' * (len(values) != 1)} for {n} coordinates)"
        )
    parsed = []
    for value in values:
        if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
            parsed.append(math.nan)
        elif (
            isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_))
            and abs(value) == 1
        ):
            parsed.append(float(value))
        else:
            raise ValueError(
                f"Non-NULL argument 'side' should have values NA, +1, or -1. Got {value!r}."
            )
    return tuple(parsed)


def shown_limit(value: float, *, up: bool, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits as an error message names a limit,
    rounded ``up`` (a smallest allowed value) or down (a largest): the number shown,
    given back, is allowed (1.884864e-6 shown as 1.88e-06 was refused again)."""
    text = f"{value:.{digits}g}"
    if not (math.isfinite(value) and value > 0):
        return text
    quantum = 10.0 ** (math.floor(math.log10(value)) - (digits - 1))
    count = round(value / quantum)
    while (float(text) < value) if up else (float(text) > value):
        count += 1 if up else -1
        text = f"{count * quantum:.{digits}g}"
    return text
