# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 03 — Drift: data, concept and model drift, told apart by measurement
#
# *"How do you detect data drift, concept drift and model drift, and how do they differ?"*
# Three things can change under a deployed model, and each needs its own instrument:
#
# | kind | what changes | what sees it | needs labels? |
# |---|---|---|---|
# | data drift | the inputs, P(x) | two-sample tests on features: KS, χ², PSI, MMD, a domain classifier | no |
# | concept drift | the relationship, P(y \| x) | the model's errors on a stream: DDM, EDDM, ADWIN, Page–Hinkley | yes |
# | model drift | the model's performance, whatever the cause | realized metrics with alert bands; label-free estimates (CBPE) | yes / no |
#
# In this lab you build the key pieces yourself, run them next to `labkit.drift` (whose streaming
# detectors flag drift at exactly river 0.26.1's indices), and measure what matters in production:
# how large a shift is and not only whether it is "significant", how late a detector fires, how
# often it cries wolf, and whether a retrained model is really better. The lab has two
# notebooks:
#
# | notebook | section | you measure | you write |
# |---|---|---|---|
# | **03_drift** (this one) | 1 data drift, one feature | KS p-values vs effect sizes, PSI, χ² | KS statistic, PSI |
# | | 2 data drift, many features | Bonferroni vs FDR, a joint change KS misses, the kernel width, MMD speed | an MMD permutation test |
# | 03_drift_streams | 3 concept drift on a stream | delay and false alarms per 10,000 vs an always-alarm baseline | DDM, Page–Hinkley, the detector scoring, a threshold under a false-alarm budget |
# | | 4 model drift | alert bands, label-free accuracy, champion vs challenger | McNemar's paired test |

# %%
import json
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from labkit.device import environment_report, resolve
from labkit.drift import (
    ClassifierDrift,
    KSDrift,
    MMDDrift,
    chi2_test,
    ks_2samp,
    median_heuristic,
    mmd2,
    mmd_test,
    wasserstein,
)
from labkit.drift.plots import plot_feature_distributions, plot_pvalue_timeline

GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
device = resolve()
for name, value in environment_report().rows()[:8]:
    print(f"{name:<24} {value}")

# Sizes: small while grading, larger for a real run; a GPU only speeds up the MMD part.
S = {
    "n_ref": 2000 if GRADING else 5000,
    "big_n": 50_000 if GRADING else 200_000,
    "mmd_n": 300 if GRADING else 1000,
    "mmd_naive_perms": 20 if GRADING else 50,
}
rng = np.random.default_rng(2026)
results = {"device": str(device), "sizes": S}


# %% [markdown]
# ## 1. Data drift in one feature
#
# A credit-scoring model sees four numeric features and a region. Next month, incomes are 10 %
# higher, card utilization is more spread out, ages are unchanged and the region mix moves.


# %%
def make_applicants(n, shifted, rng):
    income = rng.lognormal(10.5 + (0.1 if shifted else 0.0), 0.4, n)
    age = rng.normal(40, 12, n).clip(18, 90)
    utilization = rng.beta(2, 5, n) if not shifted else rng.beta(1.2, 3, n)
    accounts = rng.poisson(4, n).astype(float)
    region = rng.choice(
        ["north", "south", "east", "west"],
        n,
        p=[0.4, 0.3, 0.2, 0.1] if not shifted else [0.3, 0.3, 0.2, 0.2],
    )
    return np.column_stack([income, age, utilization, accounts]), region


FEATURES = ["income", "age", "utilization", "accounts"]
x_ref, region_ref = make_applicants(S["n_ref"], False, rng)
x_cur, region_cur = make_applicants(S["n_ref"], True, rng)
plot_feature_distributions(x_ref, x_cur, FEATURES, max_features=4)
plt.show()

# %% [markdown]
# The two-sample Kolmogorov–Smirnov statistic is the largest vertical gap between the two
# empirical CDFs, D = max_t |F_ref(t) − F_cur(t)|, where F(t) is the share of the sample ≤ t.
# The maximum is reached at one of the observed values, so it is enough to evaluate both ECDFs at
# every value of the pooled sample (with ties, F counts all copies ≤ t).
#
# **Exercise 1 (2 points).** Write `ks_statistic(x, y)` for two 1-D NumPy arrays (any sizes
# from 1 row up, ties allowed) without SciPy, returning D as a real number (a Python float or a
# NumPy scalar). It must not change its inputs.


