"""Comparisons shared by the test modules."""

from __future__ import annotations

import contextlib
import tracemalloc

import array_api_compat
import numpy as np

#: backends whose results must equal numpy.gradient's to the bit; JAX is left
#: out because XLA rewrites a division by a constant as a multiplication by its
#: reciprocal (measured: 1 ulp apart)
BITWISE = {"numpy", "numpy_readonly", "array_api_strict", "dask", "torch"}


def traced_peak(fn):
    """``fn()`` and the peak of the memory tracemalloc traced meanwhile, in bytes."""
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def assert_gradient_equal(backend, result, expected) -> None:
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
        values = backend.check(res, dtype=exp.dtype, shape=exp.shape)
        if backend.name in BITWISE:
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


class CountingNamespace:
    """An array namespace that counts the array operations made through it.

    It wraps a real namespace (array-api-strict in the tests): every call of
    one of its functions, and every operator, index or method of the arrays
    it returns (:class:`CountingArray`), adds one to :attr:`count`; dtype and
    shape queries (``finfo``, ``isdtype``, ``.shape``, ``.dtype``) do not.
    xpdiff resolves it from the arrays as it resolves any library, so a
    derivative of :meth:`asarray` data runs through it, and ``count`` is the
    number of array operations xpdiff itself performed. The function being
    differentiated gets :meth:`plain` arrays so that its own operations are
    not counted.
    """

    __name__ = "counting"
    NOT_OPERATIONS = frozenset({"finfo", "iinfo", "isdtype", "result_type", "can_cast"})

    def __init__(self, backend):
        self._xp = backend
        self.count = 0

    def __getattr__(self, name):
        attr = getattr(self._xp, name)
        if not callable(attr) or isinstance(attr, type) or name in self.NOT_OPERATIONS:
            return attr

        def counted(*args, **kwargs):
            self.count += 1
            return self.wrap(attr(*self.plain(args), **self.plain(kwargs)))

        return counted

    def wrap(self, value):
        if isinstance(value, (list, tuple)):
            return type(value)(self.wrap(v) for v in value)
        if hasattr(value, "__array_namespace__") and not isinstance(value, CountingArray):
            return CountingArray(self, value)
        return value

    def plain(self, value):
        if isinstance(value, CountingArray):
            return value._array
        if isinstance(value, dict):
            return {k: self.plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.plain(v) for v in value)
        return value

    def function(self, func):
        """``func`` on plain arrays, its result wrapped: the user's operations are not counted."""

        def plain_func(x, *args, **kwargs):
            return self.wrap(func(self.plain(x), *args, **kwargs))

        return plain_func


class CountingArray:
    """An array of :class:`CountingNamespace`: counts operators, indexing and methods."""

    def __init__(self, namespace, array):
        self._namespace = namespace
        self._array = array

    def __array_namespace__(self, api_version=None):
        return self._namespace

    shape = property(lambda self: self._array.shape)
    dtype = property(lambda self: self._array.dtype)
    ndim = property(lambda self: self._array.ndim)
    size = property(lambda self: self._array.size)
    device = property(lambda self: self._array.device)

    def __getattr__(self, name):
        attr = getattr(self._array, name)
        if not callable(attr):
            return attr
        return self._counted(attr)

    def _counted(self, operation):
        namespace = self._namespace

        def counted(*args, **kwargs):
            namespace.count += 1
            return namespace.wrap(operation(*namespace.plain(args), **namespace.plain(kwargs)))

        return counted

    def __bool__(self):
        raise AssertionError("xpdiff asked for the value of an array (a host sync)")

    def __float__(self):
        raise AssertionError("xpdiff asked for the value of an array (a host sync)")


def _operator(name):
    def method(self, *args):
        return self._counted(getattr(self._array, name))(*args)

    method.__name__ = name
    return method


_OPERATORS = (
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __pow__ "
    "__rpow__ __matmul__ __rmatmul__ __neg__ __pos__ __abs__ __lt__ __le__ __gt__ __ge__ "
    "__eq__ __ne__ __and__ __or__ __invert__ __getitem__ __setitem__ __floordiv__ __mod__"
)
for _name in _OPERATORS.split():
    setattr(CountingArray, _name, _operator(_name))


def strict_functions(xps):
    """numDeriv's sc2 and a three-output function, written with ``xps`` alone.

    What the operation counts (tests/test_engine.py, benchmarks/operation_counts.py)
    differentiate: array-api-strict through a counting namespace.
    """

    def sc2(x):
        n = x.shape[0]
        w = xps.reshape(xps.arange(1, n + 1, dtype=x.dtype), (n,) + (1,) * (x.ndim - 1))
        return xps.sum(w * (xps.exp(x) - x), axis=0) / n

    def vector(x):
        return xps.stack([xps.sum(x * x, axis=0), x[0, ...] * x[1, ...], xps.sin(x[-1, ...])])

    return sc2, vector


def picklable_sc2(x):
    """numDeriv's sc2 at module level, so that worker processes can import it."""
    n = x.shape[0]
    weights = np.arange(1, n + 1, dtype=np.float64).reshape((n,) + (1,) * (x.ndim - 1))
    return np.sum(weights * (np.exp(x) - x), axis=0) / n


def require(module: str):
    """``module`` imported; missing, a skip, or a failure under XPDIFF_REQUIRE_BACKENDS=1.

    For components CI installs beyond the test extra (cyipopt, from the
    cyipopt-wheels wheel that bundles Ipopt): a CI run cannot pass by
    skipping them.
    """
    import importlib
    import os

    import pytest

    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("XPDIFF_REQUIRE_BACKENDS", "") == "1":
            pytest.fail(f"XPDIFF_REQUIRE_BACKENDS=1 but {module} cannot be imported")
        # at a module's top too (tests/test_torch_gradient.py): the whole file skipped
        pytest.skip(f"{module} is not installed", allow_module_level=True)


def on_gpu(cp, result, x, dtype, shape) -> np.ndarray:
    """gpu_tests: ``result`` a CuPy array on x's device, in x's namespace, of ``dtype`` and
    ``shape``; its values on the host."""
    assert isinstance(result, cp.ndarray), type(result)
    assert result.device == x.device
    assert array_api_compat.array_namespace(result) is array_api_compat.array_namespace(x)
    assert result.dtype == dtype
    assert result.shape == shape
    return cp.asnumpy(result)


def quick_points(rng, n):
    """n coordinates in [-3, 3) for the quick paths' tests; from n = 4 on the first four
    are 0, -0.0, one below numDeriv's zero_tol and a large one."""
    x = rng.uniform(-3, 3, n)
    if n > 3:
        x[:4] = [0.0, -0.0, 1e-9, 300.0]
    return x


def assert_same_bits(a, b) -> None:
    """Two NumPy float64 results equal to the bit: shape, values, NaN and signed zeros."""
    assert type(a) is np.ndarray
    assert type(b) is np.ndarray
    assert a.dtype == b.dtype == np.float64
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b, strict=True)
    assert np.array_equal(np.signbit(a), np.signbit(b))
