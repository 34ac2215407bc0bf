"""xd.derivative, n >= 2, method "adaptive": its pilot, its ladder's points and its choice."""

from __future__ import annotations

import math
import os

import array_api_strict as xps
import numpy as np
import pytest
from array_api_compat import numpy as xpn

import xpdiff as xd
from xpdiff._function.adaptive.ladders import pilot_scheme as grad_pilot_scheme
from xpdiff._function.adaptive.selection import scales_within
from xpdiff._function.derivative_ladder import choose
from xpdiff._function.derivative_pilot import pilot_lengths
from xpdiff._function.derivative_schemes import ladder_scheme, pilot_scheme

EPS = float(np.finfo(np.float64).eps)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_sin_near_pi_over_2(n):
    """grad's one-sided pilot put the ladder's first step at 1/8192 within 3e-4 of pi/2,
    where sin' and sin''' vanish and its cubic's third derivative is off by sin T / 4:
    n = 4 lost every digit there (error 1.0, 1.8e-7 at 1e5 points of [0.5, 3]). The
    symmetric pilot sees the length 1 there as everywhere."""
    x = np.pi / 2 + np.linspace(-3e-4, 3e-4, 61)
    res = xd.derivative(np.sin, x, n=n, full_output=True)
    exact = np.sin(x + n * np.pi / 2)
    assert np.max(np.abs(res.value - exact) / np.maximum(np.abs(exact), 1.0)) < 1e-9
    assert np.all(np.abs(res.value - exact) <= res.error)
    assert np.all(res.steps == 0.5)  # d max(|x|, 1), as for every x of [0.5, 3]


def test_first_column_candidate_needs_both_levels():
    """The order-2 candidate of level k has level k - 1 in its error estimate: where that
    level has a value that is not finite, the candidate is left out. It was kept (its
    error from a level whose value had been replaced by f(x)), and a function whose
    broken level agreed with the next by chance gave 182.9 for 180.8, error 9e-13."""
    x0, k = 1.0, 3.0

    def make(c):
        def f(z):
            out = np.exp(k * z) + c * (z < x0 - 0.75 * H)  # moves x - H alone
            return np.where(z > x0 + 0.75 * H, np.nan, out)  # x + H not finite

        return f

    H = 0.25  # the pilot's lambda 1/3, a power of two
    level1 = 4 * (np.exp(k * (x0 + H / 2)) + np.exp(k * (x0 - H / 2)) - 2 * np.exp(k * x0))
    c = np.exp(k * x0) + level1 - np.exp(k * (x0 - H))  # broken level 0 == level 1
    with np.errstate(all="ignore"):
        res = xd.derivative(make(c), np.array([x0]), n=2, full_output=True)
    assert res.steps[0] == H
    exact = k**2 * np.exp(k * x0)
    assert abs(res.value[0] - exact) <= res.error[0]
    assert abs(res.value[0] - exact) < 1e-9 * exact


def _pilot_values(func, x, ratio=256.0):
    """The pilot's points and values at x: T = 0.1 max(|x|, 1), a power of two."""
    T = 2.0 ** np.floor(np.log2(0.1 * np.maximum(np.abs(x), 1.0)))
    family, _, _ = pilot_scheme(ratio)
    moves = family.multipliers[0, :, 0]
    with np.errstate(all="ignore"):
        values = func(x[None, :] + moves[:, None] * T[None, :])
        f = func(x)
    return values[None, None], f.reshape(1, 1, 1, -1), T


