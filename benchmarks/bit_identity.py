"""Before/after bit-identity of the public functions on NumPy, over a sample of calls.

Run it once with the old code first on the path and once with the new:

    PYTHONPATH=/path/to/old/src python benchmarks/bit_identity.py --save old.npz
    python benchmarks/bit_identity.py --compare old.npz

``--save`` writes every result of the sample (values, error estimates, and
the raised exception's class for calls that fail); ``--compare`` recomputes
them and prints, per function, how many results are bit-identical (NaNs in
the same places), how many differ, and the first few that differ. Only the
public API is called, positionally, in forms both versions accept.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import xpdiff as xd

Call = tuple[str, Callable[[], Any]]


def _gradient_calls() -> Iterator[Call]:
    rng = np.random.default_rng(0)
    for shape, dtype in itertools.product(
        [(7,), (12,), (6, 9), (4, 5, 6)], ["float64", "float32", "float16", "complex128", "int64"]
    ):
        f = (rng.standard_normal(shape) * 10).astype(dtype)
        coords = [np.cumsum(rng.uniform(0.5, 1.5, s)) for s in shape]
        for edge_order in (1, 2):
            yield (
                f"gradient {shape} {dtype} e{edge_order}",
                lambda f=f, e=edge_order: xd.gradient(f, edge_order=e),
            )
            yield (
                f"gradient {shape} {dtype} scalar e{edge_order}",
                lambda f=f, e=edge_order: xd.gradient(f, *[0.3] * f.ndim, edge_order=e),
            )
            yield (
                f"gradient {shape} {dtype} coords e{edge_order}",
                lambda f=f, c=coords, e=(edge_order): xd.gradient(f, *c, edge_order=e),
            )
        if dtype in ("float64", "float32"):
            for n, accuracy, periodic in itertools.product((1, 2, 3), (2, 4, 6), (False, True)):
                if shape[-1] < n + accuracy + 1:
                    continue
                label = f"gradient {shape} {dtype} n{n} a{accuracy} p{periodic}"
                yield (
                    label,
                    lambda f=f, n=n, a=accuracy, p=periodic: xd.gradient(
                        f, axis=-1, n=n, accuracy=a, periodic=p
                    ),
                )
                if not periodic:
                    yield (
                        f"gradient {shape} {dtype} coords n{n} a{accuracy}",
                        lambda f=f, c=(coords[-1]), n=n, a=accuracy: xd.gradient(
                            f, c, axis=-1, n=n, accuracy=a
                        ),
                    )
    yield "fd_weights", lambda: xd.fd_weights([-1.0, 0.0, 0.5, 2.0], 2, 0.25)


def _sc2(x: Any) -> Any:
    return np.sum(np.exp(x) - x, axis=0) / 2 + np.sin(x[0]) * x[-1]


def _vec(x: Any) -> Any:
    return np.stack([np.sin(x[0]) * x[1], x[0] ** 3, np.cos(x).sum(axis=0)])


def _function_calls() -> Iterator[Call]:
    points = {
        "point": np.array([0.5, 1.5, -2.0]),
        "zero": np.array([0.0, 1e-9, 3.0]),
        "batch": np.arange(12.0).reshape(3, 4) / 7 - 0.5,
        "f32": np.array([0.5, 1.5, -2.0], dtype=np.float32),
    }
    grad_settings: list[tuple[str, Any, Any]] = [
        ("Richardson", None, None),
        ("Richardson", None, {"r": 6, "v": 3}),
        ("Richardson", [1, -1, np.nan], None),
        ("simple", None, None),
        ("simple", [1, -1, 1], None),
        ("complex", None, None),
        ("adaptive", None, None),
    ]
    for (pname, x), (method, side, args) in itertools.product(points.items(), grad_settings):
        label = f"{pname} {method} side={side} args={args}"
        yield (
            f"grad {label}",
            lambda x=x, m=method, s=side, a=args: xd.grad(_sc2, x, m, s, a, full_output=True),
        )
        yield (
            f"jacobian {label}",
            lambda x=x, m=method, s=side, a=args: xd.jacobian(_vec, x, m, s, a, full_output=True),
        )
        yield (
            f"grad max_batch {label}",
            lambda x=x, m=method, s=side, a=args: xd.grad(_sc2, x, m, s, a, max_batch=3),
        )
    for (pname, x), method in itertools.product(points.items(), ["Richardson", "complex"]):
        yield (
            f"hessian {pname} {method}",
            lambda x=x, m=method: xd.hessian(_sc2, x, m, full_output=True),
        )
    for pname, x in points.items():
        yield (
            f"hessian {pname} adaptive",
            lambda x=x: xd.hessian(_sc2, x, "adaptive", full_output=True),
        )
        yield f"genD {pname}", lambda x=x: xd.genD(_vec, x, full_output=True)
        yield f"grad elementwise {pname}", lambda x=x: xd.grad(np.sin, x)
        yield (
            f"grad vectorized=False {pname}",
            lambda x=x: xd.grad(
                lambda p: float(np.sum(p**2)), x[:, 0] if x.ndim > 1 else x, vectorized=False
            ),
        )


def _flatten(value: Any) -> list[np.ndarray]:
    """The arrays of a result: values, error estimates, genD's D (old or new result types)."""
    if hasattr(value, "D"):
        return [np.asarray(value.D)]
    if isinstance(value, tuple | list):
        return [a for item in value for a in _flatten(item)]
    if hasattr(value, "error") and hasattr(value, "nfev"):
        return [np.asarray(value.error)]
    if hasattr(value, "value") and hasattr(value, "error"):
        return [*_flatten(value.value), np.asarray(value.error)]
    return [np.asarray(value)]


def _results() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, call in itertools.chain(_gradient_calls(), _function_calls()):
        try:
            with np.errstate(all="ignore"):
                value = call()
            if not isinstance(value, np.ndarray | tuple) and hasattr(value, "value"):
                value = tuple(value)  # a new result object: (value, info)
            for k, array in enumerate(_flatten(value)):
                out[f"{name} #{k}"] = array
        except Exception as exc:  # the class of a refusal must not change either
            out[f"{name} raises"] = np.array(type(exc).__name__)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", metavar="NPZ")
    group.add_argument("--compare", metavar="NPZ")
    options = parser.parse_args(argv)
    results = _results()
    if options.save:
        np.savez(options.save, **{k.replace("/", "|"): v for k, v in results.items()})
        print(f"saved {len(results)} results from {xd.__file__}")
        return 0
    with np.load(options.compare) as old_file:
        old = {k.replace("|", "/"): old_file[k] for k in old_file.files}
    same, differ = 0, []
    for key in sorted(set(old) | set(results)):
        a, b = old.get(key), results.get(key)
        if a is not None and b is not None and a.shape == b.shape and a.dtype == b.dtype:
            equal = np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
            if equal:
                same += 1
                continue
        differ.append(key)
    print(f"{same} of {len(set(old) | set(results))} results bit-identical; {len(differ)} differ")
    for key in differ[:20]:
        print("  differs:", key)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
