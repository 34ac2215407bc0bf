"""xpdiff.gradient against numpy.gradient (and torch.gradient), side by side.

Run: ``python benchmarks/bench_gradient.py [--repeat N] [--quick]``

Part 1, numpy.gradient's arguments: for each case the best-of-N wall time of
numpy.gradient and of xpdiff.gradient on the same NumPy array, their ratio
(xpdiff / numpy; below 1 is faster), and each one's peak of traced memory
beyond the input (tracemalloc), next to the size of the outputs. Results are
checked equal to the bit before timing. Where PyTorch is installed,
torch.gradient and xpdiff.gradient on the same CPU tensor (one thread).

Part 2, beyond numpy.gradient: accuracy 4 (uniform, periodic, non-uniform)
against xpdiff's default gradient on the same array.

``--quick`` uses arrays 16 times smaller (for a smoke run, not for numbers).
``--targets`` prints issue 20's ratios by size instead (xpdiff against
numpy.gradient, torch.gradient and a findiff operator built once), each next
to its limit, and at 1e7 elements the floor of any gradient (a new output and
one subtraction) against numpy.gradient.
``--sweep [--largest 1e8] [--plot docs/_static/bench_gradient.png]`` times
1-D gradients of 10 to 1e8 elements, per element, for xpdiff (NumPy and
torch), numpy.gradient, torch.gradient, findiff and jax.jit(jnp.gradient),
and draws them.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import tracemalloc
from functools import partial

import numpy as np
from plotting import line_plot
from timing import best

import xpdiff as xd


def cases(scale: int):
    rng = np.random.default_rng(0)
    n1 = 10_000_000 // scale
    x1 = np.cumsum(rng.uniform(0.5, 1.5, n1))
    f1 = np.sin(x1 / 1000)
    side = 4096 // int(np.sqrt(scale))
    f2 = rng.random((side, side))
    x2 = np.cumsum(rng.uniform(0.5, 1.5, side))
    cube = 256 // round(scale ** (1 / 3))
    f3 = rng.random((cube, cube, cube)).astype(np.float32)
    return [
        (f"1-D {n1:.0e}, unit spacing", f1, (), {}),
        (f"1-D {n1:.0e}, coords, edge_order=2", f1, (x1,), {"edge_order": 2}),
        (f"2-D {side}^2, both axes", f2, (), {}),
        (f"2-D {side}^2, coords axis 0, edge 2", f2, (x2,), {"axis": 0, "edge_order": 2}),
        (f"3-D {cube}^3 float32, all axes", f3, (0.5,), {}),
    ], (f1, x1, f2, x2)


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def _outputs_bytes(result) -> int:
    return sum(r.nbytes for r in (result if isinstance(result, tuple) else (result,)))


def _interleaved(ours, reference, repeat: int) -> float:
    """Best time of ``ours`` over best time of ``reference``, timed in turns.

    The two alternate run by run, so that a shared machine's changing load
    falls on both alike; each run lasts about 2 ms (many calls of a fast one), short
    enough that the best of many runs is one that no other process interrupted.
    """
    numbers = []
    for fn in (ours, reference):
        start = time.perf_counter()
        fn()
        numbers.append(max(1, int(0.002 / max(time.perf_counter() - start, 1e-7))))
    times: list[list[float]] = [[], []]
    for _ in range(repeat):
        for k, fn in enumerate((ours, reference)):
            start = time.perf_counter()
            for _ in range(numbers[k]):
                fn()
            times[k].append((time.perf_counter() - start) / numbers[k])
    return min(times[0]) / min(times[1])


def _ratio_row(label: str, sizes, ours, reference, limit, repeat: int) -> None:
    cells = []
    for size in sizes:
        r = _interleaved(partial(ours, size), partial(reference, size), repeat)
        cells.append(f"{r:6.2f}{'' if r <= limit(size) else '*'}")
    print(f"  {label:<40}" + "".join(f"{c:>9}" for c in cells), flush=True)


def targets(repeat: int) -> None:
    """Issue 20's targets, each ratio next to its limit (a * marks one above it)."""
    rng = np.random.default_rng(0)
    sizes = [10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000]
    small = lambda size: 1.2 if size <= 100 else (0.5 if size >= 10**7 else 1.0)  # noqa: E731
    data = {size: np.sin(np.cumsum(rng.uniform(0.5, 1.5, size)) / 1000) for size in sizes}
    coords = {size: np.cumsum(rng.uniform(0.5, 1.5, size)) for size in sizes}

    print("xpdiff.gradient / numpy.gradient on NumPy float64 (limit 1.2 to 100 elements,")
    print("1.0 from 1e3, 0.5 from 1e7 for unit and scalar spacing; * above the limit)")
    print(f"  {'elements':<40}" + "".join(f"{s:>9.0e}" for s in sizes))
    for label, args, kwargs in (
        ("1-D, unit spacing", (), {}),
        ("1-D, spacing 0.1", (0.1,), {}),
    ):
        _ratio_row(
            label,
            sizes,
            lambda n, a=args, k=kwargs: xd.gradient(data[n], *a, **k),
            lambda n, a=args, k=kwargs: np.gradient(data[n], *a, **k),
            small,
            repeat,
        )
    floor = data[sizes[-1]]

    def new_output_and_one_subtraction():
        out = np.empty_like(floor)  # fresh pages, as every gradient's output
        np.subtract(floor[2:], floor[:-2], out=out[1:-1])

    r = _interleaved(new_output_and_one_subtraction, partial(np.gradient, floor), repeat)
    print(f"  {'floor: a new output + one subtraction':<40}" + " " * 54 + f"{r:9.2f}")
    coord_sizes = sizes[:-1]
    _ratio_row(
        "1-D, coordinates, edge_order=2",
        coord_sizes,
        lambda n: xd.gradient(data[n], coords[n], edge_order=2),
        lambda n: np.gradient(data[n], coords[n], edge_order=2),
        lambda n: 1.2 if n <= 100 else 1.0,
        repeat,
    )
    square = rng.random((64, 64))
    r = _interleaved(partial(xd.gradient, square), partial(np.gradient, square), repeat)
    print(f"  {'64x64, both axes (4096 elements)':<40}{r:9.2f}   (limit 1.0)")
    if importlib.util.find_spec("torch") is not None:
        import torch

        tensors = {size: torch.asarray(data[size]) for size in sizes[:5]}
        print("xpdiff.gradient / torch.gradient on CPU tensors, one thread (limit 1.5 to 100")
        print("elements, 1.0 from 1e3)")
        print(f"  {'elements':<40}" + "".join(f"{s:>9.0e}" for s in sizes[:5]))
        _ratio_row(
            "1-D, unit spacing",
            sizes[:5],
            lambda n: xd.gradient(tensors[n]),
            lambda n: torch.gradient(tensors[n]),
            lambda n: 1.5 if n <= 100 else 1.0,
            repeat,
        )
    if importlib.util.find_spec("findiff") is not None:
        _against_findiff(rng, repeat)


