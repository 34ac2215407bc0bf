"""GPU tests: the CPU suite's guarantees on CuPy arrays.

Every test here needs a usable CUDA GPU. Without one the whole directory is
skipped, unless ``XPDIFF_REQUIRE_GPU=1``: then a missing or unusable CuPy is
a failure, so a GPU job cannot pass by skipping.
"""

from __future__ import annotations

import os

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
