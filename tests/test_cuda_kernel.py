"""The CUDA gradient kernel, verified on the CPU: it compiles for sm_90, and runs on the host.

``executors.cuda_source`` writes the CuPy executor's kernel from the plans of
a gradient call. Without a GPU, two checks keep its source text honest:

1. ``nvcc -arch=sm_90 -cubin -Xptxas -v`` compiles it, and ptxas reports no
   spills, for a representative set of plans;
2. the same per-element code (a ``__host__ __device__`` function), compiled
   for the host with g++ (no FMA contraction) and driven by a host loop over
   NumPy buffers through ctypes, gives the generic executor's results to the
   bit (and numpy.gradient's where xpdiff keeps its parity), over a
   Hypothesis search of shapes, strides, axes, dtypes, spacings, edge
   orders, n, accuracy and periodic axes.

The plans are the ones ``xd.gradient`` makes: ``executors.apply_axes`` is
wrapped to record them. Compiled libraries are cached per source in a
temporary directory. Without nvcc (or g++) these tests skip, and fail under
``XPDIFF_REQUIRE_NVCC=1`` (CI sets it).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import xpdiff as xd
from xpdiff._array import executors
from xpdiff._array.executors import cuda_source, generic

REQUIRE_NVCC = os.environ.get("XPDIFF_REQUIRE_NVCC", "") == "1"
ROOT = Path(__file__).resolve().parents[1]

#: what the host build adds before the generated text: CUDA's qualifiers as nothing, and
#: libm's fma and fmaf (declared, not included: <cmath> doubles the time of a host build)
HOST_PREFIX = """
extern "C" { double fma(double, double, double); float fmaf(float, float, float); }
#define __host__
#define __device__
#define __global__
"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not on PATH: the CUDA kernel's source cannot be checked"
        if REQUIRE_NVCC:
            pytest.fail(f"XPDIFF_REQUIRE_NVCC=1 but {message}")
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cuda_kernels")


_LIBRARIES: dict[str, ctypes.CDLL] = {}


def host_library(kernels: list[tuple[str, str]], directory: Path) -> ctypes.CDLL:
    """Kernels' sources ``(source, name)`` and their host loops, compiled by g++ into one
    shared library, cached per text for the session.

    The sources share the prelude they all start with: it is compiled once, each
    source's own text follows it (so their names must differ).
    """
    prelude = cuda_source.PRELUDE
    assert all(source.startswith(prelude) for source, _ in kernels)
    text = HOST_PREFIX + prelude
    for source, name in kernels:
        text += source.removeprefix(prelude) + cuda_source.host_driver(source, name)
    key = hashlib.sha256(text.encode()).hexdigest()[:20]
    if key not in _LIBRARIES:
        gxx = _tool("g++")
        path, library = directory / f"k{key}.cpp", directory / f"k{key}.so"
        path.write_text(text)
        command = [gxx, "-std=c++17", "-O0", "-ffp-contract=off", "-fno-fast-math"]
        command += ["-shared", "-fPIC", "-o", str(library), str(path)]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr[-4000:]
        _LIBRARIES[key] = ctypes.CDLL(str(library))
    return _LIBRARIES[key]