def test_pilot_lengths_are_selections_scales():
    """derivative's pilot writes out adaptive.selection's rules for four points: its
    lambda is selection's from the symmetric weights where the far pair agrees with
    the near one, from grad's one-sided weights (the first three points) elsewhere;
    except, in the symmetric estimate, where an extremum lies within the near pair
    (|d1 / d2| < T / 256), whose distance is no length over which func changes: there
    d1's two lengths are left out, and lambda is never shorter than selection's."""
    _, weights, used = pilot_scheme(256.0)
    _, one_sided, one_used = grad_pilot_scheme(1, (math.nan,), False, 256.0)
    rng = np.random.default_rng(1)
    cases = [
        (np.sin, rng.uniform(0.1, 5, 200)),
        (lambda z: np.sin(100 * z), rng.uniform(0.1, 3, 200)),
        (lambda z: 1 / z, np.geomspace(1e-4, 10, 200)),
        (np.log, np.geomspace(1e-5, 10, 200)),
        (np.exp, rng.uniform(-30, 30, 200)),
        (lambda z: z**2, rng.uniform(-3, 3, 200)),
        (lambda z: np.cos(z), rng.uniform(1e4, 1e4 + 7, 200)),
        (lambda z: np.exp(z) - 1 - z, rng.uniform(-1e-6, 1e-6, 200)),  # extrema at 0
        (np.cos, np.pi * rng.integers(-3, 4, 200) + rng.uniform(-1e-5, 1e-5, 200)),
    ]
    branches = np.zeros(2, dtype=int)  # elements of each branch: both are checked
    stationary_count = 0
    for func, x in cases:
        values, f, T = _pilot_values(func, x)
        t = T.reshape(1, 1, 1, -1)
        with np.errstate(all="ignore"):
            lam = pilot_lengths(
                xpn, values, f, t, weights[0, :5].tolist(), one_sided[0, :3].tolist(), EPS, 256.0
            )
            sym = scales_within(xpn, values, f, weights, used, T.reshape(1, 1, -1), EPS, 2**30)
            one = scales_within(
                xpn, values[:, :, :3], f, one_sided, one_used, T.reshape(1, 1, -1), EPS, 2**30
            )
            near = (values[0, 0, 0] + values[0, 0, 1] - 2 * f[0, 0, 0]) * 256.0**2
            far = values[0, 0, 2] + values[0, 0, 3] - 2 * f[0, 0, 0]
            agree = np.abs(far - near) <= 0.25 * np.abs(near)
            clean = values[0, 0] - f[0, 0]
            d = [
                np.where(agree, weights[0, k] @ clean, one_sided[0, k] @ clean[:3]) for k in (0, 1)
            ]
            # the symmetric estimate, |d1 / d2| (per T, then in x) within the near pair
            stationary = agree & (np.abs(d[0] / d[1]) * T < T / 256.0)
        expected = np.where(agree, sym.reshape(-1), one.reshape(-1))
        lam = lam.reshape(-1)
        np.testing.assert_allclose(lam[~stationary], expected[~stationary], rtol=1e-9)
        assert np.all(~(lam[stationary] < expected[stationary] * (1 - 1e-9)))
        branches += [np.sum(agree), np.sum(~agree)]
        stationary_count += int(np.sum(stationary))
    assert np.all(branches > 100)
    assert stationary_count > 300


def test_choice_in_blocks_keeps_the_bits():
    """On NumPy the choice goes in blocks of elements and keeps each candidate in place
    (numpy.copyto, numpy.fmin): the same bits as in one block and as the generic path
    (xp.where, here array-api-strict's), values that are not finite included."""
    scheme = ladder_scheme(3, 8, 2.0, 3)
    x = np.linspace(0.1, 3.0, 1000)
    H = np.full(x.size, 0.25)
    with np.errstate(all="ignore"):
        values = np.sqrt(x[None, :] - 0.3 + scheme.family.multipliers[0, :, 0][:, None] * H)
        values[:, 17] = np.inf
        f = np.sqrt(x - 0.3)
    values, f = values[None, None], f.reshape(1, 1, 1, -1)
    with np.errstate(all="ignore"):
        h = np.full_like(f, 0.25)
        whole = choose(xpn, values, f, h, 3, scheme, 2.0, EPS, True, width=10**6)
        blocks = choose(xpn, values, f, h, 3, scheme, 2.0, EPS, True, width=97)
    with np.errstate(all="ignore"):
        args = (xps.asarray(values), xps.asarray(f), xps.asarray(h), 3)
        strict = choose(xps, *args, scheme, 2.0, EPS, True)
    assert whole.shape == (1, 1, 4, x.size)
    np.testing.assert_array_equal(whole, blocks, strict=True)
    np.testing.assert_array_equal(whole, np.asarray(strict), strict=True)
    assert np.all(np.isnan(whole[..., 17]))  # every candidate met the inf
    # near x = 0.3 the longer levels leave sqrt's domain, the shorter ones are kept
    assert np.sum(np.isfinite(whole[0, 0, 0])) > 900


