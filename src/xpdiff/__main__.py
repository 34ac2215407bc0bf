"""``python -m xpdiff``: the backends found here, then a demo on the best of them.

The demo runs numpy.gradient's documentation examples through
``xpdiff.gradient`` on the best backend found (CuPy on a usable GPU, else
PyTorch on a usable GPU, else NumPy), prints inputs and results, and checks
each result against numpy.gradient. This module, unlike the library itself,
imports the optional array libraries: it is their probe.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import xpdiff


@dataclass
class Found:
    """One array library as found on this machine."""

    name: str
    status: str
    usable: bool = False
    make: Callable[[Any], Any] | None = None  # NumPy array -> this backend's array
    to_host: Callable[[Any], np.ndarray] = field(default=np.asarray)


def _version(module) -> str:
    return getattr(module, "__version__", "?")


def _probe_numpy() -> Found:
    return Found("NumPy", f"{np.__version__}", usable=True, make=np.asarray)


def _probe_cupy() -> Found:
    try:
        cupy = importlib.import_module("cupy")
    except ImportError:
        return Found("CuPy", "not installed (pip install 'xpdiff[cuda13]' or 'xpdiff[cuda12]')")
    except Exception as exc:  # a broken CUDA install can fail in many ways
        return Found("CuPy", f"installed but cannot be imported: {exc}")
    try:
        if not cupy.is_available():
            count = cupy.cuda.runtime.getDeviceCount()
            return Found("CuPy", f"{_version(cupy)}, not usable: {count} CUDA devices")
        props = cupy.cuda.runtime.getDeviceProperties(0)
        gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        runtime = cupy.cuda.runtime.runtimeGetVersion()
    except Exception as exc:
        return Found("CuPy", f"{_version(cupy)}, not usable: {exc}")
    return Found(
        "CuPy",
        f"{_version(cupy)} on {gpu} (CUDA runtime {runtime // 1000}.{runtime % 1000 // 10})",
        usable=True,
        make=cupy.asarray,
        to_host=cupy.asnumpy,
    )


def _probe_torch() -> Found:
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return Found("PyTorch", "not installed")
    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0)
        return Found(
            "PyTorch",
            f"{_version(torch)} on {gpu}",
            usable=True,
            make=lambda a: torch.asarray(a, device="cuda"),
            to_host=lambda t: t.cpu().numpy(),
        )
    return Found(
        "PyTorch",
        f"{_version(torch)} (CPU)",
        usable=False,  # usable, but NumPy is the better CPU demo
        make=torch.asarray,
        to_host=lambda t: t.cpu().numpy(),
    )


def _probe(module_name: str, label: str, extra: Callable[[Any], str] | None = None) -> Found:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return Found(label, "not installed")
    except Exception as exc:
        return Found(label, f"installed but cannot be imported: {exc}")
    status = _version(module)
    if extra is not None:
        try:
            status += extra(module)
        except Exception as exc:
            status += f" (devices unknown: {exc})"
    return Found(label, status)


def find_backends() -> list[Found]:
    """Probe every array library xpdiff is tested with."""
    return [
        _probe_numpy(),
        _probe_cupy(),
        _probe_torch(),
        _probe("jax", "JAX", lambda jax: f" on {', '.join(map(str, jax.devices()))}"),
        _probe("dask", "Dask"),
        _probe("array_api_strict", "array-api-strict"),
    ]


def _examples():
    """numpy.gradient's documentation examples: (description, f, varargs, kwargs)."""
    f = np.array([1, 2, 4, 7, 11, 16])
    x = np.arange(f.size)
    xu = np.array([0.0, 1.0, 1.5, 3.5, 4.0, 6.0])
    f2 = np.array([[1, 2, 6], [3, 4, 5]])
    sq = np.array([0, 1, 2, 3, 4]) ** 2
    return [
        ("gradient(f)", f, (), {}),
        ("gradient(f, 2)", f, (2,), {}),
        ("gradient(f, x), x = arange(6)", f, (x,), {}),
        ("gradient(f, x), x = [0, 1, 1.5, 3.5, 4, 6]", f, (xu,), {}),
        ("gradient(f2)", f2, (), {}),
        ("gradient(f2, 2., [1., 1.5, 3.5])", f2, (2.0, [1.0, 1.5, 3.5]), {}),
        ("gradient(x**2, edge_order=1)", sq, (), {"edge_order": 1}),
        ("gradient(x**2, edge_order=2)", sq, (), {"edge_order": 2}),
        ("gradient(f2, axis=0)", f2, (), {"axis": 0}),
    ]


def _line(label: str, a: np.ndarray) -> str:
    head = f"    {label:<6} = "
    return head + np.array2string(np.asarray(a), separator=", ", prefix=head)


def main(argv: list[str] | None = None) -> int:
    print(f"xpdiff {xpdiff.__version__} (Python {sys.version.split()[0]})")
    print()
    print("Backends found:")
    found = find_backends()
    width = max(len(b.name) for b in found)
    for b in found:
        print(f"  {b.name:<{width}}  {b.status}")

    best = next((b for b in found if b.usable and b.name != "NumPy"), found[0])
    print()
    print(f"numpy.gradient's documentation examples on {best.name}:")
    failures = 0
    for title, f, varargs, kwargs in _examples():
        start = time.perf_counter()
        assert best.make is not None  # every usable backend has one
        result = xpdiff.gradient(best.make(f), *varargs, **kwargs)
        results = result if isinstance(result, tuple) else (result,)
        host = [best.to_host(r) for r in results]
        elapsed = time.perf_counter() - start
        expected = np.gradient(f, *varargs, **kwargs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        same = all(
            np.array_equal(h, e) and h.dtype == e.dtype
            for h, e in zip(host, expected, strict=True)
        )
        failures += not same
        print()
        print(f"  {title}")
        print(_line("f", f))
        for i, h in enumerate(host):
            print(_line("out" if len(host) == 1 else f"out[{i}]", h))
        verdict = "equals numpy.gradient" if same else "DIFFERS from numpy.gradient"
        print(
            f"    {type(results[0]).__module__}.{type(results[0]).__name__}, "
            f"{results[0].dtype}, {verdict} ({elapsed * 1e3:.1f} ms)"
        )
    print()
    if failures:
        print(f"{failures} example(s) differ from numpy.gradient")
        return 1
    print("All examples equal numpy.gradient.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
