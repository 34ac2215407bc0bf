"""The test backends: every test that takes ``xp`` runs once per array library.

``xp`` is a :class:`Backend`: its ``asarray`` makes an input on that backend
(on a non-default device for array-api-strict, read-only for the read-only
NumPy backend), and ``check`` asserts that a result has the backend's
namespace, device, dtype and shape before comparing values.

A backend whose library is missing is skipped, except where
``XPDIFF_REQUIRE_BACKENDS=1`` (CI sets it): there a missing library fails.
"""

from __future__ import annotations

import enum
import importlib
import os

import array_api_compat
import numpy as np
import pytest

# Imported before collection: with --import-mode=importlib, a doctest module of
# src/xpdiff collected before the package is imported becomes a second copy of
# that module (xpdiff.errors with classes that are not the ones raised).
import xpdiff  # noqa: F401

REQUIRE_BACKENDS = os.environ.get("XPDIFF_REQUIRE_BACKENDS", "") == "1"


class Backend(enum.Enum):
    NUMPY = "numpy"
    NUMPY_READONLY = "numpy_readonly"
    ARRAY_API_STRICT = "array_api_strict"
    TORCH = "torch"
    JAX = "jax"
    DASK = "dask"

    @property
    def module_name(self) -> str:
        return {
            Backend.NUMPY: "numpy",
            Backend.NUMPY_READONLY: "numpy",
            Backend.ARRAY_API_STRICT: "array_api_strict",
            Backend.TORCH: "torch",
            Backend.JAX: "jax.numpy",
            Backend.DASK: "dask.array",
        }[self]


class BackendHarness:
    """One backend under test: makes inputs on it and checks outputs from it."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self.name = backend.value
        self.module = importlib.import_module(backend.module_name)
        if backend is Backend.JAX:
            import jax

            jax.config.update("jax_enable_x64", True)
        self.device = None
        if backend is Backend.ARRAY_API_STRICT:
            self.device = self.module.Device("device1")
        # the namespace that results must belong to
        self.xp = array_api_compat.array_namespace(self.asarray(np.zeros(1)))

    def __repr__(self) -> str:
        return f"<backend {self.name}>"

    def dtype(self, np_dtype):
        name = np.dtype(np_dtype).name
        if self.backend is Backend.DASK:
            return np.dtype(np_dtype)  # dask uses NumPy dtypes, float16 included
        return getattr(self.xp, name)

    def supports(self, np_dtype) -> bool:
        try:
            self.dtype(np_dtype)
            self.asarray(np.zeros(2, dtype=np_dtype))
        except (TypeError, ValueError, AttributeError):
            return False
        return True

    def asarray(self, a):
        """A copy of the NumPy array ``a`` on this backend, same dtype."""
        a = np.asarray(a)
        b = self.backend
        if b is Backend.NUMPY:
            return a.copy()
        if b is Backend.NUMPY_READONLY:
            out = a.copy()
            out.flags.writeable = False
            return out
        if b is Backend.ARRAY_API_STRICT:
            return self.module.asarray(a, device=self.device)
        if b is Backend.TORCH:
            return self.module.asarray(a.copy())
        if b is Backend.JAX:
            return self.module.asarray(a)
        if b is Backend.DASK:
            chunks = tuple(max(1, (s + 1) // 2) for s in a.shape) if a.ndim else ()
            return self.module.from_array(a, chunks=chunks)
        raise AssertionError(b)

    def to_numpy(self, x) -> np.ndarray:
        b = self.backend
        if b is Backend.DASK:
            return np.asarray(x.compute())
        if b is Backend.TORCH:
            return x.detach().cpu().numpy()
        if b is Backend.ARRAY_API_STRICT:
            return np.asarray(x.to_device(self.module.Device("CPU_DEVICE")))
        return np.asarray(x)

    def check(self, result, *, dtype, shape) -> np.ndarray:
        """Assert namespace, device, dtype and shape; return the values as NumPy."""
        assert array_api_compat.is_array_api_obj(result), type(result)
        assert array_api_compat.array_namespace(result) is self.xp, (
            f"result namespace {array_api_compat.array_namespace(result)} is not {self.xp}"
        )
        if self.device is not None:
            assert array_api_compat.device(result) == self.device
        assert result.dtype == self.dtype(dtype), (result.dtype, dtype)
        assert tuple(result.shape) == tuple(shape), (result.shape, shape)
        return self.to_numpy(result)


_HARNESSES: dict[Backend, BackendHarness] = {}


def _harness(backend: Backend) -> BackendHarness:
    if backend not in _HARNESSES:
        try:
            _HARNESSES[backend] = BackendHarness(backend)
        except ImportError as exc:
            if REQUIRE_BACKENDS:
                pytest.fail(f"backend {backend.value} is required here but missing: {exc}")
            pytest.skip(f"backend {backend.value} is not installed: {exc}")
    return _HARNESSES[backend]


@pytest.fixture(params=list(Backend), ids=[b.value for b in Backend], scope="session")
def xp(request) -> BackendHarness:
    """Every installed array backend, as a :class:`BackendHarness`."""
    return _harness(request.param)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Skips summarised by reason, a line each, rather than a line per test.

    Without torch or JAX a default run skips hundreds of tests for the same
    few reasons; listing each one (``-rs``) would push the result off the
    screen. ``pytest -rs`` still lists them one by one.
    """
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped or any(c in (config.option.reportchars or "") for c in "saA"):
        return
    reasons: dict[str, int] = {}
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ").split("\n")[0]
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.section("skipped, by reason", sep="-")
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{count:5d}  {reason}")
