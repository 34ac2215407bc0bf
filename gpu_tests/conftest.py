"""GPU tests: the CPU suite's guarantees on CuPy arrays.

Every test here needs a usable CUDA GPU. Without one the whole directory is
skipped, unless ``XPDIFF_REQUIRE_GPU=1``: then a missing or unusable CuPy is
a failure, so a GPU job cannot pass by skipping.
"""

from __future__ import annotations

import contextlib
import os
import warnings

import pytest

REQUIRE_GPU = os.environ.get("XPDIFF_REQUIRE_GPU", "") == "1"


def _gpu_problem() -> str | None:
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install
        return f"CuPy cannot be imported: {exc}"
    try:
        if not cupy.is_available():
            return "cupy.is_available() is False: no usable CUDA GPU"
    except Exception as exc:
        return f"CuPy cannot reach a GPU: {exc}"
    return None


_PROBLEM = _gpu_problem()


def pytest_collection_modifyitems(config, items):
    if _PROBLEM is None or REQUIRE_GPU:
        return
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.skip(reason=_PROBLEM))


@pytest.fixture(scope="session")
def cp():
    """The cupy module, on a usable GPU (a failure if XPDIFF_REQUIRE_GPU=1 and none)."""
    if _PROBLEM is not None:
        pytest.fail(f"XPDIFF_REQUIRE_GPU=1 but {_PROBLEM}")
    import cupy

    return cupy


@contextlib.contextmanager
def no_synchronize():
    """Inside, a device-to-host synchronisation by CuPy is an error.

    ``cupyx.allow_synchronize`` is deprecated in CuPy 14, which warns when it
    is called; the warning is silenced for that call alone (pytest turns
    warnings into errors), so that warnings of xpdiff still fail the test.
    """
    from cupyx import allow_synchronize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        guard = allow_synchronize(False)
        guard.__enter__()
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            guard.__exit__(None, None, None)


@pytest.fixture
def no_sync(cp):
    """:func:`no_synchronize`, for tests (gpu_tests is not an importable package)."""
    return no_synchronize