class HostRun:
    """The generated kernel of ``jobs`` over ``f``'s own memory (any strides), ready to run."""

    def __init__(self, f: np.ndarray, jobs, out_dtype, name: str = "xpd_gradient"):
        strides = tuple(s // f.dtype.itemsize for s in f.strides)
        self.kernel = cuda_source.gradient_kernel(f.shape, strides, f.dtype, out_dtype, jobs, name)
        self.outs = [np.empty(shape, dtype=out_dtype) for shape in self.kernel.out_shapes]
        self.keep, self.pointers, self.scalars = [f], [], []
        for argument in self.kernel.arguments:
            if argument.kind == "f":
                self.pointers.append(f.ctypes.data)
            elif argument.kind == "out":
                self.pointers.append(self.outs[argument.axis].ctypes.data)
            elif argument.kind == "scalar":
                self.scalars.append(argument.value)
            else:
                weight = np.ascontiguousarray(np.asarray(argument.value))
                self.keep.append(weight)
                self.pointers.append(weight.ctypes.data)

    def __call__(self, library: ctypes.CDLL) -> list[np.ndarray]:
        pointer_array = (ctypes.c_void_p * max(1, len(self.pointers)))(*self.pointers)
        scalar_array = (ctypes.c_double * max(1, len(self.scalars)))(*self.scalars)
        getattr(library, f"{self.kernel.name}_host")(pointer_array, scalar_array)
        return self.outs


def run_on_host(f: np.ndarray, jobs, out_dtype, directory: Path) -> list[np.ndarray]:
    """The generated kernel of ``jobs`` run over ``f``'s own memory (any strides)."""
    run = HostRun(f, jobs, out_dtype)
    return run(host_library([(run.kernel.source, run.kernel.name)], directory))


class Recorder:
    """``executors.apply_axes`` that keeps the arguments of its last call (plans included).

    NumPy's everyday call has a compiled program of its own that makes no plans
    (``executors.compiled_program``); the recorder turns it off so that every
    call goes through the plans that a CuPy array's call would get.
    """

    def __init__(self, monkeypatch):
        self.calls: list = []
        original = executors.apply_axes
        monkeypatch.setattr(executors, "compiled_program", lambda *args: None)

        def recording(executor, backend, f, jobs, out_dtype):
            self.calls.append((f, list(jobs), out_dtype))
            return original(executor, backend, f, jobs, out_dtype)

        monkeypatch.setattr(executors, "apply_axes", recording)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal to the bit, NaNs (whose payloads differ between machines) only where NaNs are."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    real_a, real_b = (
        (a.view(a.real.dtype), b.view(b.real.dtype)) if a.dtype.kind == "c" else (a, b)
    )
    nan_a, nan_b = np.isnan(real_a), np.isnan(real_b)
    unsigned = np.dtype(f"u{real_a.dtype.itemsize}")
    bits_equal = real_a.view(unsigned) == real_b.view(unsigned)
    return bool(np.array_equal(nan_a, nan_b) and np.all(bits_equal | nan_a))


def check_calls(calls, directory, monkeypatch) -> None:
    """Each ``(f, args, kwargs, numpy_parity)`` of ``calls`` through xd.gradient, recorded;
    their host kernels, compiled into one library, equal to the generic executor (and to
    numpy.gradient where ``numpy_parity``), bit for bit.

    The kernels differ from the executor's only in their names, one per call.
    """
    recorder = Recorder(monkeypatch)
    cases = []
    with np.errstate(all="ignore"):
        for k, (f, args, kwargs, numpy_parity) in enumerate(calls):
            recorder.calls.clear()
            expected = xd.gradient(f, *args, **kwargs)
            ((data, jobs, out_dtype),) = recorder.calls
            generic_results = [
                generic.apply(np, data.astype(dtype, copy=False), plan, out_dtype, data)
                for plan, dtype in jobs
            ]
            run = HostRun(data, jobs, out_dtype, name=f"xpd_gradient_{k}")
            wanted = [generic_results, expected]
            wanted += [np.gradient(f, *args, **kwargs)] if numpy_parity else []
            cases.append((run, jobs, wanted))
        library = host_library(
            [(run.kernel.source, run.kernel.name) for run, _, _ in cases], directory
        )
        for run, jobs, wanted in cases:
            kernel_results = run(library)
            for want in wanted:
                want = list(want) if isinstance(want, (tuple, list)) else [want]
                assert len(want) == len(kernel_results)
                for k, (got, w) in enumerate(zip(kernel_results, want, strict=True)):
                    assert same_bits(got, np.asarray(w)), (k, jobs[k][0].axis, got, w)


def check_call(f, args, kwargs, directory, monkeypatch, numpy_parity=False) -> None:
    """xd.gradient(f, ...) recorded; the host kernel equal to the generic executor, bit for bit."""
    check_calls([(f, args, kwargs, numpy_parity)], directory, monkeypatch)


# --- the host run: hand-picked cases, then a Hypothesis search ------------------------------

DTYPES = ["float16", "float32", "float64", "complex64", "complex128"]


