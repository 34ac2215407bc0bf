"""xpdiff.gradient on Dask arrays against dask.array.gradient, side by side.

Run: ``python benchmarks/bench_dask_gradient.py [--repeat N] [--quick] [--no-cluster]``

Part 1: an 8192 x 8192 float64 array in 1024 x 1024 chunks, persisted, the
gradient along both axes: the number of tasks in the result's graph (input
chunks included) and the best-of-N time to compute it, for
dask.array.gradient and xpdiff.gradient (default, and ``accuracy=4``), on
Dask's threaded scheduler and on a ``dask.distributed.LocalCluster`` of 2
worker processes. Values are checked equal to the bit first.

Part 2: a 3-D array larger than the memory one worker may use (4 GiB of
float64 in 128 MiB chunks, built lazily from sines), its gradient along
all three axes on a LocalCluster of 2 workers with a memory limit each,
reduced to the largest error against the exact derivative. Prints the
time, the error, the peak memory of the workers and whether any worker was
restarted.

``--quick`` uses arrays 16 times smaller (a smoke run, not for numbers).
"""

from __future__ import annotations

import argparse
import time

import dask
import dask.array as da
import numpy as np

import xpdiff as xd


def graph_size(result) -> int:
    keys = set()
    for r in result:
        keys |= set(dict(r.__dask_graph__()))
    return len(keys)


def best_compute(make, repeat: int, client=None) -> float:
    """Best time of building and computing the lazy result of ``make()``."""
    times = []
    for _ in range(repeat + 1):  # the first run warms up (imports, worker caches)
        start = time.perf_counter()
        result = make()
        if client is None:
            dask.compute(*result)
        else:
            client.gather(client.compute(list(result)))
        times.append(time.perf_counter() - start)
    return min(times[1:])


def part1(side: int, chunk: int, repeat: int, client=None) -> None:
    where = "LocalCluster, 2 workers x 1 thread" if client else "threaded scheduler, 2 threads"
    x = da.random.default_rng(0).random((side, side), chunks=chunk)
    x = client.persist(x) if client else x.persist()
    if client:
        from distributed import wait

        wait(x)
    cases = [
        ("dask.array.gradient", lambda: da.gradient(x)),
        ("xpdiff.gradient", lambda: xd.gradient(x)),
        ("xpdiff.gradient, accuracy=4", lambda: xd.gradient(x, accuracy=4)),
    ]
    if client is None:  # values to the bit (on the threaded scheduler, once)
        expected = dask.compute(*da.gradient(x))
        got = dask.compute(*xd.gradient(x))
        for g, e in zip(got, expected, strict=True):
            assert np.array_equal(g, e)
    print(f"\n{side}x{side} float64 in {chunk}x{chunk} chunks, both axes ({where}):")
    print(f"  {'':30s} {'tasks':>7s} {'time':>9s} {'vs dask':>8s}")
    reference = None
    times = {}
    for name, make in cases:
        seconds = best_compute(make, repeat, client)
        times[name] = seconds
        reference = reference or seconds
        print(f"  {name:30s} {graph_size(make()):7d} {seconds:8.3f}s {seconds / reference:8.2f}")
    ratio = times["xpdiff.gradient, accuracy=4"] / times["xpdiff.gradient"]
    print(f"  accuracy=4 / default: {ratio:.2f}")


def part2(shape, chunks, memory_limit: str) -> None:
    from distributed import Client, LocalCluster
    from distributed.diagnostics import MemorySampler

    nbytes = np.prod(shape) * 8
    print(
        f"\n3-D {shape} float64 ({nbytes / 2**30:.1f} GiB) in {chunks} chunks "
        f"({np.prod(chunks) * 8 / 2**20:.0f} MiB), all three axes, accuracy=4, on a "
        f"LocalCluster of 2 workers x 1 thread, memory_limit={memory_limit} each:"
    )
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, memory_limit=memory_limit, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        workers = set(client.scheduler_info()["workers"])
        a, b, c = (2 * np.pi / s * 3 for s in shape)
        i, j, k = (
            da.arange(s, chunks=ch, dtype=np.float64) for s, ch in zip(shape, chunks, strict=True)
        )
        f = (
            da.sin(a * i)[:, None, None]
            * da.cos(b * j)[None, :, None]
            * da.sin(c * k)[None, None, :]
        )
        grads = xd.gradient(f, accuracy=4, periodic=False)
        exact = [
            a
            * da.cos(a * i)[:, None, None]
            * da.cos(b * j)[None, :, None]
            * da.sin(c * k)[None, None, :],
            -b
            * da.sin(a * i)[:, None, None]
            * da.sin(b * j)[None, :, None]
            * da.sin(c * k)[None, None, :],
            c
            * da.sin(a * i)[:, None, None]
            * da.cos(b * j)[None, :, None]
            * da.cos(c * k)[None, None, :],
        ]
        errors = [da.max(da.abs(g - e)) for g, e in zip(grads, exact, strict=True)]
        sampler = MemorySampler()
        start = time.perf_counter()
        with sampler.sample("gradient", measure="process", interval=0.25):
            values = client.gather(client.compute(errors))
        seconds = time.perf_counter() - start
        peak = max(v for _, v in sampler.samples["gradient"])
        restarted = set(client.scheduler_info()["workers"]) != workers
    print(f"  time {seconds:.1f} s; largest error per axis {[f'{v:.1e}' for v in values]}")
    print(
        f"  peak memory of the 2 worker processes together {peak / 2**30:.2f} GiB "
        f"(the array alone is {nbytes / 2**30:.1f} GiB, its three gradients "
        f"{3 * nbytes / 2**30:.1f} GiB); a worker restarted: {restarted}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-cluster", action="store_true")
    args = parser.parse_args()
    side, chunk = (2048, 256) if args.quick else (8192, 1024)
    with dask.config.set(scheduler="threads", num_workers=2):
        part1(side, chunk, args.repeat)
    if args.no_cluster:
        return
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        part1(side, chunk, args.repeat, client)
    if args.quick:
        part2((256, 256, 128), (64, 64, 64), "1GiB")
    else:
        part2((1024, 1024, 512), (256, 256, 256), "3GiB")


if __name__ == "__main__":
    main()
