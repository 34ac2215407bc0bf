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
``--sweep [--plot docs/_static/bench_gradient.png]`` times 1-D gradients of
1e2 to 1e7 elements instead, per element, and draws them.
"""

from __future__ import annotations

import argparse
import importlib.util
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


def sweep(repeat: int, plot) -> None:
    """1-D float64 gradients by size, unit spacing and coordinates: time per element."""
    have_torch = importlib.util.find_spec("torch") is not None
    rng = np.random.default_rng(0)
    sizes = [10**k for k in range(2, 8)]
    panels: dict = {}
    print("1-D float64 gradient by size: ns per element (best of N)")
    for coords in (False, True):
        where = "coordinates, edge_order=2" if coords else "unit spacing"
        names = ["numpy.gradient", "xpdiff.gradient (NumPy)"]
        if have_torch:
            import torch

            names += ["torch.gradient", "xpdiff.gradient (torch)"]
        rows = {name: [] for name in names}
        for size in sizes:
            x = np.cumsum(rng.uniform(0.5, 1.5, size))
            f = np.sin(x / 1000)
            args, kwargs = ((x,), {"edge_order": 2}) if coords else ((), {})
            calls = {
                "numpy.gradient": partial(np.gradient, f, *args, **kwargs),
                "xpdiff.gradient (NumPy)": partial(xd.gradient, f, *args, **kwargs),
            }
            if have_torch:
                ft, xt = torch.asarray(f), torch.asarray(x)
                spacing = {"spacing": (xt,)} if coords else {}
                calls["torch.gradient"] = partial(torch.gradient, ft, **spacing, **kwargs)
                calls["xpdiff.gradient (torch)"] = partial(
                    xd.gradient, ft, *((xt,) if coords else ()), **kwargs
                )
            for name, call in calls.items():
                t, _ = best(call, repeat)
                rows[name].append(t / size * 1e9)
        print(f"  {where}")
        print(f"  {'size':>9}  " + "".join(f"{name:>26s}" for name in names))
        for i, size in enumerate(sizes):
            print(f"  {size:9.0e}  " + "".join(f"{rows[name][i]:26.2f}" for name in names))
        panels[where] = {name: (sizes, rows[name]) for name in names}
    if plot:
        line_plot(
            plot,
            panels,
            title="1-D float64 gradient by size (CPU, one thread)",
            xlabel="elements",
            ylabel="ns per element (best of N)",
            note="python benchmarks/bench_gradient.py --sweep --plot ...",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sweep", action="store_true", help="1-D sizes 1e2 .. 1e7, by size")
    parser.add_argument("--plot", help="with --sweep: write the figure to this PNG")
    args = parser.parse_args()
    have_torch = importlib.util.find_spec("torch") is not None
    if have_torch:
        import torch

        torch.set_num_threads(1)
    if args.sweep:
        sweep(args.repeat, args.plot)
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