def _data(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape) * 3
    values[rng.random(shape) < 0.1] = 0.0  # signed zeros and exact cancellations
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_formulas_on_the_host(dtype, build_dir, monkeypatch):
    _tool("nvcc")
    f = _data((7, 6), dtype, 1)
    x = np.array([0.0, 0.5, 1.75, 2.0, 3.5, 3.75, 5.0])
    calls = [((), {}), ((0.3,), {"edge_order": 2}), ((x, 0.7), {"edge_order": 2})]
    check_calls([(f, *call, True) for call in calls], build_dir, monkeypatch)


@pytest.mark.parametrize("dtype", DTYPES)
def test_high_order_and_periodic_on_the_host(dtype, build_dir, monkeypatch):
    _tool("nvcc")
    f = _data((11, 9), dtype, 2)
    x = np.cumsum(np.linspace(0.5, 1.5, 11))
    closed = np.cumsum(np.linspace(0.5, 1.5, 12))  # a periodic axis: one closing coordinate
    calls = [
        ((0.25,), {"accuracy": 4}),
        ((x, np.float32(0.5)), {"n": 2, "accuracy": 4}),
        ((0.1,), {"n": 3, "accuracy": 2, "periodic": True}),
        ((closed, 0.5), {"accuracy": 4, "periodic": [True, False]}),
    ]
    check_calls([(f, *call, False) for call in calls], build_dir, monkeypatch)


def test_strided_views_on_the_host(build_dir, monkeypatch):
    _tool("nvcc")
    base = _data((11, 18, 7), "float64", 3)
    calls = []
    for view in (base[::2, ::-3, 1:], base.transpose(2, 0, 1), base[:, 3, :]):
        calls.append((view, (0.5,), {}, True))
        calls.append((view, (), {"accuracy": 4, "periodic": True}, False))
    check_calls(calls, build_dir, monkeypatch)


def _spacing(draw, length, dtype_kind, periodic=False):
    kind = draw(st.sampled_from(["scalar", "typed", "uniform coordinates", "coordinates"]))
    if kind == "scalar":
        return draw(st.sampled_from([1.0, 0.1, 0.75, 2.5]))
    if kind == "typed":
        return draw(st.sampled_from([np.float32(0.3), np.float64(0.7), np.float16(0.5)]))
    if kind == "uniform coordinates":
        return np.arange(length) * 0.25
    size = length + 1 if periodic else length  # periodic: the closing coordinate too
    steps = draw(st.lists(st.sampled_from([0.25, 0.5, 0.75, 1.0]), min_size=size, max_size=size))
    coords = np.cumsum(steps)
    return coords.astype(np.float32) if dtype_kind == "f32" else coords


@st.composite
def gradient_calls(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.sampled_from([5, 7, 9, 12])) for _ in range(ndim))
    dtype = draw(st.sampled_from([*DTYPES, "int64"]))
    axes = draw(
        st.one_of(
            st.none(), st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
        )
    )
    count = ndim if axes is None else len(axes)
    chosen = range(ndim) if axes is None else axes
    n = draw(st.sampled_from([1, 1, 2, 3]))
    accuracy = draw(st.sampled_from([None, None, 2, 4, 6]))
    periodic = draw(st.sampled_from([False, True, "mixed"]))
    if periodic == "mixed":
        periodic = [draw(st.booleans()) for _ in range(count)]
    edge_order = None
    if accuracy is None and n == 1:
        edge_order = draw(st.sampled_from([None, 1, 2]))
    spacing_kind = draw(st.sampled_from(["none", "one", "each"]))
    coords_kind = draw(st.sampled_from(["f64", "f32"]))
    if spacing_kind == "none":
        args: tuple = ()
    elif spacing_kind == "one":
        args = (draw(st.sampled_from([0.5, 1.25, np.float64(0.2)])),)
    else:
        wraps = periodic if isinstance(periodic, list) else [periodic] * count
        args = tuple(
            _spacing(draw, shape[a], coords_kind, wrap)
            for a, wrap in zip(chosen, wraps, strict=True)
        )
    layout = draw(st.sampled_from(["c", "f", "reversed", "sliced"]))
    kwargs = {"axis": None if axes is None else tuple(axes), "n": n, "accuracy": accuracy}
    kwargs["periodic"] = periodic
    if edge_order is not None:
        kwargs["edge_order"] = edge_order
    return shape, dtype, layout, args, kwargs, draw(st.integers(0, 2**16))