def _against_findiff(rng, repeat: int) -> None:
    import findiff

    print("xpdiff.gradient / a findiff operator built once, non-uniform grid (limit 1.0)")
    print(f"  {'points':<40}{1e3:>9.0e}{1e5:>9.0e}")
    for n in (1, 2):
        cells = []
        for size in (1_000, 100_000):
            x = np.cumsum(rng.uniform(0.5, 1.5, size))
            f = np.sin(x / 10)
            operator = findiff.Diff(0, x, acc=4) ** n
            expected = operator(f)
            got = xd.gradient(f, x, n=n, accuracy=4)
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
            r = _interleaved(
                partial(xd.gradient, f, x, n=n, accuracy=4), partial(operator, f), repeat
            )
            cells.append(f"{r:6.2f}{'' if r <= 1.0 else '*'}")
        print(f"  {f'accuracy=4, n={n}':<40}" + "".join(f"{c:>9}" for c in cells))


def sweep(repeat: int, plot, largest: int) -> None:
    """1-D float64 gradients by size, 10 to ``largest`` elements: time per element."""
    rng = np.random.default_rng(0)
    sizes = [10**k for k in range(1, round(np.log10(largest)) + 1)]
    rows: dict = {}
    calls = _sweep_calls()
    print("1-D float64 gradient, unit spacing, by size: ns per element (best of N; one thread)")
    print(f"  {'size':>9}  " + "".join(f"{name:>24s}" for name in calls))
    for size in sizes:
        f = np.sin(np.cumsum(rng.uniform(0.5, 1.5, size)) / 1000)
        line = f"  {size:9.0e}  "
        for name, make in calls.items():
            call = make(f)
            t, _ = best(call, repeat if size < 10**6 else 3, min_seconds=0.002)
            rows.setdefault(name, []).append(t / size * 1e9)
            line += f"{t / size * 1e9:24.2f}"
            del call
        print(line, flush=True)
    if plot:
        line_plot(
            plot,
            {"1-D float64, unit spacing": {name: (sizes, rows[name]) for name in calls}},
            title="1-D gradient by size (CPU, one thread; shared 2-core machine)",
            xlabel="elements",
            ylabel="ns per element (best of N)",
            note="python benchmarks/bench_gradient.py --sweep --plot ...",
        )