# %% nbgrader={"grade": false, "grade_id": "03_drift_ks", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ks_statistic(x, y):
    """Two-sample KS statistic: the largest gap between the two empirical CDFs."""
    ### BEGIN SOLUTION
    x, y = np.sort(np.asarray(x, dtype=float)), np.sort(np.asarray(y, dtype=float))
    pooled = np.concatenate([x, y])
    cdf_x = np.searchsorted(x, pooled, side="right") / x.size
    cdf_y = np.searchsorted(y, pooled, side="right") / y.size
    return float(np.max(np.abs(cdf_x - cdf_y)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "03_drift_ks_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert ks_statistic(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 0.0
assert ks_statistic(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 1.0
# ties across the samples: at t = 1, F_x = 2/3 and F_y = 1/4
assert abs(ks_statistic(np.array([1.0, 1.0, 2.0]), np.array([1.0, 2.0, 2.0, 2.0])) - 5 / 12) < 1e-12
assert (
    abs(ks_statistic(x_ref[:, 0], x_cur[:, 0]) - ks_2samp(x_ref[:, 0], x_cur[:, 0]).statistic)
    < 1e-12
)
### BEGIN HIDDEN TESTS
import numbers as _numbers

import numpy as _np
import scipy.stats as _st  # the reference: scipy.stats.ks_2samp

_rng = _np.random.default_rng(31)
for _n, _m, _decimals in ((5, 7, 0), (200, 150, 1), (1000, 3000, 2), (1, 40, 1), (333, 334, None)):
    _a = _rng.normal(0, 1, _n)
    _b = _rng.normal(0.3, 1.4, _m)
    if _decimals is not None:
        _a, _b = _np.round(_a, _decimals), _np.round(_b, _decimals)
    _want = _st.ks_2samp(_a, _b, method="asymp").statistic
    _a0, _b0 = _a.copy(), _b.copy()
    _got = ks_statistic(_a, _b)
    assert isinstance(_got, _numbers.Real) and not isinstance(_got, bool), type(_got)
    assert abs(float(_got) - _want) < 1e-12, (_n, _m, _got, _want)
    assert abs(float(ks_statistic(_b.copy(), _a.copy())) - _want) < 1e-12
    assert _np.array_equal(_a, _a0) and _np.array_equal(_b, _b0), "ks_statistic changed its input"
### END HIDDEN TESTS

# %% [markdown]
# ### Significant is not the same as large
#
# SciPy's p-value says how surprising D would be if nothing had changed, and it shrinks with the
# sample size. Watch it on a shift of 0.02 standard deviations — nothing a model would notice —
# as the samples grow, next to D itself (the effect size) and the Wasserstein distance (in the
# feature's units).

# %%
rows = []
for n in (1000, 10_000, S["big_n"]):
    a, b = rng.normal(0, 1, n), rng.normal(0.02, 1, n)
    r = ks_2samp(a, b)
    rows.append((n, r.p_value, r.effect_size, wasserstein(a, b)))
    print(
        f"n = {n:>7,}: KS p = {r.p_value:.2e}   D = {r.effect_size:.4f}   W1 = {rows[-1][3]:.4f} sd"
    )
results["ks_tiny_shift"] = [dict(n=n, p=p, d=d, w1=w) for n, p, d, w in rows]

# %% [markdown]
# Large samples make every difference significant; the effect size stays small. Monitoring
# tools therefore report a distance beside the test and threshold the distance on large data
# (evidently switches from KS to Wasserstein above 1,000 rows). The Population Stability Index
# is the credit-risk industry's distance: bin the feature at the reference's deciles, compare the
# shares, and sum (p_cur − p_ref)·ln(p_cur / p_ref). Rule of thumb: below 0.1 stable, 0.1–0.25
# moderate, above 0.25 significant.
#
# **Exercise 2 (2 points).** Write `psi(x_ref, x, bins=10)` with this exact convention: edges
# are `np.quantile(x_ref, k / bins)` for k = 1 … bins−1 (NumPy's default method); a value `v`
# falls in bin `np.searchsorted(edges, v, side="right")` (the outer bins are open, and a value
# equal to an edge goes to the bin above it); each bin's share is floored at 1e-4 before the
# sum. Return a real number (Python or NumPy float); `bins` can be any integer ≥ 2.


# %% nbgrader={"grade": false, "grade_id": "03_drift_psi", "locked": false, "schema_version": 3, "solution": true, "task": false}
def psi(x_ref, x, bins=10):
    """Population Stability Index of x against x_ref with reference-quantile bins."""
    ### BEGIN SOLUTION
    edges = np.quantile(x_ref, np.arange(1, bins) / bins)

    def shares(v):
        counts = np.bincount(np.searchsorted(edges, v, side="right"), minlength=bins)
        return np.maximum(counts / len(v), 1e-4)

    p_ref, p_cur = shares(x_ref), shares(x)
    return float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "03_drift_psi_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from labkit.drift import psi as labkit_psi

assert psi(np.arange(100.0), np.arange(100.0)) == 0.0
for j, name in enumerate(FEATURES):
    ours = psi(x_ref[:, j], x_cur[:, j])
    assert abs(ours - labkit_psi(x_ref[:, j], x_cur[:, j])) < 1e-9, name
    print(f"PSI {name:<12} {ours:.3f}")
### BEGIN HIDDEN TESTS
import numpy as _np

_rng = _np.random.default_rng(32)


# the reference: the stated convention written out value by value (bin = number of edges <= v)
def _ref_psi(_a, _b, _bins):
    _e = _np.quantile(_a, [_k / _bins for _k in range(1, _bins)])
    _pa = _np.zeros(_bins)
    _pb = _np.zeros(_bins)
    for _v in _a:
        _pa[int(_np.sum(_e <= _v))] += 1
    for _v in _b:
        _pb[int(_np.sum(_e <= _v))] += 1
    _pa = _np.maximum(_pa / len(_a), 1e-4)
    _pb = _np.maximum(_pb / len(_b), 1e-4)
    return float(_np.sum((_pb - _pa) * _np.log(_pb / _pa)))


for _bins, _a, _b in (
    (10, _rng.normal(0, 1, 800), _rng.normal(0.5, 1, 600)),
    (5, _rng.poisson(3, 500).astype(float), _rng.poisson(4, 700).astype(float)),  # ties at edges
    (20, _rng.exponential(1, 1000), _rng.exponential(1, 1000)),
    (4, _rng.normal(0, 1, 300), _rng.normal(10, 1, 200)),  # all current values past the last edge
):
    _got = psi(_a.copy(), _b.copy(), bins=_bins)
    assert abs(float(_got) - _ref_psi(_a, _b, _bins)) < 1e-9, (_bins, _got)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Data drift in many features at once
#
# Testing d features at 5 % each raises a false alarm somewhere far more often than 5 % of the
# time. Bonferroni tests each at 5 %/d (no false alarm anywhere at least 95 % of the time); the
# Benjamini–Hochberg FDR procedure bounds the expected share of false alarms among the flagged
# features instead, and flags more when several features move. Here they are on the applicants,
# and on 200 drift-free batches (100 while graded) to count false alarms.
#
# Region is categorical — no ordering, so no KS: the χ² test of homogeneity compares the category
# counts, with Cramér's V (0 to 1) as its effect size.

# %%
for correction in ("bonferroni", "fdr"):
    res = KSDrift(x_ref, p_val=0.05, correction=correction).predict(x_cur)
    print(
        f"{correction:<10} drift={res.is_drift}  threshold={res.threshold:.4f}  flagged={[f for f, d in zip(FEATURES, res.feature_drift, strict=True) if d]}"
    )
n_batches = 100 if GRADING else 200
false_alarms = {"per feature at 5 %": 0, "bonferroni": 0, "fdr": 0}
for _ in range(n_batches):
    a, b = rng.normal(size=(500, 10)), rng.normal(size=(500, 10))
    res = KSDrift(a, correction="fdr").predict(b)
    false_alarms["per feature at 5 %"] += min(res.feature_p_values) < 0.05
    false_alarms["fdr"] += res.is_drift
    false_alarms["bonferroni"] += KSDrift(a).predict(b).is_drift
rates = {k: v / n_batches for k, v in false_alarms.items()}
print("false-alarm rate on drift-free batches of 10 features:", rates)
results["false_alarm_rate_10_features"] = rates
r = chi2_test(region_ref, region_cur)
print("region:", r)
results["region_chi2"] = r.to_dict()

# %% [markdown]
# Per-feature tests cannot see a change in how features move *together*. Below the correlation
# between two features flips sign while each feature keeps its distribution: KS sees nothing.
# The Maximum Mean Discrepancy compares whole distributions through a kernel,
# k(a, b) = exp(−‖a − b‖² / 2σ²). Its unbiased estimate is
#
# MMD² = mean_{i≠j} k(x_i, x_j) + mean_{i≠j} k(y_i, y_j) − 2 · mean_{i,j} k(x_i, y_j)
#
# and a permutation test gives its p-value: shuffle which rows are "reference" and which
# "current", recompute, and count how often the shuffled statistic reaches the observed one,
# p = (1 + #{MMD²_perm ≥ MMD²_obs}) / (1 + n_permutations). Recomputing the kernel for every
# permutation is wasteful: the pooled kernel matrix does not change, only which rows belong to
# which sample.
#
# **Exercise 3 (3 points).** Write `mmd_permutation_test(x, y, sigma, n_permutations, seed)`
# for `x` of shape (n, d) and `y` of shape (m, d) (n, m ≥ 2), returning the pair
# `(mmd2, p_value)` of real numbers: build the (n+m)×(n+m) kernel matrix of the pooled rows
# **once**, then for each permutation (NumPy `default_rng(seed)`) re-index it. The tests check
# MMD² to 1e-9, that p is exactly (1 + count) / (1 + n_permutations), and that it is within 0.1
# of a 3,000-permutation reference (any shuffling order is fine).


# %% nbgrader={"grade": false, "grade_id": "03_drift_mmd", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mmd_permutation_test(x, y, sigma, n_permutations, seed):
    """Unbiased MMD² of x (n, d) vs y (m, d) with a Gaussian kernel, and its permutation p-value."""
    ### BEGIN SOLUTION
    z = np.vstack([x, y])
    n, total = len(x), len(z)
    sq = np.sum(z * z, axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2 * z @ z.T, 0)
    k = np.exp(-dist / (2 * sigma**2))
    np.fill_diagonal(k, 0.0)

    def stat(idx):
        a, b = idx[:n], idx[n:]
        m = len(b)
        kxx = k[np.ix_(a, a)].sum() / (n * (n - 1))
        kyy = k[np.ix_(b, b)].sum() / (m * (m - 1))
        kxy = k[np.ix_(a, b)].sum() / (n * m)
        return kxx + kyy - 2 * kxy

    observed = stat(np.arange(total))
    g = np.random.default_rng(seed)
    exceed = sum(stat(g.permutation(total)) >= observed for _ in range(n_permutations))
    return float(observed), (1 + exceed) / (1 + n_permutations)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "03_drift_mmd_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
g = np.random.default_rng(0)
a, b = g.normal(size=(60, 2)), g.normal(size=(50, 2))
value, p = mmd_permutation_test(a, b, sigma=1.0, n_permutations=99, seed=1)
assert abs(value - mmd2(a, b, sigma=1.0)) < 1e-9, (value, mmd2(a, b, sigma=1.0))
assert p > 0.05, "same distribution: a small p-value here would be a false alarm"
value, p = mmd_permutation_test(a, b + 2.0, sigma=1.0, n_permutations=99, seed=1)
assert p == 1 / 100, "no shuffle of two well-separated samples reaches the observed MMD²"
### BEGIN HIDDEN TESTS
import numpy as _np
from scipy.spatial.distance import cdist as _cdist  # reference MMD²: kernels from scipy's cdist

from labkit.drift import mmd_test as _mmd_test  # reference p-value: 3,000 permutations

_rng = _np.random.default_rng(33)


def _naive(_x, _y, _s):
    _k = lambda _u, _v: _np.exp(-_cdist(_u, _v, "sqeuclidean") / (2 * _s * _s))  # noqa: E731
    _n, _m = len(_x), len(_y)
    _kxx, _kyy = _k(_x, _x), _k(_y, _y)
    return (
        (_kxx.sum() - _np.trace(_kxx)) / (_n * (_n - 1))
        + (_kyy.sum() - _np.trace(_kyy)) / (_m * (_m - 1))
        - 2 * _k(_x, _y).mean()
    )


for _n, _m, _d, _shift, _s in ((30, 40, 3, 0.0, 1.5), (45, 25, 2, 0.6, 0.8), (20, 20, 5, 0.3, 2.0)):
    _x = _rng.normal(size=(_n, _d))
    _y = _rng.normal(_shift, 1, size=(_m, _d))
    _v, _p = mmd_permutation_test(_x.copy(), _y.copy(), _s, 300, 5)
    assert abs(float(_v) - _naive(_x, _y, _s)) < 1e-9, (_v, _naive(_x, _y, _s))
    _k = float(_p) * 301 - 1
    assert abs(_k - round(_k)) < 1e-6 and 0 <= round(_k) <= 300, _p  # p = (1 + count) / (1 + P)
    _ref = _mmd_test(_x, _y, n_permutations=3000, sigma=_s, seed=9).p_value
    assert abs(float(_p) - _ref) < 0.1, (_p, _ref)
_x = _rng.normal(size=(25, 2))
_v, _p = mmd_permutation_test(_x, _x[::-1] + 3.0, 1.0, 50, 0)
assert abs(float(_p) - 1 / 51) < 1e-12, _p  # by hand: no relabelling reaches a 3-sd separation
### END HIDDEN TESTS

# %% [markdown]
# Now the correlation flip, and what building the kernel once buys: `labkit.drift.mmd_test`
# goes further and evaluates a whole batch of permutations as one matrix product (each
# relabelling is a 0/1 vector a, and aᵀKa gives the within-sample sums), which is how it runs
# on a GPU too. The naive version below recomputes the kernel for every permutation. A domain
# classifier (`ClassifierDrift`: can a model tell reference rows from current ones, judged by
# out-of-fold AUC?) sees the joint change as well.

# %%
n = S["mmd_n"]
cov_ref, cov_cur = [[1, 0.8], [0.8, 1]], [[1, -0.8], [-0.8, 1]]
joint_ref = rng.multivariate_normal([0, 0], cov_ref, n)
joint_cur = rng.multivariate_normal([0, 0], cov_cur, n)
print("KSDrift :", KSDrift(joint_ref).predict(joint_cur))
print("MMDDrift:", MMDDrift(joint_ref, n_permutations=200, seed=0).predict(joint_cur))
print("ClassifierDrift:", ClassifierDrift(joint_ref, seed=0).predict(joint_cur))


def naive_permutation_test(x, y, n_permutations, seed):
    """The straightforward way: recompute everything (kernel included) for every permutation."""
    g = np.random.default_rng(seed)
    z, n = np.vstack([x, y]), len(x)
    observed = mmd2(x, y)
    exceed = 0
    for _ in range(n_permutations):
        idx = g.permutation(len(z))
        exceed += mmd2(z[idx[:n]], z[idx[n:]]) >= observed
    return (1 + exceed) / (1 + n_permutations)


P = S["mmd_naive_perms"]
start = time.perf_counter()
naive_permutation_test(joint_ref, joint_cur, P, seed=0)
naive_s = (time.perf_counter() - start) / P
start = time.perf_counter()
mmd_test(joint_ref, joint_cur, n_permutations=500, seed=0)
fast_s = (time.perf_counter() - start) / 500
print(
    f"n = m = {n}: naive {naive_s * 1e3:.2f} ms per permutation, kernel once + batched {fast_s * 1e3:.3f} ms: {naive_s / fast_s:.0f}x"
)
results["mmd_speedup"] = {
    "n": n,
    "naive_s_per_perm": naive_s,
    "batched_s_per_perm": fast_s,
    "ratio": naive_s / fast_s,
}

# %% [markdown]
# ### The kernel width: the median heuristic
#
# σ sets the distance at which two rows stop counting as similar. Far too small, and
# k(a, b) ≈ 0 for every pair of distinct rows: each row resembles only itself and MMD² shrinks
# towards 0 for any two samples. Far too large, and k(a, b) ≈ 1 − ‖a − b‖² / 2σ²: to first order
# MMD² then compares only the two means, so a change in correlation with unchanged means fades
# out. The **median heuristic** puts σ on the scale of the data: σ = sqrt(median of ‖zᵢ − zⱼ‖²
# over all pairs i < j of the pooled sample, divided by 2), so the median pair sits at
# exp(−1) ≈ 0.37. It is what `mmd2(x, y)` and `MMDDrift` use when no σ is given. Below, the same
# correlation flip under σ from 1/100 to 100 times the heuristic: MMD² is largest near the
# heuristic and falls by orders of magnitude on both sides. Read the p-values too (200
# permutations: the smallest possible p is 1/201 ≈ 0.005): a large enough sample may still flag
# the flip at a poor width — the statistic is tiny but so is its permutation spread — while at
# the widest widths the test goes blind. How far the p-values move depends on the sample size,
# so compare the rows of your run rather than expecting a fixed cut-off.

# %%
sigma_med = median_heuristic(joint_ref, joint_cur)
width_rows = []
for factor in (0.01, 0.1, 1.0, 10.0, 100.0):
    r = mmd_test(joint_ref, joint_cur, n_permutations=200, sigma=factor * sigma_med, seed=0)
    width_rows.append(
        {"factor": factor, "sigma": factor * sigma_med, "mmd2": r.statistic, "p_value": r.p_value}
    )
print(f"median heuristic: sigma = {sigma_med:.3f}")
print(f"{'sigma / median':>14} {'sigma':>9} {'MMD²':>11} {'p (200 perms)':>14}")
for row in width_rows:
    print(f"{row['factor']:>14g} {row['sigma']:>9.3f} {row['mmd2']:>11.2e} {row['p_value']:>14.3f}")
results["mmd_kernel_width"] = width_rows

# %% [markdown]
# Batches over time: slide a window over a stream of applicants whose utilization starts to
# drift halfway through, and plot KSDrift's smallest p-value per batch.

# %%
detector = KSDrift(x_ref, correction="fdr")
starts, p_values, distances = [], [], []
for k in range(12):
    batch, _ = make_applicants(500, False, rng)
    if k >= 6:  # utilization drifts upward a little more each batch
        batch[:, 2] = np.clip(batch[:, 2] + 0.02 * (k - 5), 0, 1)
    res = detector.predict(batch)
    starts.append(k * 500)
    p_values.append(res.p_value)
    distances.append(res.distance)
plot_pvalue_timeline(
    p_values, threshold=detector.predict(batch).threshold, positions=starts, statistic=distances
)
plt.title("KSDrift on 500-row batches (drift starts at 3,000)")
plt.show()

# %% [markdown]
# ## The numbers, in one place
#
# They go to `03_drift_results.json` beside this notebook, under `"data"`; the second notebook
# (`03_drift_streams`) adds its own and quotes these.

# %%
headline = {
    f"KS on a 0.02-sd shift, n = {S['big_n']:,}: p, D": (
        f"{results['ks_tiny_shift'][-1]['p']:.1e}, {results['ks_tiny_shift'][-1]['d']:.3f}"
    ),
    "false alarms, 10 features: uncorrected, Bonferroni, FDR": (
        f"{rates['per feature at 5 %']:.2f}, {rates['bonferroni']:.2f}, {rates['fdr']:.2f}"
    ),
    "MMD permutations, kernel once + batched vs recomputed": f"{results['mmd_speedup']['ratio']:.0f}x",
    "MMD p-value on the correlation flip at sigma / median = 0.01, 1, 100": ", ".join(
        f"{r['p_value']:.3f}" for r in width_rows if r["factor"] in (0.01, 1.0, 100.0)
    ),
}
for key, value in headline.items():
    print(f"{key:<70} {value}")
results["headline"] = headline
from labkit.study.results import save  # schema'd, with the machine (docs/results.md)

save("03_drift", results, "03_drift_results.json", part="data", device=device)
