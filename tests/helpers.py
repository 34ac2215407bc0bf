"""Comparisons shared by the test modules."""

from __future__ import annotations

import contextlib

import numpy as np

#: backends whose results must equal numpy.gradient's to the bit; JAX is left
#: out because XLA rewrites a division by a constant as a multiplication by its
#: reciprocal (measured: 1 ulp apart)
BITWISE = {"numpy", "numpy_readonly", "array_api_strict", "dask", "torch"}


def assert_gradient_equal(xp, result, expected) -> None:
    """``result`` (xpdiff on backend ``xp``) equals numpy.gradient's ``expected``.

    Checks the container (array or tuple), then namespace, device, dtype and
    shape of every array, then the values: to the bit on the BITWISE
    backends, to a few units in the last place on JAX.
    """
    if isinstance(expected, tuple):
        assert isinstance(result, tuple), type(result)
        assert len(result) == len(expected)
        pairs = list(zip(result, expected, strict=True))
    else:
        assert not isinstance(result, tuple), "expected one array, got a tuple"
        pairs = [(result, expected)]
    for res, exp in pairs:
        values = xp.check(res, dtype=exp.dtype, shape=exp.shape)
        if xp.name in BITWISE:
            np.testing.assert_array_equal(values, exp, strict=True)
        else:
            eps = np.finfo(exp.dtype).eps
            scale = np.max(np.abs(exp), initial=0.0)
            np.testing.assert_allclose(values, exp, rtol=8 * eps, atol=8 * eps * scale)


class CountingFunc:
    """Wraps a vectorized function and records the shape of every batch it gets."""

    def __init__(self, func):
        self.func = func
        self.shapes = []

    def __call__(self, x, *args, **kwargs):
        self.shapes.append(tuple(x.shape))
        return self.func(x, *args, **kwargs)

    @property
    def calls(self):
        return len(self.shapes)


@contextlib.contextmanager
def dask_must_not_compute():
    """Inside, any dask computation fails the test: proof that results stay lazy."""
    import dask

    def refuse(*args, **kwargs):
        raise AssertionError("a dask array was computed")

    with dask.config.set(scheduler=refuse):
        yield
