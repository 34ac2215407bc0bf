"""xpdiff.gradient against numpy.gradient (and torch.gradient), side by side.

Run: ``python benchmarks/bench_gradient.py [--repeat N]``

For each case the table gives the best-of-N wall time of numpy.gradient, of
xpdiff.gradient on the same NumPy array, and their ratio (xpdiff / numpy;
below 1 is faster); where PyTorch is installed, torch.gradient and
xpdiff.gradient on the same CPU tensor. Results are checked equal before
timing.
"""

from __future__ import annotations

import argparse
import importlib.util
from functools import partial

import numpy as np
from timing import best

import xpdiff as xd


def cases():
    rng = np.random.default_rng(0)
    n1 = 1_000_000
    x1 = np.cumsum(rng.uniform(0.5, 1.5, n1))
    f1 = np.sin(x1 / 1000)
    f2 = rng.random((2000, 2000))
    x2 = np.cumsum(rng.uniform(0.5, 1.5, 2000))
    f3 = rng.random((200, 200, 200)).astype(np.float32)
    return [
        ("1-D 1e6, unit spacing", f1, (), {}),
        ("1-D 1e6, coordinates", f1, (x1,), {}),
        ("1-D 1e6, coordinates, edge 2", f1, (x1,), {"edge_order": 2}),
        ("2-D 2000^2, both axes", f2, (), {}),
        ("2-D 2000^2, coords, axis 1", f2, (x2,), {"axis": 1}),
        ("3-D 200^3 float32, all axes", f3, (0.5,), {}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    have_torch = importlib.util.find_spec("torch") is not None
    if have_torch:
        import torch

        torch.set_num_threads(1)

    header = f"{'case':<32} {'numpy ms':>9} {'xpdiff ms':>10} {'ratio':>6}"
    if have_torch:
        header += f" {'torch ms':>9} {'xpdiff/torch ms':>16} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for title, f, varargs, kwargs in cases():
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
        line = f"{title:<32} {t_np * 1e3:9.2f} {t_xd * 1e3:10.2f} {t_xd / t_np:6.2f}"
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
            line += f" {t_tg * 1e3:9.2f} {t_xt * 1e3:16.2f} {t_xt / t_tg:6.2f}"
        print(line)


if __name__ == "__main__":
    main()
