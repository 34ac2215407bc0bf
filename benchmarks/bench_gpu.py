"""GPU benchmark: xd.gradient's fused CUDA kernel and function mode on CuPy, side by side.

One run prints, per case, the device time of xd.gradient on CuPy, of
cupy.gradient, of torch.gradient on CUDA and of ``jax.jit(jnp.gradient)``,
each as a ratio to xpdiff, and xpdiff's share of a device-to-device copy's
bandwidth (the bytes a gradient must move, f once and each output once,
against a copy's read and write). Then accuracy=4, periodic and non-uniform
accuracy=4 against the default gradient, and function mode: host time per
derivative (the Python work before the GPU runs) at n = 10, 100, 1000, and
device time of a derivative against one bare call of func on the same batch
of points at n = 4096 and 16384.

Device times come from CUDA events (CuPy's, torch's); JAX's from wall time
around ``block_until_ready``. Missing libraries are left out of the table
("n/a"). The dry run times NumPy, torch and JAX on the CPU at small sizes: it
checks every case's arguments, not the GPU's speed.

    python benchmarks/bench_gpu.py                 # on a CUDA machine
    python benchmarks/bench_gpu.py --out results/  # also writes results/bench_gpu.md
    python benchmarks/bench_gpu.py --dry-run       # no GPU: small sizes on NumPy, checks
                                                   # every case's arguments and the tables
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import xpdiff as xd


@dataclass
class Device:
    """The array library the benchmark runs on, and how it times device work."""

    xp: Any  # cupy, or numpy for --dry-run
    name: str
    gpu: bool

    def asarray(self, a):
        return self.xp.asarray(a)

    def time(self, fn: Callable[[], Any], repeat: int) -> float:
        """Median device seconds of ``fn`` (CUDA events), after a warm-up call."""
        fn()
        times = []
        for _ in range(repeat):
            if self.gpu:
                start, end = self.xp.cuda.Event(), self.xp.cuda.Event()
                start.record()
                fn()
                end.record()
                end.synchronize()
                times.append(self.xp.cuda.get_elapsed_time(start, end) / 1e3)
            else:
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
        return statistics.median(times)

    def host_time(self, fn: Callable[[], Any], repeat: int) -> float:
        """Median host seconds of ``fn`` without waiting for the device (the launch cost)."""
        fn()
        self.synchronize()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
            self.synchronize()
        return statistics.median(times)

    def synchronize(self):
        if self.gpu:
            self.xp.cuda.Device().synchronize()


def _torch_timer(repeat: int, gpu: bool):
    """torch.gradient, timed with torch's CUDA events (wall time on the CPU for --dry-run).

    None where torch (or, on a GPU run, its CUDA build) is missing.
    """
    try:
        import torch
    except ImportError:
        return None
    if gpu and not torch.cuda.is_available():
        return None

    def timed(fn):
        fn()
        times = []
        for _ in range(repeat):
            if not gpu:
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
                continue
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        return statistics.median(times)

    return torch, "cuda" if gpu else "cpu", timed


def _jax_timer(repeat: int, gpu: bool):
    """jax.jit(jnp.gradient), wall time around block_until_ready; None without JAX (GPU)."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    platform = "gpu" if gpu else "cpu"
    devices = [d for d in jax.devices() if d.platform == platform] if gpu else jax.devices("cpu")
    if not devices:
        return None

    def timed(fn):
        jax.block_until_ready(fn())
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    return jax, jnp, devices[0], timed


def gradient_cases(big: int, cube: int):
    """(name, shape, spacing args maker, kwargs, axes written) of the comparison cases."""
    return [
        (f"{big}x{big}, both axes", (big, big), lambda n: (), {}, 2),
        (
            f"{big}x{big}, axis 0, coordinates",
            (big, big),
            lambda n: (np.cumsum(np.linspace(0.5, 1.5, n)),),
            {"axis": 0},
            1,
        ),
        (f"{cube}^3, all axes", (cube, cube, cube), lambda n: (), {}, 3),
    ]