def _laid_out(values, layout):
    if layout == "f":
        return np.asfortranarray(values)
    if layout == "reversed":
        return np.ascontiguousarray(values[::-1])[::-1]
    if layout == "sliced":
        wide = np.zeros(tuple(2 * s for s in values.shape), dtype=values.dtype)
        wide[tuple(slice(None, None, 2) for _ in values.shape)] = values
        return wide[tuple(slice(None, None, 2) for _ in values.shape)]
    return values


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(call=gradient_calls())
def test_search_host_kernel_is_the_generic_executor(call, build_dir, monkeypatch):
    _tool("nvcc")
    shape, dtype, layout, args, kwargs, seed = call
    values = _data(shape, "float64" if dtype == "int64" else dtype, seed)
    if dtype == "int64":
        values = np.round(values * 10).astype(np.int64)
    f = _laid_out(values, layout)
    try:
        with np.errstate(all="ignore"):
            xd.gradient(f, *args, **kwargs)
    except ValueError:
        assume(False)  # an axis too short for the stencil, as documented
    parity = kwargs["n"] == 1 and kwargs["accuracy"] in (None,) and kwargs["periodic"] in (False,)
    parity = parity and kwargs.get("edge_order") is not None
    numpy_kwargs = {"axis": kwargs["axis"], "edge_order": kwargs.get("edge_order", 1)}
    if parity:
        check_call(f, args, numpy_kwargs, build_dir, monkeypatch, numpy_parity=True)
    else:
        check_call(f, args, kwargs, build_dir, monkeypatch)


def test_float16_rounding_is_numpy_s(build_dir):
    """Every float16 value, the halfway points between them and their neighbours, from
    float64 and from float32, round to float16 as NumPy rounds them (ties to even,
    overflow to infinity, subnormals)."""
    _tool("nvcc")
    bits = np.arange(0, 1 << 16, dtype=np.uint16).view(np.float16)
    values = np.sort(bits[np.isfinite(bits)].astype(np.float64))
    middles = (values[1:] + values[:-1]) / 2  # exact in float64
    probes = np.concatenate(
        [values, middles, np.nextafter(middles, 0), np.nextafter(middles, np.inf), [7e4, 1e-9]]
    )
    for dtype in (np.float64, np.float32):
        f = probes.astype(dtype)
        # rows [0, f] along axis 1: the output's row 0 is f - 0, in f's dtype, cast to float16
        pairs = np.stack([np.zeros_like(f), f], axis=1)
        (got,) = run_on_host(pairs, [(_difference_plan(), dtype)], np.float16, build_dir)
        with np.errstate(over="ignore"):
            want = f.astype(np.float16)
        assert np.array_equal(got[:, 0].view(np.uint16), want.view(np.uint16))


def _difference_plan():
    """Both rows of an axis of 2: ``(f[1] - f[0]) / 1.0``."""
    from xpdiff._array.plans import AxisPlan, Region, Term

    first = Region(0, 1, (Term(None, 1), Term(None, 0)), kind="difference", divisor=1.0)
    second = Region(1, 2, (Term(None, 1), Term(None, 0)), kind="difference", divisor=1.0)
    return AxisPlan(1, 2, (first, second), halo=1, edges=(0, 0))


# --- the device compile: sm_90, no spills -----------------------------------------------------


