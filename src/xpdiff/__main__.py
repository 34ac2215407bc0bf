"""``python -m xpdiff``: the backends found here, then array mode and function mode on the best.

The main job lists every array library xpdiff is tested with (its version and
device, or the ``pip install`` that brings it), then, on the best backend found
(CuPy on a usable GPU, else PyTorch or JAX on a GPU, else NumPy) or the one
named by ``--backend``:

- array mode: numpy.gradient's documentation examples through
  ``xpdiff.gradient``, each checked against numpy.gradient (values and dtype);
- function mode: ``xpdiff.grad`` of a vectorized function, all perturbed points
  in one call, against the same function point by point
  (``vectorized=False``), with the calls counted, both checked against the
  exact gradient, and ``xpdiff.hessian`` in one call.

Times are medians over repeated calls after a first, warm-up call (imports,
plan caches and, for JAX, compilation happen there), each ending with the
result copied to the host, so that GPU work is finished. This module, unlike
the library itself, imports the optional array libraries: it is their probe.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import xpdiff

# This module, the probe, imports array libraries by name at run time (the
# library itself imports none): the demo's function, written as a user writes
# one, takes its namespace from array-api-compat.
array_api_compat = importlib.import_module("array_api_compat")

#: the names ``--backend`` takes, in the order they are listed
BACKENDS = ("numpy", "cupy", "torch", "jax", "dask", "array_api_strict")

#: what to run when a library is missing: no registry host named, only package names
INSTALL_HINTS = {
    "cupy": (
        "pip install cupy-cuda13x (CUDA 13) or cupy-cuda12x (CUDA 12), "
        "i.e. pip install 'xpdiff[cuda13]'; needs an NVIDIA GPU and driver"
    ),
    "torch": (
        "pip install torch; an unpinned torch on Linux x86-64 is the CUDA build, with "
        "gigabytes of CUDA wheels: for the CPU build, install it from PyTorch's CPU wheel "
        "index (PyTorch's install page gives the command)"
    ),
    "jax": "pip install jax (CPU); pip install 'jax[cuda12]' for NVIDIA GPUs",
    "dask": "pip install 'dask[array]' (and distributed for clusters: 'xpdiff[distributed]')",
    "array_api_strict": "pip install array-api-strict",
}


@dataclass
class Found:
    """One array library as found on this machine."""

    key: str  # the --backend name
    name: str  # the name shown
    status: str
    available: bool = False  # arrays can be made and computed with here
    gpu: bool = False  # on a GPU: preferred to NumPy
    make: Callable[[np.ndarray], Any] | None = None  # NumPy array -> this backend's array
    to_host: Callable[[Any], np.ndarray] = field(default=np.asarray)
    hint: str = ""  # what to install, where it is missing or unusable


def _version(module: Any) -> str:
    return str(getattr(module, "__version__", "?"))


def _missing(key: str, name: str, exc: BaseException) -> Found:
    status = "not installed" if isinstance(exc, ImportError) else f"cannot be imported: {exc}"
    return Found(key, name, status, hint=INSTALL_HINTS[key])


def _probe_numpy() -> Found:
    return Found("numpy", "NumPy", np.__version__, available=True, make=np.asarray)


def _probe_cupy() -> Found:
    try:
        cupy = importlib.import_module("cupy")
    except Exception as exc:  # a broken CUDA install can fail in many ways
        return _missing("cupy", "CuPy", exc)
    unusable = "CuPy needs an NVIDIA GPU and its driver"
    try:
        if not cupy.is_available():
            count = cupy.cuda.runtime.getDeviceCount()
            return Found("cupy", "CuPy", f"{_version(cupy)}, {count} CUDA devices", hint=unusable)
        gpu = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        gpu = gpu.decode() if isinstance(gpu, bytes) else gpu
        runtime = cupy.cuda.runtime.runtimeGetVersion()
    except Exception as exc:
        return Found("cupy", "CuPy", f"{_version(cupy)}, not usable: {exc}", hint=unusable)
    status = f"{_version(cupy)} on {gpu} (CUDA runtime {runtime // 1000}.{runtime % 1000 // 10})"
    return Found("cupy", "CuPy", status, True, True, cupy.asarray, cupy.asnumpy)


def _probe_torch() -> Found:
    try:
        torch = importlib.import_module("torch")
    except Exception as exc:
        return _missing("torch", "PyTorch", exc)
    gpu = bool(torch.cuda.is_available())
    where = torch.cuda.get_device_name(0) if gpu else "CPU"

    def make(a: np.ndarray) -> Any:
        return torch.asarray(a.copy(), device="cuda" if gpu else "cpu")

    def to_host(t: Any) -> np.ndarray:
        return np.asarray(t.detach().cpu().numpy())

    return Found("torch", "PyTorch", f"{_version(torch)} on {where}", True, gpu, make, to_host)


def _probe_jax() -> Found:
    try:
        jax = importlib.import_module("jax")
        jnp = importlib.import_module("jax.numpy")
        devices = jax.devices()
    except Exception as exc:
        return _missing("jax", "JAX", exc)

    def make(a: np.ndarray) -> Any:
        jax.config.update("jax_enable_x64", True)  # float64 as in NumPy
        return jnp.asarray(a)

    status = f"{_version(jax)} on {', '.join(map(str, devices))}"
    return Found("jax", "JAX", status, True, any(d.platform == "gpu" for d in devices), make)


def _probe_dask() -> Found:
    try:
        dask = importlib.import_module("dask")
        da = importlib.import_module("dask.array")
    except Exception as exc:
        return _missing("dask", "Dask", exc)

    def make(a: np.ndarray) -> Any:
        return da.from_array(a, chunks=tuple(max(1, (s + 1) // 2) for s in a.shape))

    def to_host(x: Any) -> np.ndarray:
        return np.asarray(x.compute())

    return Found("dask", "Dask", f"{_version(dask)} (NumPy chunks)", True, False, make, to_host)


def _probe_strict() -> Found:
    try:
        xps = importlib.import_module("array_api_strict")
    except Exception as exc:
        return _missing("array_api_strict", "array-api-strict", exc)
    return Found("array_api_strict", "array-api-strict", _version(xps), True, False, xps.asarray)


def find_backends() -> list[Found]:
    """Probe every array library xpdiff is tested with, in the order of :data:`BACKENDS`."""
    probes = (_probe_numpy, _probe_cupy, _probe_torch, _probe_jax, _probe_dask, _probe_strict)
    return [probe() for probe in probes]


def best_backend(found: Sequence[Found]) -> Found:
    """The first available backend on a GPU (CuPy, PyTorch, JAX), else NumPy."""
    return next((b for b in found if b.available and b.gpu), found[0])


# --- array mode ------------------------------------------------------------------------


def _examples() -> list[tuple[str, np.ndarray, tuple[Any, ...], dict[str, Any]]]:
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


def _timed(call: Callable[[], Any], repeat: int, budget: float = 2.0) -> tuple:
    """(result, first call's seconds, median seconds of the calls after it, their number).

    ``repeat`` calls after the first, fewer where they would take more than
    ``budget`` seconds (at least one).
    """
    start = time.perf_counter()
    result = call()
    first = time.perf_counter() - start
    times: list[float] = []
    while len(times) < repeat and (not times or sum(times) < budget):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return result, first, statistics.median(times), len(times)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:.1f} ms"


def array_mode(best: Found, repeat: int) -> int:
    """numpy.gradient's examples on ``best``; the number that differ from numpy.gradient."""
    make = best.make
    assert make is not None  # every available backend has one
    print("Array mode: numpy.gradient's documentation examples through xpdiff.gradient")
    print(f"on {best.name}, each checked against numpy.gradient (values and dtype):")
    failures = 0
    firsts = []
    for title, f, varargs, kwargs in _examples():
        data = make(f)

        def call(data: Any = data, varargs: tuple[Any, ...] = varargs, kw: Any = kwargs) -> Any:
            result = xpdiff.gradient(data, *varargs, **kw)
            results = result if isinstance(result, tuple) else (result,)
            return results, [best.to_host(r) for r in results]

        (results, host), first, median, _ = _timed(call, repeat)
        firsts.append(first)
        expected = np.gradient(f, *varargs, **kwargs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        same = all(
            np.array_equal(h, e) and h.dtype == e.dtype
            for h, e in zip(host, expected, strict=True)
        )
        failures += not same
        print(f"\n  {title}\n{_line('f', f)}")
        for i, h in enumerate(host):
            print(_line("out" if len(host) == 1 else f"out[{i}]", h))
        verdict = "equals numpy.gradient" if same else "DIFFERS from numpy.gradient"
        print(
            f"    {type(results[0]).__module__}.{type(results[0]).__name__}, "
            f"{results[0].dtype}, {verdict} ({_ms(median)} a call)"
        )
    print()
    print(
        f"  Times: median of {repeat} calls after a warm-up call, result on the host;\n  the "
        f"warm-up calls took {_ms(min(firsts))} to {_ms(max(firsts))} (imports, plan caches, "
        f"compilation)."
    )
    print(
        f"  {failures} example(s) differ from numpy.gradient"
        if failures
        else "  All examples equal numpy.gradient."
    )
    return failures


# --- function mode ---------------------------------------------------------------------


def rosenbrock(p: Any) -> Any:
    """The Rosenbrock function, vectorized: coordinates on axis 0, points on the rest."""
    xp = array_api_compat.array_namespace(p)  # the library of the points: any of them
    head, tail = p[:-1, ...], p[1:, ...]  # "..." for the points: the standard needs it
    return xp.sum(100.0 * (tail - head**2) ** 2 + (1.0 - head) ** 2, axis=0)


def rosenbrock_gradient(x: np.ndarray) -> np.ndarray:
    """The exact gradient, on the host."""
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    """The exact Hessian (tridiagonal), on the host."""
    diagonal = np.zeros_like(x)
    diagonal[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diagonal[1:] += 200.0
    off = -400.0 * x[:-1]
    return np.diag(diagonal) + np.diag(off, 1) + np.diag(off, -1)


class Counted:
    """func with its calls and points counted."""

    def __init__(self, func: Callable[[Any], Any], *, vectorized: bool) -> None:
        self.func = func
        self.vectorized = vectorized
        self.calls = 0
        self.points = 0

    def __call__(self, p: Any) -> Any:
        self.calls += 1
        self.points += int(np.prod(p.shape[1:])) if self.vectorized else 1
        return self.func(p)


def _relative_error(result: np.ndarray, exact: np.ndarray) -> float:
    return float(np.max(np.abs(result - exact)) / np.max(np.abs(exact)))


def _counted_grad(best: Found, func: Counted, x: Any, repeat: int) -> tuple:
    """xpdiff.grad of ``func`` at ``x`` timed (:func:`_timed`): the result, the first
    call's and the median time, a timed derivative's calls and points, and the points
    the first derivative had beyond those (the check for mixed points)."""
    counts: list[tuple[int, int]] = []

    def derivative() -> np.ndarray:
        result = best.to_host(xpdiff.grad(func, x, vectorized=func.vectorized))
        counts.append((func.calls, func.points))
        return result

    result, first, median, timed = _timed(derivative, repeat)
    calls = (func.calls - counts[0][0]) // timed
    points = (func.points - counts[0][1]) // timed
    return result, first, median, calls, points, counts[0][1] - points


FUNCTION_MODE = """Function mode: xpdiff.grad of a vectorized function of {dim} coordinates on
{name}: every perturbed point in one call, against the same function called
point by point (vectorized=False):

    def rosenbrock(p):  # p: coordinates on axis 0, points on the trailing axes
        xp = array_api_compat.array_namespace(p)
        head, tail = p[:-1, ...], p[1:, ...]
        return xp.sum(100 * (tail - head**2)**2 + (1 - head)**2, axis=0)
"""

#: what the points column says of the check for mixed points: remembered, or not
CHECKED = (
    "a batched call's two last\n  are a copy of x and a sentinel that check func does "
    "not mix the points of a batch\n  (off the host: on every call).",
    "the first batched one's\n  call held {} more, a copy of x and a sentinel that check "
    "func does not mix\n  the points of a batch (a func that passed is not checked again).",
)


def function_mode(best: Found, dim: int, repeat: int) -> int:
    """grad batched against point by point, and hessian, on ``best``; the number of failures."""
    make = best.make
    assert make is not None
    x_host = np.linspace(-1.2, 1.0, dim)
    x = make(x_host)
    print(FUNCTION_MODE.format(dim=dim, name=best.name))
    exact = rosenbrock_gradient(x_host)
    failures = 0
    rows, results, checked = [], [], 0
    for label, vectorized in (("batched", True), ("point by point", False)):
        func = Counted(rosenbrock, vectorized=vectorized)
        result, first, median, calls, points, extra = _counted_grad(best, func, x, repeat)
        checked = max(checked, extra)
        error = _relative_error(result, exact)
        failures += not error < 1e-8
        rows.append((label, calls, points, median, first, error))
        results.append(result)
    width = max(len(r[0]) for r in rows)
    print(f"  {'grad':<{width + 6}} {'calls':>5} {'points':>6} {'time':>10}  first call  error")
    for label, calls, points, median, first, error in rows:
        print(
            f"  grad, {label:<{width}} {calls:5d} {points:6d} {_ms(median):>10}  "
            f"{_ms(first):>10}  {error:.0e}"
        )
    speedup = rows[1][3] / rows[0][3]
    print(
        f"  One batched call is {speedup:.1f} times as fast as {rows[1][1]} calls; the two "
        f"gradients agree to {_relative_error(results[0], results[1]):.0e}."
    )

    func = Counted(rosenbrock, vectorized=True)
    hess, first, median, timed = _timed(lambda: best.to_host(xpdiff.hessian(func, x)), repeat)
    calls, points = func.calls // (timed + 1), func.points // (timed + 1)
    error = _relative_error(hess, rosenbrock_hessian(x_host))
    failures += not error < 1e-6
    print(
        f"  hessian ({dim} x {dim}), batched: {calls} calls, {points} points, {_ms(median)} "
        f"(first call {_ms(first)}), error {error:.0e}"
    )
    print()
    print(
        f"  Times: median of up to {repeat} derivatives (2 s) after a warm-up one, result on "
        f"the host;\n  error: the largest difference from the exact derivative, relative to "
        f"its largest entry;\n  calls, points: what func received in a timed derivative; "
        + CHECKED[checked > 0].format(checked)
    )
    return failures


# --- the job ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m xpdiff",
        description=(
            "List the array libraries xpdiff finds here, then show array mode "
            "(numpy.gradient's examples, checked against numpy.gradient) and function mode "
            "(grad of a vectorized function in one call against the same function point by "
            "point, checked against the exact gradient) on the best backend found."
        ),
        epilog="Exit status: 0 if every result checked out, 1 if one did not, 2 for bad usage.",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", *BACKENDS),
        default="auto",
        help="the library to run the demo on (default: auto, a GPU library if usable, else numpy)",
    )
    parser.add_argument(
        "--mode",
        choices=("all", "array", "function", "none"),
        default="all",
        help="what to show after the backends (default: all; none lists the backends only)",
    )
    parser.add_argument(
        "--dim",
        type=int,
        default=20,
        help="coordinates of the function in function mode (default: 20)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="calls timed after the warm-up call, median shown (default: 5)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the main job with the command-line arguments ``argv``; the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.dim < 2:
        parser.error(f"--dim must be at least 2, got {args.dim}")
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")

    print(f"xpdiff {xpdiff.__version__} (Python {sys.version.split()[0]})")
    print()
    print("Backends found:")
    found = find_backends()
    width = max(len(b.name) for b in found)
    for b in found:
        print(f"  {b.name:<{width}}  {b.status}")
        if b.hint:
            indent = " " * (width + 4)
            print(
                textwrap.fill(
                    f"to use it: {b.hint}",
                    88,
                    initial_indent=indent + "  ",
                    subsequent_indent=indent + "  ",
                )
            )

    if args.backend == "auto":
        best = best_backend(found)
        why = "a GPU library" if best.gpu else "no GPU library is usable here"
        print()
        print(f"Running on {best.name} ({why}; --backend chooses another).")
    else:
        best = next(b for b in found if b.key == args.backend)
        if not best.available:
            print(file=sys.stderr)
            print(
                f"--backend {args.backend}: {best.name} is {best.status}; {best.hint}",
                file=sys.stderr,
            )
            return 2
    failures = 0
    if args.mode in ("all", "array"):
        print()
        failures += array_mode(best, args.repeat)
    if args.mode in ("all", "function"):
        print()
        failures += function_mode(best, args.dim, args.repeat)
    if args.mode != "none":
        print()
        print(f"{failures} check(s) failed." if failures else f"All checks passed on {best.name}.")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