def test_huge_scale_is_a_power_of_two_beyond_the_square_root_of_the_largest():
    """_host.huge_scale: |f|'s power of two where finite beyond sqrt(finfo.max) (float64:
    2**512, float32: 2**64), else 1; None on NumPy where nothing is beyond (the generic
    path's numbers over 1)."""
    from xpdiff import _host

    f = np.array([1e304, -3e200, 2.0**512, -(2.0**513), np.inf, np.nan, 0.0])
    expected = [2.0**1009, 2.0**665, 1.0, 2.0**513, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(_host.huge_scale(xpn, f), expected)
    got = _host.huge_scale(xps, xps.asarray(f))
    np.testing.assert_array_equal(np.asarray(got), expected)
    assert _host.huge_scale(xpn, np.array([1e150, -1.0, np.nan])) is None
    f32 = np.array([1e30, 1e19, -(2.0**70)], dtype=np.float32)
    expected32 = np.array([2.0**99, 1.0, 2.0**70], dtype=np.float32)
    np.testing.assert_array_equal(_host.huge_scale(xpn, f32), expected32)
    np.testing.assert_array_equal(np.asarray(_host.huge_scale(xps, xps.asarray(f32))), expected32)


def test_where_into_writes_into_numpy_arrays_only():
    """_host.where_into: where(condition, new, old), into ``old`` on NumPy (the
    ladder's choice keeps its candidates in its own arrays), a new array elsewhere."""
    from xpdiff import _host

    condition = np.array([True, False, True])
    old = np.array([1.0, 2.0, 3.0])
    out = _host.where_into(xpn, condition, np.array([7.0, 8.0, np.nan]), old)
    assert out is old
    np.testing.assert_array_equal(old, [7.0, 2.0, np.nan])
    out = _host.where_into(xpn, condition, 5.0, old)
    np.testing.assert_array_equal(out, [5.0, 2.0, 5.0])
    strict_old = xps.asarray([1.0, 2.0, 3.0])
    got = _host.where_into(xps, xps.asarray([True, False, True]), 9.0, strict_old)
    assert got is not strict_old
    np.testing.assert_array_equal(np.asarray(got), [9.0, 2.0, 9.0])
    np.testing.assert_array_equal(np.asarray(strict_old), [1.0, 2.0, 3.0])


def test_pilot_lengths_keep_the_bits_of_the_generic_path():
    """On NumPy grad's one-sided lambda is computed only where the far pair disagrees
    (``_host.where_computed``): the same bits as array-api-strict's path, which
    computes both everywhere, on elements of both branches side by side."""
    _, weights, _ = pilot_scheme(256.0)
    _, one_sided, _ = grad_pilot_scheme(1, (math.nan,), False, 256.0)
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(0.1, 5, 300), np.geomspace(1e-5, 1e-2, 300)])
    values, f, T = _pilot_values(np.log, rng.permutation(x))
    rows = (weights[0, :5].tolist(), one_sided[0, :3].tolist(), EPS, 256.0)
    with np.errstate(all="ignore"):
        lam = pilot_lengths(xpn, values, f, T.reshape(1, 1, 1, -1), *rows)
        args = (xps.asarray(values), xps.asarray(f), xps.asarray(T.reshape(1, 1, 1, -1)))
        strict = pilot_lengths(xps, *args, *rows)
    near = values[0, 0, 0] + values[0, 0, 1] - 2 * f[0, 0, 0]
    far = values[0, 0, 2] + values[0, 0, 3] - 2 * f[0, 0, 0]
    with np.errstate(all="ignore"):
        disagree = ~(np.abs(far - near * 256.0**2) <= 0.25 * np.abs(near * 256.0**2))
    assert 50 < np.sum(disagree) < x.size - 50  # both branches, many elements each
    assert lam.shape == (1, 1, 1, x.size)
    np.testing.assert_array_equal(lam, np.asarray(strict), strict=True)
    # an edge above x (log(6 - x)): far values NaN, lambda from x and the near pair alone
    x = rng.uniform(5.0, 5.99, 300)
    values, f, T = _pilot_values(lambda z: np.log(6 - z), x)
    with np.errstate(all="ignore"):
        lam = pilot_lengths(xpn, values, f, T.reshape(1, 1, 1, -1), *rows)
        args = (xps.asarray(values), xps.asarray(f), xps.asarray(T.reshape(1, 1, 1, -1)))
        strict = pilot_lengths(xps, *args, *rows)
    far_nan = np.isnan(values[0, 0, 2]) | np.isnan(values[0, 0, 3])
    assert np.sum(far_nan & ~np.isnan(values[0, 0, 0])) > 50  # the near pair's branch
    np.testing.assert_array_equal(lam, np.asarray(strict), strict=True)
    # there lambda is about the distance to the edge (log's length), not NaN
    ok = far_nan & np.isfinite(values[0, 0, 0]) & np.isfinite(values[0, 0, 1])
    ratio = lam[0, 0, 0, ok] / (6 - x[ok])
    assert np.all((ratio > 0.3) & (ratio < 3))


