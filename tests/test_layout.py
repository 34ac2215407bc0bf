"""Units of the combination split by the memory budget, calls by max_batch: the same bits.

A unit of the combination is a range of groups of a family around a range of
base points (``layout.plan_layout``); a small memory budget splits the groups
and the base points into several units, and ``max_batch`` splits the calls so
that a unit's values come from several calls. Every array per group or per base
point reaches its unit through ``layout.unit_slice``. These tests run those
split branches (they check that the slices were taken) and compare them with
the unsplit result: bit for bit on NumPy, and on every other backend its own
unsplit result in its namespace, device and dtype.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference_functions import make

import xpdiff as xd
from xpdiff._function import layout as _layout
from xpdiff._function import point_chunks as _point_chunks
from xpdiff._function import schemes as _schemes

#: one byte: every unit one group around one base point (plan_layout's floor)
FINEST = 1
EPS = float(np.finfo(np.float64).eps)
#: how far a block's weighted sums may round from the whole batch's (measured: 1-2 ulps)
ULPS = 8


@pytest.fixture(autouse=True)
def _engine_units_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's units alone: under these small budgets ``point_chunks.over_points``
    would first split a batch into chunks of one base point each (tested in
    test_adaptive.py), and no unit would hold some of a batch's points."""

    def whole_batch(problem, f0, compute, held, kept):
        return compute(problem, f0)

    monkeypatch.setattr(_point_chunks, "over_points", whole_batch)