def option_cases(big: int):
    """(name, spacing args maker, kwargs) compared with the default gradient on big x big."""
    return [
        ("accuracy=4", lambda n: (0.5,), {"accuracy": 4}),
        ("periodic", lambda n: (0.5,), {"periodic": True}),
        (
            "non-uniform accuracy=4",
            lambda n: (np.cumsum(np.linspace(0.5, 1.5, n)),) * 2,
            {"accuracy": 4},
        ),
    ]


def run_gradients(dev: Device, big: int, cube: int, repeat: int, lines: list[str]) -> None:
    xp = dev.xp
    torch_timer = _torch_timer(repeat, dev.gpu)
    jax_timer = _jax_timer(repeat, dev.gpu)
    lines += [
        "## Array mode: device time (ms) and ratios to xpdiff",
        "",
        f"| case | dtype | xpdiff ms | % of copy bandwidth | {dev.name}.gradient | torch.gradient "
        "| jax.jit(jnp.gradient) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, shape, spacing, kwargs, outputs in gradient_cases(big, cube):
        for dtype in ("float32", "float64"):
            host = np.random.default_rng(0).standard_normal(shape).astype(dtype)
            f = dev.asarray(host)
            args = spacing(shape[0])
            ours = dev.time(lambda f=f, a=args, k=kwargs: xd.gradient(f, *a, **k), repeat)
            copy = dev.time(lambda f=f: xp.copy(f), repeat)
            # a gradient moves f once and writes each output once; a copy reads and writes f
            share = (1 + outputs) / 2 * copy / ours
            device_args = tuple(dev.asarray(a) for a in args)
            theirs = dev.time(lambda f=f, a=device_args, k=kwargs: xp.gradient(f, *a, **k), repeat)
            cells = [_ratio(theirs, ours)]
            cells.append(_torch_case(torch_timer, host, args, kwargs, ours))
            cells.append(_jax_case(jax_timer, host, args, kwargs, ours))
            lines.append(
                f"| {name} | {dtype} | {ours * 1e3:.3f} | {100 * share:.0f}% | "
                + " | ".join(cells)
                + " |"
            )
    lines += [
        "",
        "Ratios are the other library's time over xpdiff's (\"slower\": xpdiff is faster).",
        "",
        f"## Array mode: options against the default gradient ({big}x{big}, both axes)",
        "",
        "| option | dtype | ms | x default |",
        "|---|---|---|---|",
    ]
    for dtype in ("float32", "float64"):
        f = dev.asarray(np.random.default_rng(1).standard_normal((big, big)).astype(dtype))
        default = dev.time(lambda f=f: xd.gradient(f, 0.5), repeat)
        for name, spacing, kwargs in option_cases(big):
            args = spacing(big)
            t = dev.time(lambda f=f, a=args, k=kwargs: xd.gradient(f, *a, **k), repeat)
            lines.append(f"| {name} | {dtype} | {t * 1e3:.3f} | {t / default:.2f} |")
    lines.append("")


def _ratio(theirs: float, ours: float) -> str:
    return f"{theirs / ours:.2f}x slower" if theirs > ours else f"{ours / theirs:.2f}x faster"


def _torch_case(timer, host, args, kwargs, ours) -> str:
    if timer is None:
        return "n/a"
    torch, device, timed = timer
    t = torch.as_tensor(host, device=device)
    dims = kwargs.get("axis", tuple(range(host.ndim)))
    dims = dims if isinstance(dims, tuple) else (dims,)
    spacing = [torch.as_tensor(a, device=device, dtype=t.dtype) for a in args] or 1.0
    seconds = timed(lambda: torch.gradient(t, spacing=spacing, dim=dims))
    return _ratio(seconds, ours)


def _jax_case(timer, host, args, kwargs, ours) -> str:
    if timer is None:
        return "n/a"
    jax, jnp, device, timed = timer
    axis = kwargs.get("axis")
    with jax.enable_x64(True):  # float64 as asked, without changing JAX's global setting
        a = jax.device_put(jnp.asarray(host), device)
        device_args = tuple(jax.device_put(jnp.asarray(x), device) for x in args)
        gradient = jax.jit(lambda f, *s: jnp.gradient(f, *s, axis=axis))
        seconds = timed(lambda: gradient(a, *device_args))
    return _ratio(seconds, ours)


def run_function_mode(dev: Device, sizes_host, sizes_device, repeat: int, lines: list[str]):
    xp = dev.xp

    def func(p):
        return xp.sum(xp.sin(p) * p, axis=0)

    lines += [
        "## Function mode: host time per derivative (ms, the device not waited for)",
        "",
        "| n | grad | jacobian | hessian |",
        "|---|---|---|---|",
    ]
    for n in sizes_host:
        x = dev.asarray(np.linspace(0.1, 1.0, n))
        cells = [dev.host_time(lambda x=x: xd.grad(func, x), repeat)]
        cells.append(dev.host_time(lambda x=x: xd.jacobian(lambda p: xp.sin(p) * p, x), repeat))
        small = dev.asarray(np.linspace(0.1, 1.0, min(n, 30)))
        cells.append(dev.host_time(lambda x=small: xd.hessian(func, x), repeat))
        lines.append(f"| {n} | " + " | ".join(f"{c * 1e3:.3f}" for c in cells) + " |")
    lines += [
        "",
        "hessian at min(n, 30).",
        "",
        "## Function mode: device time of grad against one bare call of func on its batch",
        "",
        "| n | batch shape | func ms | grad ms | grad / func |",
        "|---|---|---|---|---|",
    ]
    for n in sizes_device:
        x = dev.asarray(np.linspace(0.1, 1.0, n))
        shapes = []

        def recording(p, shapes=shapes):
            shapes.append(tuple(p.shape))
            return func(p)

        xd.grad(recording, x)
        batch = dev.asarray(np.random.default_rng(2).uniform(0.1, 1.0, max(shapes)))
        bare = dev.time(lambda b=batch: func(b), repeat)
        ours = dev.time(lambda x=x: xd.grad(func, x), repeat)
        lines.append(
            f"| {n} | {max(shapes)} | {bare * 1e3:.3f} | {ours * 1e3:.3f} | {ours / bare:.2f} |"
        )
    lines.append("")


def environment(dev: Device) -> list[str]:
    lines = ["# bench_gpu.py", ""]
    if dev.gpu:
        cp = dev.xp
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        lines.append(
            f"device: {name}; CuPy {cp.__version__}; CUDA runtime "
            f"{cp.cuda.runtime.runtimeGetVersion()}; driver {cp.cuda.runtime.driverGetVersion()}"
        )
    else:
        lines.append("dry run: NumPy on the CPU at small sizes; no figure here is a GPU figure")
    lines += [
        f"xpdiff {xd.__version__}; numpy {np.__version__}; python {sys.version.split()[0]}",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="no GPU: small sizes on NumPy")
    parser.add_argument("--out", type=Path, help="a folder for bench_gpu.md")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per case")
    args = parser.parse_args(argv)
    if args.dry_run:
        dev = Device(np, "numpy", gpu=False)
        big, cube, repeat = 64, 16, args.repeat or 2
        host_sizes, device_sizes = (10, 100), (64,)
    else:
        try:
            import cupy
        except ImportError:
            parser.error("CuPy is not installed: run with --dry-run to check the setup")
        if not cupy.is_available():
            parser.error("no usable CUDA GPU: run with --dry-run to check the setup")
        dev = Device(cupy, "cupy", gpu=True)
        big, cube, repeat = 8192, 512, args.repeat or 10
        host_sizes, device_sizes = (10, 100, 1000), (4096, 16384)
    lines = environment(dev)
    run_gradients(dev, big, cube, repeat, lines)
    run_function_mode(dev, host_sizes, device_sizes, repeat, lines)
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_gpu.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