def test_where_computed_runs_fn_where_needed_alone():
    """_host.where_computed: where(condition, fn(*arrays), old); on NumPy fn sees the
    elements where condition holds alone and writes into ``old``, elsewhere all."""
    from xpdiff import _host

    seen = []

    def fn(a, b):
        seen.append(a.size)
        return a * b + 1.0

    a, b = np.arange(6.0).reshape(1, 6), np.full((1, 6), 2.0)
    condition = np.array([[True, False, False, True, False, False]])
    old = np.full((1, 6), -1.0)
    out = _host.where_computed(xpn, condition, fn, (a, b), old)
    assert out is old
    assert seen == [2]
    np.testing.assert_array_equal(out, [[1.0, -1.0, -1.0, 7.0, -1.0, -1.0]])
    out = _host.where_computed(xpn, np.zeros((1, 6), dtype=bool), fn, (a, b), old)
    assert out is old
    assert seen == [2]  # nowhere: fn not called
    out = _host.where_computed(xpn, np.ones((1, 6), dtype=bool), fn, (a, b), old)
    np.testing.assert_array_equal(out, a * b + 1.0)
    strict = _host.where_computed(
        xps, xps.asarray(condition), fn, (xps.asarray(a), xps.asarray(b)), xps.asarray(old)
    )
    assert seen[-1] == 6  # every element, then where
    np.testing.assert_array_equal(np.asarray(strict), np.where(condition, a * b + 1.0, old))


