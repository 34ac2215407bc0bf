"""The test backends: every test that takes ``backend`` runs once per array library.

``backend`` is a :class:`BackendHarness`: ``backend.xp`` is the library's
namespace, ``backend.asarray`` makes an input on that backend (on a non-default
device for array-api-strict, read-only for the read-only NumPy backend), and
``backend.check`` asserts that a result has the backend's namespace, device,
dtype and shape before comparing values.

A backend whose library is missing is skipped, except where
``XPDIFF_REQUIRE_BACKENDS=1`` (CI sets it): there a missing library fails.
The skip summary says which ``pip install`` brings each group of skipped
tests back.

Test ids name the backend (``test_x[torch]``). The fixture is module-scoped:
pytest groups a file's tests by backend within the file, so each file prints
one progress line (a session-scoped one groups the whole run by backend: six
unlabelled lines per file), and Hypothesis accepts it (it refuses
function-scoped fixtures). The harnesses are made once per backend and kept.

Hypothesis tests run the count of examples they ask for on NumPy, and a
fraction of it on the slower backends (:data:`EXAMPLES_FRACTION`): the same
strategies through a slower dispatch (JAX compiles every new shape and dtype).
``XPDIFF_FULL_EXAMPLES=1`` runs the full count everywhere.
"""

from __future__ import annotations

import enum
import importlib
import importlib.util
import math
import os
import re
from collections.abc import Generator

import array_api_compat
import numpy as np
import pytest

# Imported before collection: with --import-mode=importlib, a doctest module of
# src/xpdiff collected before the package is imported becomes a second copy of
# that module (xpdiff.errors with classes that are not the ones raised).
import xpdiff  # noqa: F401

REQUIRE_BACKENDS = os.environ.get("XPDIFF_REQUIRE_BACKENDS", "") == "1"
FULL_EXAMPLES = os.environ.get("XPDIFF_FULL_EXAMPLES", "") == "1"


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


@pytest.fixture(params=list(Backend), ids=[b.value for b in Backend], scope="module")
def backend(request) -> BackendHarness:
    """Every installed array backend, as a :class:`BackendHarness`."""
    return _harness(request.param)


#: Hypothesis examples per backend, as a fraction of the count a test asks for
EXAMPLES_FRACTION = {
    Backend.NUMPY: 1.0,
    Backend.NUMPY_READONLY: 1.0,
    Backend.ARRAY_API_STRICT: 0.5,
    Backend.TORCH: 0.5,
    Backend.DASK: 0.5,
    Backend.JAX: 0.25,
}


def _examples_for(backend: Backend, asked: int) -> int:
    if FULL_EXAMPLES:
        return asked
    return min(asked, max(5, math.ceil(asked * EXAMPLES_FRACTION[backend])))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A Hypothesis test taking ``backend`` runs :func:`_examples_for` examples on its backend."""
    test = getattr(item, "obj", None)
    test = getattr(test, "__func__", test)  # a method's function holds the settings
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("backend") if callspec is not None else None
    # @given keeps its settings on the test and reads them when the test is called
    settings = getattr(test, "_hypothesis_internal_use_settings", None)
    if not isinstance(backend, Backend) or settings is None:
        return (yield)
    examples = _examples_for(backend, settings.max_examples)
    if examples == settings.max_examples:
        return (yield)
    import hypothesis

    test._hypothesis_internal_use_settings = hypothesis.settings(settings, max_examples=examples)
    try:
        return (yield)
    finally:
        test._hypothesis_internal_use_settings = settings


#: what brings a missing module back, by its top-level name
INSTALL = {
    "torch": "pip install torch==2.13.0",
    "jax": "pip install jax",
    "cyipopt": "pip install cyipopt-wheels",
    "cupy": "pip install cupy-cuda13x",
    "numdifftools": "pip install numdifftools",
    **{
        module: 'pip install -e ".[test]"'
        for module in (
            "array_api_strict", "dask", "distributed", "scipy", "sympy", "findiff", "hypothesis"
        )
    },
}  # fmt: skip
TORCH_NOTE = (
    "on Linux x86-64 the package index's torch is the CUDA build, with gigabytes of CUDA "
    "wheels; PyTorch's CPU wheel index has the CPU build"
)
_MISSING = [
    re.compile(r"backend (\w+) is not installed"),
    re.compile(r"could not import '([\w.]+)'"),
    re.compile(r"needs ([\w.]+)$"),
    re.compile(r"^([\w.]+) is not installed"),
]


def install_hint(reason: str) -> str | None:
    """The ``pip install`` that brings back a test skipped for ``reason``, if one does."""
    for pattern in _MISSING:
        found = pattern.search(reason)
        if found:
            module = found.group(1).split(".")[0]
            if module == "numpy_readonly":
                return None
            return INSTALL.get(module, f"pip install {module.replace('_', '-')}")
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Skips summarised by reason, a line each, with the ``pip install`` that brings them back.

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
        reason = longrepr[2] if isinstance(longrepr, (tuple, list)) else str(longrepr)
        reason = reason.removeprefix("Skipped: ").split("\n")[0]
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.section("skipped, by reason", sep="-")
    width = max(len(reason) for reason in reasons)
    commands: dict[str, int] = {}
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        hint = install_hint(reason)
        if hint is None:
            terminalreporter.write_line(f"{count:5d}  {reason}")
            continue
        terminalreporter.write_line(f"{count:5d}  {reason:<{width}}  <- {hint}")
        commands[hint] = commands.get(hint, 0) + count
    total = sum(reasons.values())
    ran = sum(len(terminalreporter.stats.get(k, [])) for k in ("passed", "failed", "error"))
    terminalreporter.write_line(
        f"{total} of {total + ran} tests skipped ({100 * total / max(1, total + ran):.0f}%)"
        + (f"; {sum(commands.values())} come back with:" if commands else ".")
    )
    for command, count in sorted(commands.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{count:5d}  {command}")
    if any("torch" in command for command in commands):
        terminalreporter.write_line(f"       ({TORCH_NOTE})")


#: doctests of src/xpdiff whose examples need an optional library, by the name pytest gives
DOCTEST_NEEDS = {"xpdiff.interop.as_jax": "jax", "xpdiff.interop.as_torch": "torch"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A doctest whose example needs a missing optional library is skipped (CI: fails)."""
    for item in items:
        module = DOCTEST_NEEDS.get(item.name)
        if module is None or REQUIRE_BACKENDS or importlib.util.find_spec(module) is not None:
            continue  # where CI requires the backends, the doctest fails without them
        item.add_marker(pytest.mark.skip(reason=f"{item.name} needs {module}"))


@pytest.fixture(autouse=True)
def _forget_checked_funcs() -> None:
    """Every test starts with no func remembered as checked for mixing points
    (``passes.remember``): a module-level func that another test called once would
    otherwise skip the check, and the counts of calls and points would depend on the
    order the tests run in."""
    from xpdiff._function import passes

    passes._PASSED.clear()