def _sweep_calls() -> dict:
    """name -> (f -> a call of no arguments), for each library installed."""
    calls = {
        "numpy.gradient": lambda f: partial(np.gradient, f),
        "xpdiff.gradient (NumPy)": lambda f: partial(xd.gradient, f),
    }
    if importlib.util.find_spec("torch") is not None:
        import torch

        calls["torch.gradient"] = lambda f: partial(torch.gradient, torch.asarray(f))
        calls["xpdiff.gradient (torch)"] = lambda f: partial(xd.gradient, torch.asarray(f))
    if importlib.util.find_spec("findiff") is not None:
        import findiff

        def findiff_call(f):
            operator = findiff.Diff(0, 1.0, acc=2)  # built once, outside the timing
            return partial(operator, f)

        calls["findiff (built once)"] = findiff_call
    if importlib.util.find_spec("jax") is not None:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        jitted = jax.jit(jnp.gradient)

        def jax_call(f):
            data = jnp.asarray(f)
            return lambda: jitted(data).block_until_ready()

        calls["jax.jit(jnp.gradient)"] = jax_call
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sweep", action="store_true", help="1-D sizes 10 .. --largest")
    parser.add_argument("--largest", type=float, default=1e8, help="with --sweep")
    parser.add_argument("--plot", help="with --sweep: write the figure to this PNG")
    parser.add_argument("--targets", action="store_true", help="issue 20's ratios, by size")
    args = parser.parse_args()
    have_torch = importlib.util.find_spec("torch") is not None
    if have_torch:
        import torch

        torch.set_num_threads(1)
    if args.sweep:
        sweep(args.repeat, args.plot, int(args.largest))
        return
    if args.targets:
        targets(args.repeat)
        return
    table, (f1, x1, f2, x2) = cases(16 if args.quick else 1)

    header = (
        f"{'case':<38} {'numpy ms':>9} {'xpdiff ms':>10} {'ratio':>6} "
        f"{'out MB':>7} {'np peak':>8} {'xd peak':>8}"
    )
    if have_torch:
        header += f" {'torch ms':>9} {'xd/torch ms':>12} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for title, f, varargs, kwargs in table:
        expected = np.gradient(f, *varargs, **kwargs)
        got = xd.gradient(f, *varargs, **kwargs)
        for e, g in zip(
            expected if isinstance(expected, tuple) else [expected],
            got if isinstance(got, tuple) else [got],
            strict=True,
        ):
            np.testing.assert_array_equal(g, e)
        t_np, _ = best(partial(np.gradient, f, *varargs, **kwargs), args.repeat)
        t_xd, _ = best(partial(xd.gradient, f, *varargs, **kwargs), args.repeat)
        mb = 2**20
        out = _outputs_bytes(got) / mb
        np_peak = peak_bytes(partial(np.gradient, f, *varargs, **kwargs)) / mb
        xd_peak = peak_bytes(partial(xd.gradient, f, *varargs, **kwargs)) / mb
        line = (
            f"{title:<38} {t_np * 1e3:9.2f} {t_xd * 1e3:10.2f} {t_xd / t_np:6.2f} "
            f"{out:7.0f} {np_peak:8.0f} {xd_peak:8.0f}"
        )
        if have_torch:
            ft = torch.asarray(f)
            spacing = [torch.asarray(v) if isinstance(v, np.ndarray) else v for v in varargs]
            dim = kwargs.get("axis")
            torch_kwargs = {"edge_order": kwargs.get("edge_order", 1)}
            if dim is not None:
                torch_kwargs["dim"] = dim
            if spacing:
                scalar = len(spacing) == 1 and isinstance(spacing[0], float)
                torch_kwargs["spacing"] = spacing[0] if scalar else spacing
            t_tg, _ = best(partial(torch.gradient, ft, **torch_kwargs), args.repeat)
            t_xt, _ = best(partial(xd.gradient, ft, *varargs, **kwargs), args.repeat)
            line += f" {t_tg * 1e3:9.2f} {t_xt * 1e3:12.2f} {t_xt / t_tg:6.2f}"
        print(line)

    print()
    print(f"{'beyond numpy.gradient':<44} {'default ms':>10} {'ms':>9} {'x default':>10}")
    print("-" * 76)
    beyond = [
        ("1-D, accuracy=4", f1, (), {"accuracy": 4}),
        ("1-D, accuracy=4, periodic", f1, (), {"accuracy": 4, "periodic": True}),
        ("1-D, coords, accuracy=4", f1, (x1,), {"accuracy": 4}),
        ("2-D both axes, accuracy=4", f2, (), {"accuracy": 4}),
        ("2-D both axes, accuracy=4, periodic", f2, (), {"accuracy": 4, "periodic": True}),
        ("2-D coords axis 0, accuracy=4", f2, (x2,), {"axis": 0, "accuracy": 4}),
    ]
    for title, f, varargs, kwargs in beyond:
        base = {k: v for k, v in kwargs.items() if k == "axis"}
        t_default, _ = best(partial(xd.gradient, f, *varargs, **base), args.repeat)
        t, _ = best(partial(xd.gradient, f, *varargs, **kwargs), args.repeat)
        print(f"{title:<44} {t_default * 1e3:10.2f} {t * 1e3:9.2f} {t / t_default:10.2f}")


if __name__ == "__main__":
    main()