@pytest.mark.parametrize(
    ("shape", "axis"),
    [
        ((3, 2, 9, 50), 2),
        ((1, 1, 9, 7), 2),
        ((4, 9, 5), 1),
        ((9, 6), 0),
        ((2, 9, 0), 1),
        ((2, 64, 33), 1),  # the longest axis it takes (weights 64 .. 1 in a byte)
    ],
)
def test_argmin_and_take_along_are_numpys(shape, axis):
    """_host.argmin_first (on NumPy from the minimum and the equal entries' byte
    weights) is argmin with keepdims: the first of equal entries, inf, a column of inf
    and -0.0 beside 0.0 included, on strided views too; _host.take_along (one take at
    flat positions on NumPy) is take_along_axis, on strided views and on arrays
    broadcast against the index (a ladder's order and step per candidate), and on no base point."""
    from xpdiff import _host

    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, shape).astype(np.float64)  # many ties
    a[a == 3] = np.inf
    a[a == 2] = -0.0  # equal to 0.0: the first of them kept
    a[(slice(None),) * axis + (slice(0, 1),)] = np.inf  # the first entry never the least
    a[..., :1] = np.inf  # (axis not last) a column of inf: its first entry
    index = _host.argmin_first(xpn, a, axis)
    expected = np.argmin(a, axis=axis, keepdims=True)
    np.testing.assert_array_equal(index, expected, strict=True)
    wide = np.repeat(a, 2, axis=-1)[..., ::2]  # a strided view of the same numbers
    np.testing.assert_array_equal(_host.argmin_first(xpn, wide, axis), expected, strict=True)
    strict = _host.argmin_first(xps, xps.asarray(a), axis)
    np.testing.assert_array_equal(np.asarray(strict), expected)
    b = rng.standard_normal((*shape[:-1], 2 * shape[-1]))[..., ::2]  # a strided view
    np.testing.assert_array_equal(
        _host.take_along(xpn, b, index, axis),
        np.take_along_axis(b, index, axis=axis),
        strict=True,
    )
    per_candidate = rng.standard_normal([n if k == axis else 1 for k, n in enumerate(shape)])
    np.testing.assert_array_equal(
        _host.take_along(xpn, per_candidate, index, axis),
        np.take_along_axis(per_candidate, index, axis=axis),
        strict=True,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp2_is_the_power_of_two_exactly(dtype):
    """_host.exp2 (pow2_floor's power, numpy.exp2 for NumPy's float64) is ``2.0 **
    k`` to the bit for every whole exponent of the dtype and beyond it, infinities and
    NaN (float32's numpy.exp2 gave 2**127 one unit off: the power there)."""
    from xpdiff import _host

    info = np.finfo(dtype)
    low, high = int(np.log2(info.smallest_subnormal)) - 4, info.maxexp + 4
    with np.errstate(over="ignore"):
        k = np.concatenate([np.arange(low, high), [np.inf, -np.inf, np.nan]]).astype(dtype)
        expected = dtype(2.0) ** k
        got = _host.exp2(xpn, k)
        strict = np.asarray(_host.exp2(xps, xps.asarray(k)))
    np.testing.assert_array_equal(got, expected, strict=True)
    np.testing.assert_array_equal(strict, expected, strict=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pow2_floor_is_the_largest_power_of_two_below(dtype):
    """_host.pow2_floor: the largest power of two <= h (math.frexp's, in the dtype) for
    random h over the whole range, h a few units below a power of two (log2 rounded up
    to it: 8 - 4 ulp gave 8), the dtype's largest (2**1024: inf), subnormals, 0 (0), inf
    (inf), NaN and negative h (NaN); NumPy's exponent bits and the generic log2 path
    (array-api-strict) alike, 0-d and strided arrays too."""
    from xpdiff import _host

    info = np.finfo(dtype)
    rng = np.random.default_rng(7)
    low, high = int(np.log2(info.smallest_subnormal)), info.maxexp - 1
    powers = np.ldexp(1.0, np.arange(low + 1, high + 1)).astype(dtype)
    below = np.concatenate([np.nextafter(powers, dtype(0)), powers - powers * info.eps * 2])
    with np.errstate(over="ignore"):
        spread = rng.random(4000) * np.exp2(rng.integers(low, high, 4000).astype(float))
    h = np.concatenate([spread.astype(dtype), below, powers, [info.max, info.smallest_normal]])
    h = h[np.isfinite(h) & (h > 0)]

    def exact(value):
        return math.ldexp(0.5, math.frexp(float(value))[1])

    expected = np.array([exact(value) for value in h], dtype=dtype)
    special = np.array([0.0, -0.0, np.inf, np.nan, -1.0, -np.inf], dtype=dtype)
    expected_special = np.array([0.0, 0.0, np.inf, np.nan, np.nan, np.nan], dtype=dtype)
    with np.errstate(all="ignore"):
        for array in (h, special, h[::3]):
            got = _host.pow2_floor(xpn, array)
            generic = np.asarray(_host.pow2_floor(xps, xps.asarray(array)))
            want = (
                expected if array is h else expected_special if array is special else expected[::3]
            )
            np.testing.assert_array_equal(got, want, strict=True)
            np.testing.assert_array_equal(generic, want, strict=True)
        scalar = _host.pow2_floor(xpn, np.asarray(info.max))
    assert scalar.shape == ()
    assert scalar == np.ldexp(dtype(1), info.maxexp - 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pow2_floor_on_every_backend(backend, dtype):
    """pow2_floor on each library: every power of two of normal numbers within 2**+-120
    and the numbers either side of it, and the dtype's largest, in x's library and dtype,
    with no overflow or underflow warned. JAX's log2 rounds some powers of two down
    (float64 log2(8) is 2.9999999999999996: 4 for 8, before) and others' up below them.
    0, inf, NaN and subnormals: the test above (JAX's CPU flushes subnormals to 0)."""
    from xpdiff import _host

    if not backend.supports(dtype):
        pytest.skip(f"{backend.name} has no {np.dtype(dtype).name}")
    powers = np.ldexp(1.0, np.arange(-120, 121)).astype(dtype)
    h = np.concatenate(
        [
            powers,
            np.nextafter(powers, dtype(0)),
            np.nextafter(powers, dtype(np.inf)),
            [np.finfo(dtype).max],
        ]
    ).astype(dtype)
    expected = np.array([math.ldexp(0.5, math.frexp(float(v))[1]) for v in h], dtype=dtype)
    with np.errstate(over="raise", under="raise"):
        got = _host.pow2_floor(backend.xp, backend.asarray(h))
        checked = backend.check(got, dtype=dtype, shape=h.shape)
    np.testing.assert_array_equal(checked, expected)


def test_weighs_any_is_the_product():
    """_host.weighs_any: ``(used @ bad) > 0``; on NumPy without the product where no
    value is bad (all False, of the product's shape), the product where some are."""
    from xpdiff import _host

    rng = np.random.default_rng(4)
    used = (rng.random((1, 2, 9, 8)) < 0.4).astype(np.float64)
    for bad in (np.zeros((3, 1, 8, 50), dtype=bool), rng.random((3, 1, 8, 50)) < 0.05):
        expected = (used @ bad.astype(np.float64)) > 0
        got = _host.weighs_any(xpn, used, bad)
        np.testing.assert_array_equal(got, expected, strict=True)
        strict = _host.weighs_any(xps, xps.asarray(used), xps.asarray(bad))
        np.testing.assert_array_equal(np.asarray(strict), expected, strict=True)
    assert expected.any()
    assert not expected.all()


def test_minimum_into_keeps_the_smaller_not_nan():
    """_host.minimum_into: where(new < old, new, old) for old without NaN (the ladder's
    smallest error so far): into ``old`` on NumPy, a new array elsewhere; NaN in new is
    never taken, inf is."""
    from xpdiff import _host

    old = np.array([1.0, 2.0, np.inf, 3.0, np.inf])
    new = np.array([0.5, np.nan, 4.0, 3.0, np.inf])
    expected = np.where(new < old, new, old)
    strict_old = xps.asarray(old)
    strict = _host.minimum_into(xps, strict_old, xps.asarray(new))
    out = _host.minimum_into(xpn, old, new)
    assert out is old
    np.testing.assert_array_equal(out, expected, strict=True)
    np.testing.assert_array_equal(np.asarray(strict), expected, strict=True)
    assert strict is not strict_old


def test_empty_reused_hands_out_an_idle_buffer_only(monkeypatch):
    """_host.empty_reused: the buffer kept is handed out again where nothing refers to
    it, never while a view of it (func's, a result's) is alive; an array beyond the
    budget's share is not kept, and a smaller budget lets a larger buffer go; any
    shape and dtype, C-contiguous and writeable."""
    from xpdiff import _host

    monkeypatch.setattr(_host, "_reused", [None])  # this test's own, whatever ran before
    budget = 2**24
    shape = (3, 10000)  # beyond REUSED_MIN: from the buffer
    assert _host.REUSED_MIN <= 8 * 3 * 10000
    small = _host.empty_reused((2, 5), np.float64, budget)  # below it: a fresh array
    assert small.base is None
    assert _host._reused[0] is None

    def pointer(a):
        return a.__array_interface__["data"][0]

    first = _host.empty_reused(shape, np.float64, budget)
    address = pointer(first)
    del first
    again = _host.empty_reused(shape, np.float64, budget)
    assert pointer(again) == address  # idle: the same memory
    kept = again[1]  # a view alive: its buffer is busy
    again[...] = 7.0
    del again
    other = _host.empty_reused(shape, np.float64, budget)
    assert not np.shares_memory(other, kept)
    other[...] = -1.0
    np.testing.assert_array_equal(kept, np.full(10000, 7.0))
    address = pointer(other)  # the buffer kept now
    del other, kept
    smaller = _host.empty_reused((2, 5000), np.complex128, budget)  # the first bytes
    assert smaller.shape == (2, 5000)
    assert smaller.dtype == np.complex128
    assert smaller.flags.c_contiguous
    assert smaller.flags.writeable
    assert pointer(smaller) == address
    del smaller
    share = budget // _host.REUSED_SHARE
    beyond = _host.empty_reused((share // 8 + 1,), np.float64, budget)
    assert beyond.base is None  # a fresh array of its own, not kept
    del beyond
    assert _host._reused[0].nbytes <= share
    _host.empty_reused((2, 10000), np.float64, 2**18)  # a smaller budget: the larger let go
    assert _host._reused[0] is None or _host._reused[0].nbytes <= 2**18 // _host.REUSED_SHARE


def test_points_a_func_keeps_are_never_overwritten():
    """derivative's points come from a reused buffer (no page faults): a func that keeps
    the arrays it gets finds them as they were after later calls, from this thread and
    from others at once, and every call's derivative is right."""
    import threading

    x = np.linspace(0.5, 2.0, 2000)
    seen = []

    def keeping(z):
        seen.append((z, z.copy()))
        return np.sin(z)

    for order in (1, 3):
        d = xd.derivative(keeping, x, n=order)
        np.testing.assert_allclose(d, np.sin(x + order * np.pi / 2), rtol=1e-8, atol=1e-10)
    results = {}

    def run(k):
        results[k] = xd.derivative(keeping, x + k, n=2)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        np.testing.assert_allclose(results[k], -np.sin(x + k), rtol=1e-8, atol=1e-10)
    assert len(seen) >= 10
    for z, copy in seen:
        np.testing.assert_array_equal(z, copy)


def _points_in_child():
    import numpy

    from xpdiff import _host

    out = _host.empty_reused((2, 10000), numpy.float64, 2**24)  # under the lock
    raise SystemExit(0 if out.shape == (2, 10000) else 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
# JAX, imported by other tests, warns at a fork of its threads (this child never uses it)
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_empty_reused_in_a_child_forked_while_its_lock_was_held():
    """A process forked while another thread held empty_reused's lock gets a lock of its
    own (os.register_at_fork): the child builds its points instead of waiting for ever."""
    import multiprocessing

    from xpdiff import _host

    context = multiprocessing.get_context("fork")
    with _host._reused_lock:  # as another thread would hold it, at the fork
        child = context.Process(target=_points_in_child)
        child.start()
    child.join(timeout=60)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0


def test_max_exponent_is_the_largest_power_of_two_in_the_dtype():
    """_host.max_exponent, the one computation of it (pow2_floor's clamp, jvp's scaling of
    a tiny step, huge_scale's threshold): float64 1023, float32 127, on NumPy and
    array-api-strict alike: the largest number is 2**it times a number in [1, 2)."""
    from xpdiff import _host

    for xp, dtypes in ((xpn, (np.float64, np.float32)), (xps, (xps.float64, xps.float32))):
        for dtype, expected in zip(dtypes, (1023, 127), strict=True):
            k = _host.max_exponent(xp, dtype)
            assert k == expected
            largest = float(xp.finfo(dtype).max)
            assert 1.0 <= largest / math.ldexp(1.0, k) < 2.0