class SliceSpy:
    """Wraps ``layout.unit_slice``; records which spans of a unit fell short of the whole.

    ``cut`` holds "groups" where a unit held some of a family's groups, and
    "points" where it held some of its base points (whether or not the array
    asked for had an axis to cut: shared weights broadcast).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.cut: set[str] = set()
        original = _layout.unit_slice

        def spy(array, span, whole, axis):
            if span != (0, whole):
                self.cut.add("points" if axis == -1 else "groups")
            return original(array, span, whole, axis)

        monkeypatch.setattr(_layout, "unit_slice", spy)


def _sc2(xp):
    return make("sc2", xp)


def _vector(xp):
    def vector(x):
        x0, x1, x2 = x[0, ...], x[1, ...], x[2, ...]
        return xp.stack([x0 * x1, xp.sin(x1) + x2**2, xp.exp(x0 - x2)])

    return vector


def _elementwise(xp):
    return lambda x: xp.sin(x) * xp.exp(-x / 3)


# (name, call(xp, x, **options), shape of x): each a different per-group or per-point array
CALLS = {
    "grad Richardson": (lambda xp, x, **o: xd.grad(_sc2(xp), x, full_output=True, **o), (4, 3)),
    "grad simple": (lambda xp, x, **o: xd.grad(_sc2(xp), x, "simple", **o), (4, 3)),
    "grad complex": (lambda xp, x, **o: xd.grad(_sc2(xp), x, "complex", **o), (4, 3)),
    # mixed sides: weights per coordinate, so per group
    "grad sides": (
        lambda xp, x, **o: xd.grad(_sc2(xp), x, side=[1, None, -1, None], full_output=True, **o),
        (4, 3),
    ),
    # elementwise: one group, per-coordinate weights and steps, units split base points
    "grad elementwise": (
        lambda xp, x, **o: xd.grad(_elementwise(xp), x, full_output=True, **o),
        (5, 3),
    ),
    "jacobian": (lambda xp, x, **o: xd.jacobian(_vector(xp), x, full_output=True, **o), (3, 4)),
    "hessian": (lambda xp, x, **o: xd.hessian(_sc2(xp), x, full_output=True, **o), (3, 4)),
    "hessian complex": (lambda xp, x, **o: xd.hessian(_sc2(xp), x, "complex", **o), (3, 2)),
    "genD": (lambda xp, x, **o: xd.genD(_vector(xp), x, full_output=True, **o), (3, 2)),
}


def _arrays(result) -> list:
    """The arrays of a result: the value, and with full_output its error."""
    if isinstance(result, xd.GenDResult):
        return [result.value.D, result.error]
    if isinstance(result, xd.DerivativeResult):
        return [result.value, result.error]
    return [result]


def _assert_rounding_apart(split: list, whole: list) -> None:
    """Each array of ``split`` within rounding of ``whole``'s, NaN where it is NaN.

    Rounding: a few ulps of the values, or a fraction of the largest error
    estimate where the result has one (second derivatives divide an ulp of
    a weighted sum by a squared step: measured up to 7% of the Hessian's).
    """
    bound = ULPS * EPS * np.max(np.abs(whole[0]))
    if len(whole) > 1 and np.any(np.isfinite(whole[1])):
        bound = max(bound, 0.25 * np.nanmax(whole[1]))
    for a, b in zip(split, whole, strict=True):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=0, atol=bound)


def _point(shape: tuple) -> np.ndarray:
    return np.random.default_rng(3).uniform(0.3, 1.4, shape)


# --- the helper ------------------------------------------------------------------------------


def test_unit_slice_cuts_one_axis_and_keeps_broadcast_axes(backend):
    host = np.arange(2 * 5 * 3 * 6, dtype=np.float64).reshape(2, 5, 3, 6)
    a = backend.asarray(host)
    groups = _layout.unit_slice(a, (1, 4), 5, 1)
    values = backend.check(groups, dtype=np.float64, shape=(2, 3, 3, 6))
    np.testing.assert_array_equal(values, host[:, 1:4])
    points = _layout.unit_slice(groups, (2, 5), 6, -1)
    values = backend.check(points, dtype=np.float64, shape=(2, 3, 3, 3))
    np.testing.assert_array_equal(values, host[:, 1:4, :, 2:5])
    first = _layout.unit_slice(a, (0, 1), 2, 0)
    np.testing.assert_array_equal(
        backend.check(first, dtype=np.float64, shape=(1, 5, 3, 6)), host[:1]
    )
    # the whole span, an axis that broadcasts (length 1) and None need no part
    assert _layout.unit_slice(a, (0, 5), 5, 1) is a
    one = backend.asarray(host[:, :1])
    assert _layout.unit_slice(one, (2, 4), 5, 1) is one
    assert _layout.unit_slice(None, (2, 4), 5, 1) is None


# --- the split branches on NumPy ----------------------------------------------------------------


@pytest.mark.parametrize("name", [name for name in CALLS if name != "grad elementwise"])
@pytest.mark.parametrize("max_batch", [None, 1, 5])
def test_units_of_some_groups_give_the_unsplit_bits(monkeypatch, name, max_batch):
    """One point x: units hold some groups each (whole blocks), calls split anywhere: same bits."""
    call, shape = CALLS[name]
    x = _point(shape[:1])
    whole = _arrays(call(np, x))
    spy = SliceSpy(monkeypatch)
    with xd.memory_budget(FINEST):
        split = _arrays(call(np, x, max_batch=max_batch))
    # the complex Hessian's base points are its Richardson points: blocks of them too
    assert spy.cut == ({"groups", "points"} if name == "hessian complex" else {"groups"}), name
    for a, b in zip(split, whole, strict=True):
        np.testing.assert_array_equal(a, b, strict=True)


def _band(n: int) -> np.ndarray:
    return np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1


@pytest.mark.parametrize(
    ("function", "method", "sides"),
    [
        ("jacobian", "Richardson", None),
        ("jacobian", "Richardson", [1, None, -1, None, 1, None]),  # weights per group
        ("jacobian", "simple", None),
        ("jacobian", "complex", None),
        ("hessian", "Richardson", None),
        ("hessian", "complex", None),
    ],
)
def test_sparse_units_of_some_groups_give_the_unsplit_bits(monkeypatch, function, method, sides):
    """A sparse derivative's column groups split into units: the same bits."""
    x = _point((6,))
    if function == "jacobian":
        func, options = _elementwise(np), {"side": sides}
    else:
        func, options = _sc2(np), {}
    call = getattr(xd, function)
    whole = call(func, x, method, sparsity=_band(6), full_output=True, **options)
    spy = SliceSpy(monkeypatch)
    with xd.memory_budget(FINEST):
        split = call(func, x, method, sparsity=_band(6), full_output=True, max_batch=3, **options)
    assert "groups" in spy.cut
    np.testing.assert_array_equal(split.value, whole.value, strict=True)
    np.testing.assert_array_equal(split.error, whole.error, strict=True)


def _groups_only_budget(call, x) -> int:
    """The largest power-of-two budget that splits a family's groups and none of its points."""
    for budget in (2.0 ** np.arange(16, 7, -1)).astype(int).tolist():
        with pytest.MonkeyPatch.context() as patch:
            spy = SliceSpy(patch)
            with xd.memory_budget(budget):
                call(np, x)
        if "points" in spy.cut:
            break
        if spy.cut == {"groups"}:
            return budget
    raise AssertionError("no budget splits the groups alone")


@pytest.mark.parametrize("name", [name for name in CALLS if name != "grad elementwise"])
def test_a_batch_in_units_of_some_groups_keeps_the_bits(name):
    """A batch of points whose units hold all its base points and some groups: same bits."""
    call, shape = CALLS[name]
    x = _point(shape)
    whole = _arrays(call(np, x))
    with xd.memory_budget(_groups_only_budget(call, x)):
        split = _arrays(call(np, x, max_batch=5))
    for a, b in zip(split, whole, strict=True):
        np.testing.assert_array_equal(a, b, strict=True)


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("max_batch", [None, 5])
def test_units_of_some_base_points_round_like_the_unsplit(monkeypatch, name, max_batch):
    """A batch of points: units hold blocks of base points too, within a few ulps.

    Not to the bit: NumPy's matmul (BLAS) may round the weighted sums of a
    block of b base points differently from those of the whole batch (its
    kernel depends on b; one column is a matrix-vector product): an ulp of
    a weighted sum, divided by the step (squared for second derivatives),
    far below the method's own error estimate.
    """
    call, shape = CALLS[name]
    x = _point(shape)
    whole = _arrays(call(np, x))
    spy = SliceSpy(monkeypatch)
    with xd.memory_budget(FINEST):
        split = _arrays(call(np, x, max_batch=max_batch))
    assert "points" in spy.cut, name
    _assert_rounding_apart(split, whole)


# --- and on every backend ------------------------------------------------------------------------


#: budgets that split the groups and the base points of these calls in a few units each
BACKEND_BUDGETS = {"grad sides": 1024, "grad elementwise": 2048, "hessian": 1024}


@pytest.mark.parametrize("name", list(BACKEND_BUDGETS))
def test_split_units_on_every_backend(backend, monkeypatch, name):
    """The split branches on each backend: its own unsplit result, in x's namespace and device.

    JAX (XLA) rounds the Hessian's sums its own way: its whole-batch Hessian is
    already 5e-11 from NumPy's (measured), so it is held to a relative 1e-9.
    """
    call, shape = CALLS[name]
    x = _point(shape)
    whole = [backend.to_numpy(a) for a in _arrays(call(backend.xp, backend.asarray(x)))]
    spy = SliceSpy(monkeypatch)
    with xd.memory_budget(BACKEND_BUDGETS[name]):
        split = _arrays(call(backend.xp, backend.asarray(x), max_batch=7))
    assert spy.cut == ({"points"} if name == "grad elementwise" else {"groups", "points"})
    values = [
        backend.check(a, dtype=np.float64, shape=b.shape)
        for a, b in zip(split, whole, strict=True)
    ]
    if backend.name == "jax":
        for a, b in zip(values, whole, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9 * np.max(np.abs(whole[0])))
    else:
        _assert_rounding_apart(values, whole)


def _rect_spans(call):
    p0, p1, rects, pad, copy = call
    return p0, p1, [(r.t0, r.t1, r.b0, r.b1) for r in rects], pad, copy


def test_many_calls_are_built_when_made(monkeypatch):
    """A layout of more than EAGER_CALLS calls keeps their bounds, not their rectangles
    (layouts are cached: 40,000 calls' rectangles took 45 MB): each call is built when
    asked, the same call as an eager layout's, and a derivative gives the same bits."""
    family = _schemes.richardson_scheme(6, (float("nan"),), 4, 2.0, False, False, (1.0,)).family
    args = ((family,), 6, 5, 1, 2**30, 0, 8, 8, 3, 1, True)
    lazy = _layout._layout_of(*args)
    assert isinstance(lazy.calls, _layout.LazyCalls)
    monkeypatch.setattr(_layout, "EAGER_CALLS", 10**9)
    eager = _layout._layout_of(*args)
    assert isinstance(eager.calls, list)
    assert len(lazy.calls) == len(eager.calls) == -(-(6 * 8 * 5 + 2) // 3)
    assert [_rect_spans(c) for c in lazy.calls] == [_rect_spans(c) for c in eager.calls]
    assert _rect_spans(lazy.calls[-1]) == _rect_spans(eager.calls[-1])
    assert _rect_spans(lazy.calls[7]) == _rect_spans(eager.calls[7])
    assert list(_layout.call_ranges(lazy.calls)) == list(_layout.call_ranges(eager.calls))
    x = np.linspace(0.5, 1.5, 30).reshape(6, 5)  # 240 points and 2: 81 calls of 3
    f = make("sc2", np)
    planned = []
    plan = _layout._layout_of  # uncached: each derivative plans anew
    monkeypatch.setattr(_layout, "plan_layout", lambda *a: planned.append(plan(*a)) or planned[-1])
    eager_value = xd.grad(f, x, max_batch=3)
    assert not any(isinstance(p.calls, _layout.LazyCalls) for p in planned)
    monkeypatch.setattr(_layout, "EAGER_CALLS", 64)
    np.testing.assert_array_equal(xd.grad(f, x, max_batch=3), eager_value, strict=True)
    assert any(isinstance(p.calls, _layout.LazyCalls) for p in planned)