def representative_kernels(monkeypatch) -> dict[str, cuda_source.Kernel]:
    """The kernels of a representative set of gradient calls (every region kind and dtype)."""
    recorder = Recorder(monkeypatch)
    f32 = _data((64, 48, 40), "float32", 4)
    x = np.cumsum(np.linspace(0.5, 1.5, 64))
    calls = {
        "numpy uniform float32, 3 axes": (f32, (), {}),
        "numpy edge 2, coordinates float64": (
            f32.astype(np.float64),
            (x, 0.5, 0.25),
            {"edge_order": 2},
        ),
        "accuracy 4 float32": (f32, (0.1,), {"accuracy": 4}),
        "accuracy 8 periodic float64": (
            f32.astype(np.float64),
            (0.1,),
            {"accuracy": 8, "periodic": True},
        ),
        "non-uniform accuracy 4": (f32, (x, 0.5, 0.25), {"accuracy": 4}),
        "n 3 float16": (f32.astype(np.float16), (0.5,), {"n": 3, "accuracy": 4}),
        "complex128 typed spacing": (
            f32.astype(np.complex128),
            (np.float64(0.3),),
            {"edge_order": 2},
        ),
        "complex64 periodic n 2": (f32.astype(np.complex64), (0.3,), {"n": 2, "periodic": True}),
    }
    kernels = {}
    for k, (name, (f, args, kwargs)) in enumerate(calls.items()):
        recorder.calls.clear()
        xd.gradient(f, *args, **kwargs)
        ((data, jobs, out_dtype),) = recorder.calls
        strides = tuple(s // data.dtype.itemsize for s in data.strides)
        shape, dtype = data.shape, data.dtype
        kernel = cuda_source.gradient_kernel(shape, strides, dtype, out_dtype, jobs)
        named = cuda_source.gradient_kernel(shape, strides, dtype, out_dtype, jobs, f"xpd_k{k}")
        # the text of the executor's kernel, but for its name
        assert named.source == kernel.source.replace("xpd_gradient", f"xpd_k{k}")
        kernels[name] = named
    return kernels


def test_sources_compile_for_sm_90_without_spills(build_dir, monkeypatch):
    """All the representative kernels in one translation unit (their prelude once), one nvcc."""
    nvcc = _tool("nvcc")
    kernels = representative_kernels(monkeypatch)
    prelude = cuda_source.PRELUDE
    text = prelude + "".join(k.source.removeprefix(prelude) for k in kernels.values())
    source = build_dir / f"device_{hashlib.sha256(text.encode()).hexdigest()[:16]}.cu"
    source.write_text(text)
    command = [nvcc, "-arch=sm_90", "-cubin", "--fmad=false", "-Xptxas", "-v"]
    command += ["-o", str(source.with_suffix(".cubin")), str(source)]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report[-4000:]
    # ptxas reports each entry function: its properties, then its registers
    parts = re.split(r"ptxas info\s*: Compiling entry function '(\w+)'", report)[1:]
    reports = dict(zip(parts[::2], parts[1::2], strict=True))
    for name, kernel in kernels.items():
        assert kernel.name in reports, (name, report)
        spills = re.findall(
            r"(\d+) bytes spill stores, (\d+) bytes spill loads", reports[kernel.name]
        )
        assert spills, (name, reports[kernel.name])
        assert all(s == ("0", "0") for s in spills), (name, reports[kernel.name])
        registers = re.findall(r"Used (\d+) registers", reports[kernel.name])
        assert registers, (name, reports[kernel.name])
        print(f"{name}: {registers[0]} registers, no spills")


def test_index_arithmetic_is_32_bit_where_sizes_allow(monkeypatch):
    plan_f = np.zeros((4, 5))
    recorder = Recorder(monkeypatch)
    xd.gradient(plan_f)
    ((_, jobs, out_dtype),) = recorder.calls
    small = cuda_source.gradient_kernel((4, 5), (5, 1), np.float64, out_dtype, jobs)
    assert small.index_type == "int"
    assert "long long" not in small.source.split("xpd_gradient_element")[1]
    large = cuda_source.gradient_kernel((4, 5), (2**30, 1), np.float64, out_dtype, jobs)
    assert large.index_type == "long long"


def test_the_kernel_refuses_what_it_cannot_compute(monkeypatch):
    recorder = Recorder(monkeypatch)
    xd.gradient(np.zeros((4, 5)))
    ((_, jobs, _),) = recorder.calls
    with pytest.raises(TypeError, match="no int32 arithmetic"):
        cuda_source.gradient_kernel((4, 5), (5, 1), np.int32, np.float64, jobs)
    with pytest.raises(ValueError, match="differ in length"):
        cuda_source.gradient_kernel((4, 5), (5,), np.float64, np.float64, jobs)


def test_the_cupy_executor_is_picked_for_cupy_arrays_only():
    from xpdiff._array.executors import cupy as cupy_executor
    from xpdiff._array.executors import dask as dask_executor

    class CupyLike:  # what executor_for sees of a CuPy array: its library's name
        __module__ = "cupy"

    assert executors.executor_for(np, np.zeros(3)).__name__.endswith(".numpy")
    assert executors.executor_for(np, CupyLike()) is cupy_executor
    da = pytest.importorskip("dask.array")
    assert executors.executor_for(np, da.zeros(3)) is dask_executor
    assert cupy_executor.NVRTC_OPTIONS[0] == "--fmad=false"


# --- the CuPy executor's own code, run on the host through a stand-in for cupy ----------------


class _HostDevice:
    """A device scope that does nothing (CuPy's Device is a context manager)."""

    id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class HostCupy:
    """What the CuPy executor asks of cupy, on NumPy memory: RawModule compiles with g++.

    It checks the options the executor compiles with and the types of the
    arguments it passes (arrays as pointers, Python-float weights as float64),
    and runs the kernel's element function over every index on the host.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.compiles = 0
        self.launches: list = []
        outer = self

        class RawModule:
            def __init__(self, code: str, options: tuple):
                assert "--fmad=false" in options
                self.code = code
                outer.compiles += 1

            def get_function(self, name):
                library = host_library([(self.code, name)], outer.directory)

                def launch(grid, block, args):
                    outer.launches.append((grid, block))
                    pointers = [a.ctypes.data for a in args if isinstance(a, np.ndarray)]
                    scalars = [float(a) for a in args if not isinstance(a, np.ndarray)]
                    assert all(
                        type(a) is np.float64 for a in args if not isinstance(a, np.ndarray)
                    )
                    assert all(a.flags.c_contiguous for a in args[1:] if isinstance(a, np.ndarray))
                    pointer_array = (ctypes.c_void_p * len(pointers))(*pointers)
                    scalar_array = (ctypes.c_double * max(1, len(scalars)))(*scalars)
                    getattr(library, f"{name}_host")(pointer_array, scalar_array)

                return launch

        self.RawModule = RawModule

    @staticmethod
    def empty(shape, dtype):
        return np.empty(shape, dtype=dtype)

    @staticmethod
    def ascontiguousarray(x):
        return np.ascontiguousarray(x)


@pytest.fixture
def host_cupy(build_dir, monkeypatch):
    """The CuPy executor picked for NumPy data, running its kernels on the host."""
    from xpdiff import _backend
    from xpdiff._array.executors import cupy as cupy_executor

    _tool("nvcc")
    stand_in = HostCupy(build_dir)
    monkeypatch.setattr(_backend, "cupy_module", lambda: stand_in)
    original = executors.executor_for

    def executor_for(backend, f):  # Dask keeps its executor, which runs the chunks' one
        return original(backend, f) if _backend.library_name(f) == "dask" else cupy_executor

    monkeypatch.setattr(executors, "executor_for", executor_for)
    monkeypatch.setattr(executors, "compiled_program", lambda *args: None)  # plans, as CuPy
    cupy_executor.compiled.cache_clear()
    yield stand_in
    cupy_executor.compiled.cache_clear()


@pytest.mark.parametrize(
    ("shape", "args", "kwargs"),
    [
        ((30, 20), (), {}),
        ((30, 20), (0.5, np.linspace(0, 1, 20) ** 2), {"edge_order": 2}),
        ((12, 10, 9), (0.1,), {"accuracy": 4}),
        ((12, 10, 9), (), {"n": 2, "accuracy": 6, "periodic": True, "axis": (0, 2)}),
        ((40,), (np.cumsum(np.linspace(0.5, 1, 40)),), {"accuracy": 4}),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64"])
def test_cupy_executor_runs_one_kernel_per_call(host_cupy, shape, args, kwargs, dtype):
    f = _data(shape, dtype, 5)
    got = xd.gradient(f, *args, **kwargs)
    with np.errstate(all="ignore"):
        want = generic_gradient(f, args, kwargs)
    got = list(got) if isinstance(got, tuple) else [got]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert same_bits(g, w)
    assert len(host_cupy.launches) == 1  # all axes in one pass
    (((blocks,), (threads,)),) = host_cupy.launches
    assert threads == 256
    assert blocks == -(-f.size // threads)  # one thread per element at these sizes
    xd.gradient(f, *args, **kwargs)
    assert host_cupy.compiles == 1  # the module of this source is compiled once


def generic_gradient(f, args, kwargs):
    """xd.gradient's results through the generic executor alone."""
    from xpdiff._array.executors import generic as generic_executor

    saved = executors.executor_for
    try:
        executors.executor_for = lambda xp, f: generic_executor
        result = xd.gradient(f, *args, **kwargs)
    finally:
        executors.executor_for = saved
    return list(result) if isinstance(result, tuple) else [result]


def test_cupy_executor_on_dask_chunks_with_halos(host_cupy, monkeypatch):
    """Each chunk's plan reads a halo beyond its rows: one kernel per chunk and axis."""
    da = pytest.importorskip("dask.array")
    f = _data((16, 13), "float64", 6)
    x = da.from_array(f, chunks=(8, 5))
    for kwargs in ({}, {"accuracy": 4, "periodic": True}):
        got = xd.gradient(x, 0.5, **kwargs)
        with np.errstate(all="ignore"):
            want = generic_gradient(f, (0.5,), kwargs)
        for g, w in zip(got, want, strict=True):
            assert same_bits(np.asarray(g.compute(scheduler="sync")), w)
    assert host_cupy.launches


def test_cupy_executor_leaves_other_dtypes_to_the_generic_one(host_cupy):
    from xpdiff._array.executors import cupy as cupy_executor

    f = np.arange(12, dtype=np.float64).reshape(3, 4)
    jobs = [(_difference_plan_of(f.shape[1]), np.dtype("float64"))]
    (got,) = cupy_executor.apply_axes(np, f.astype(np.longdouble), jobs, np.longdouble)
    assert got.dtype == np.longdouble
    assert not host_cupy.launches
    assert np.array_equal(got, np.ones((3, 4), dtype=np.longdouble) * [[1, 1, 1, 1]])


def _difference_plan_of(length):
    from xpdiff._array.plans import AxisPlan, Region, Term

    regions = tuple(
        Region(
            r,
            r + 1,
            (Term(None, min(r + 1, length - 1)), Term(None, min(r + 1, length - 1) - 1)),
            kind="difference",
            divisor=1.0,
        )
        for r in range(length)
    )
    return AxisPlan(1, length, regions, halo=1, edges=(0, 0))


def test_cupy_executor_splits_kernels_whose_parameters_do_not_fit(host_cupy, monkeypatch):
    """Too many weights for one launch: a kernel per axis, or the generic executor."""
    from xpdiff._array.executors import cupy as cupy_executor

    f = _data((12, 10), "float64", 7)
    x = np.cumsum(np.linspace(0.5, 1.0, 12))
    args, kwargs = (x, 0.1), {"accuracy": 4}
    want = generic_gradient(f, args, kwargs)
    recorder = Recorder(monkeypatch)
    xd.gradient(f, *args, **kwargs)
    ((_, jobs, out_dtype),) = recorder.calls
    sizes = [
        cuda_source.gradient_kernel(f.shape, (10, 1), f.dtype, out_dtype, js).parameter_bytes
        for js in (jobs, jobs[:1], jobs[1:])
    ]
    assert sizes[0] > max(sizes[1:]) > min(sizes[1:])
    limits = [(max(sizes[1:]), 2), (min(sizes[1:]), 1), (min(sizes[1:]) - 1, 0)]
    for limit, kernels in limits:
        host_cupy.launches.clear()
        monkeypatch.setattr(cupy_executor, "MAX_PARAMETER_BYTES", limit)
        got = xd.gradient(f, *args, **kwargs)
        assert len(host_cupy.launches) == kernels
        for g, w in zip(got, want, strict=True):
            assert same_bits(g, w)
