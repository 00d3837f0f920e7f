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
# | concept drift | the relationship, P(y \| x) | the model's errors on a stream: DDM, EDDM, ADWIN | yes |
# | model drift | the model's performance, whatever the cause | realized metrics with alert bands; label-free estimates (CBPE) | yes / no |
#
# In this lab you build the key pieces yourself, run them next to `labkit.drift` (whose streaming
# detectors flag drift at exactly river 0.26.1's indices), and measure what matters in production:
# how large a shift is and not only whether it is "significant", how late a detector fires, how
# often it cries wolf, and what to do when labels arrive late.
#
# | section | you measure | you write |
# |---|---|---|
# | 1 data drift, one feature | KS p-values vs effect sizes, PSI, χ² | KS statistic, PSI |
# | 2 data drift, many features | Bonferroni vs FDR, a joint change KS misses, MMD speed | an MMD permutation test |
# | 3 concept drift on a stream | delay, misses, false alarms per 10,000 vs an always-alarm baseline | DDM; choosing a detector under label delay |
# | 4 model drift | alert bands, label-free accuracy, retraining a challenger | estimated accuracy without labels |

# %%
import json
import os
import time

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm

from labkit.device import environment_report, resolve
from labkit.drift import (
    ADWIN,
    CBPE,
    DDM,
    EDDM,
    AlwaysAlarm,
    ClassifierDrift,
    KSDrift,
    MMDDrift,
    PageHinkley,
    PerformanceMonitor,
    chi2_test,
    detect,
    error_stream,
    evaluate_detector,
    ks_2samp,
    mean_shift_stream,
    mmd2,
    mmd_test,
    wasserstein,
)
from labkit.drift.plots import (
    plot_detector_alarms,
    plot_feature_distributions,
    plot_metric_band,
    plot_pvalue_timeline,
)

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
    "stream_n": 6000 if GRADING else 10_000,
    "stream_seeds": 2 if GRADING else 5,
    "chunk": 500,
}
rng = np.random.default_rng(2026)
results = {"lab": "03_drift", "device": str(device), "sizes": S}


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
# **Exercise 1 (2 points).** Write `ks_statistic(x, y)` for two 1-D NumPy arrays without SciPy,
# returning D as a float.


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
import numpy as _np
import scipy.stats as _st

_rng = _np.random.default_rng(31)
for _n, _m, _decimals in ((5, 7, 0), (200, 150, 1), (1000, 3000, 2), (1, 40, 1), (333, 334, None)):
    _a = _rng.normal(0, 1, _n)
    _b = _rng.normal(0.3, 1.4, _m)
    if _decimals is not None:
        _a, _b = _np.round(_a, _decimals), _np.round(_b, _decimals)
    _want = _st.ks_2samp(_a, _b, method="asymp").statistic
    _got = ks_statistic(_a.copy(), _b.copy())
    assert isinstance(_got, float), type(_got)
    assert abs(_got - _want) < 1e-12, (_n, _m, _got, _want)
    assert abs(ks_statistic(_b.copy(), _a.copy()) - _want) < 1e-12
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
# falls in bin `np.searchsorted(edges, v, side="right")` (the outer bins are open); each bin's
# share is floored at 1e-4 before the sum.


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
# time. Bonferroni tests each at 5 %/d (no false alarm anywhere, 95 % of the time); the
# Benjamini–Hochberg FDR procedure bounds the expected share of false alarms among the flagged
# features instead, and flags more when several features move. Here they are on the applicants,
# and on 200 drift-free batches to count false alarms.
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
# returning `(mmd2, p_value)`: build the (n+m)×(n+m) kernel matrix of the pooled rows **once**,
# then for each permutation (NumPy `default_rng(seed)`) re-index it.


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
from scipy.spatial.distance import cdist as _cdist

from labkit.drift import mmd_test as _mmd_test

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
assert mmd_permutation_test(_x, _x[::-1] + 3.0, 1.0, 50, 0)[1] == 1 / 51
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
# ## 3. Concept drift on a stream
#
# Concept drift changes P(y | x): the inputs can look exactly the same while the right answer
# changes, so only the model's errors reveal it. DDM (Gama et al. 2004) watches the running error
# rate p and its standard deviation s = sqrt(p(1 − p)/n). After `warm_start` values it remembers
# the point where p + s was lowest (p_min, s_min); it warns when p + s > p_min + 2·s_min and flags
# drift when p + s > p_min + 3·s_min, then starts over on the next value.
#
# **Exercise 4 (3 points).** Complete `SimpleDDM`: `update(error)` takes 1 (wrong) or 0 (right),
# updates the state and returns `self`; `drift_detected` and `warning_detected` describe the last
# value. Details that matter: the minimum is updated when p + s ≤ p_min + s_min (ties count);
# drift clears the warning; the update after a drift begins with a reset; nothing is flagged
# while n ≤ warm_start.


# %% nbgrader={"grade": false, "grade_id": "03_drift_ddm", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SimpleDDM:
    def __init__(self, warm_start=30, warning_threshold=2.0, drift_threshold=3.0):
        self.warm_start = warm_start
        self.warning_threshold = warning_threshold
        self.drift_threshold = drift_threshold
        self.reset()

    def reset(self):
        self.drift_detected = False
        self.warning_detected = False
        ### BEGIN SOLUTION
        self.n = 0
        self.p = 0.0
        self.p_min = float("inf")
        self.s_min = float("inf")
        ### END SOLUTION

    def update(self, error):
        ### BEGIN SOLUTION
        if self.drift_detected:
            self.reset()
        self.n += 1
        self.p += (1 / self.n) * (error - self.p)  # running mean
        s = (self.p * (1 - self.p) / self.n) ** 0.5
        if self.n > self.warm_start:
            if self.p + s <= self.p_min + self.s_min:
                self.p_min, self.s_min = self.p, s
            self.warning_detected = self.p + s > self.p_min + self.warning_threshold * self.s_min
            if self.p + s > self.p_min + self.drift_threshold * self.s_min:
                self.drift_detected = True
                self.warning_detected = False
        return self
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "03_drift_ddm_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def flags(detector, stream):
    drifts, warnings = [], []
    for i, e in enumerate(stream):
        detector.update(e)
        if detector.drift_detected:
            drifts.append(i)
        if detector.warning_detected:
            warnings.append(i)
    return drifts, warnings


errors = error_stream(
    n=4000, change_points=(2000,), error_rates=(0.1, 0.35), seed=1
).values.tolist()
mine, reference = flags(SimpleDDM(), errors), flags(DDM(), errors)
print("SimpleDDM drifts", mine[0], "  labkit DDM drifts", reference[0])
assert mine[0] == reference[0] and mine[1] == reference[1]
assert SimpleDDM().update(1) is not None
### BEGIN HIDDEN TESTS
import numpy as _np

from labkit.drift import DDM as _RefDDM  # equal to river.drift.binary.DDM (tests/drift)

_rng = _np.random.default_rng(34)
for _trial in range(6):
    _n = int(_rng.integers(500, 5000))
    _cuts = _np.sort(_rng.choice(_np.arange(50, _n), size=2, replace=False))
    _rates = _rng.uniform(0.0, 0.6, size=3)
    _seg = _np.searchsorted(_cuts, _np.arange(_n), side="right")
    _stream = (_rng.random(_n) < _rates[_seg]).astype(int).tolist()
    _params = [
        {},
        {"warm_start": 5, "warning_threshold": 1.5, "drift_threshold": 2.5},
        {"warm_start": 0},
    ][_trial % 3]
    _want = [], []
    _ref = _RefDDM(**_params)
    _mine = SimpleDDM(**_params)
    for _i, _e in enumerate(_stream):
        _ref.update(_e)
        _mine.update(_e)
        assert bool(_mine.drift_detected) == _ref.drift_detected, (_trial, _i, "drift")
        assert bool(_mine.warning_detected) == _ref.warning_detected, (_trial, _i, "warning")
### END HIDDEN TESTS

# %% [markdown]
# ### Delay, misses and false alarms — against a baseline
#
# Four detectors on synthetic streams with a known change at the midpoint: ADWIN and Page–Hinkley
# on a real-valued signal whose mean rises by 0.35 standard deviations, DDM and EDDM on an error
# stream whose rate goes from 10 % to 25 %, each abrupt and gradual (the new concept phases in
# over 1,000 samples), plus drift-free streams to count false alarms. The detectors below flag at
# exactly river's indices (`tests/drift` checks it against river itself). A detector that alarms
# on every sample has zero delay and misses nothing — that is why the always-alarm baseline sits
# in the table.

# %%
N, seeds = S["stream_n"], range(S["stream_seeds"])
half = N // 2
streams = {
    ("value", "abrupt"): [mean_shift_stream(N, (half,), 0.35, seed=s) for s in seeds],
    ("value", "gradual"): [
        mean_shift_stream(N, (half,), 0.35, kind="gradual", width=1000, seed=s) for s in seeds
    ],
    ("value", "none"): [mean_shift_stream(N, (), seed=100 + s) for s in seeds],
    ("errors", "abrupt"): [error_stream(N, (half,), (0.1, 0.25), seed=s) for s in seeds],
    ("errors", "gradual"): [
        error_stream(N, (half,), (0.1, 0.25), kind="gradual", width=1000, seed=s) for s in seeds
    ],
    ("errors", "none"): [error_stream(N, (), (0.1,), seed=100 + s) for s in seeds],
}
detectors = {
    "ADWIN": ("value", ADWIN),
    "PageHinkley": ("value", PageHinkley),
    "DDM": ("errors", DDM),
    "EDDM": ("errors", EDDM),
}
table = []
for name, (signal, factory) in tqdm(
    [*detectors.items(), ("always-alarm", ("errors", AlwaysAlarm))], desc="detectors"
):
    for kind in ("abrupt", "gradual", "none"):
        sc = evaluate_detector(factory, streams[(signal, kind)], max_delay=1500)
        table.append(
            {
                "detector": name,
                "stream": kind,
                "mean_delay": sc.mean_delay,
                "missed": sc.n_missed,
                "changes": sc.n_changes,
                "false_alarms_per_10k": sc.false_alarms_per_10k,
                "f1": sc.f1,
            }
        )
print(f"{'detector':<13}{'stream':<9}{'delay':>8}{'missed':>9}{'FA/10k':>9}{'F1':>7}")
for row in table:
    print(
        f"{row['detector']:<13}{row['stream']:<9}{row['mean_delay']:>8.0f}{row['missed']:>5}/{row['changes']:<3}{row['false_alarms_per_10k']:>9.1f}{row['f1']:>7.2f}"
    )
results["detectors"] = table

example = streams[("value", "abrupt")][0]
alarms = {
    name: detect(f(), example.values).drifts
    for name, (sig, f) in detectors.items()
    if sig == "value"
}
err = streams[("errors", "abrupt")][0]
alarms.update(
    {
        name: detect(f(), err.values).drifts
        for name, (sig, f) in detectors.items()
        if sig == "errors"
    }
)
plot_detector_alarms(example.values, alarms, example.change_points, ylabel="monitored value (sd)")
plt.title("alarms over one stream (DDM/EDDM ran on the matching error stream)")
plt.show()

# %% [markdown]
# ### Labels arrive late
#
# DDM and EDDM need to know whether each prediction was wrong, so they only see an error once its
# label arrives: if labels come `L` samples after the prediction, every error-based alarm is `L`
# samples later than the table says. A detector on the inputs or on the model's scores (ADWIN,
# Page–Hinkley, KS on batches) needs no label at all — but it sees data drift, not concept drift.
#
# **Exercise 5 (2 points).** Write `choose_detector(candidates, label_delay, max_false_alarms_per_10k)`.
# `candidates` maps a name to a dict with `delay` (mean detection delay in samples), `missed`
# (missed changes), `false_alarms_per_10k` and `needs_labels` (bool). Keep the candidates that
# missed nothing and stay within the false-alarm budget; return the name with the smallest
# effective delay (delay + `label_delay` for those that need labels; on a tie, the
# alphabetically first name), or `None` when no candidate qualifies.


# %% nbgrader={"grade": false, "grade_id": "03_drift_choose", "locked": false, "schema_version": 3, "solution": true, "task": false}
def choose_detector(candidates, label_delay, max_false_alarms_per_10k):
    """The qualifying detector that alarms first once label delay is counted (None if none)."""
    ### BEGIN SOLUTION
    best = None
    for name in sorted(candidates):
        c = candidates[name]
        if c["missed"] > 0 or c["false_alarms_per_10k"] > max_false_alarms_per_10k:
            continue
        effective = c["delay"] + (label_delay if c["needs_labels"] else 0)
        if best is None or effective < best[0]:
            best = (effective, name)
    return None if best is None else best[1]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "03_drift_choose_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
demo = {
    "DDM": {"delay": 300, "missed": 0, "false_alarms_per_10k": 0.5, "needs_labels": True},
    "ADWIN": {"delay": 600, "missed": 0, "false_alarms_per_10k": 0.0, "needs_labels": False},
    "always": {"delay": 0, "missed": 0, "false_alarms_per_10k": 9999.0, "needs_labels": False},
}
assert choose_detector(demo, label_delay=0, max_false_alarms_per_10k=5) == "DDM"
assert choose_detector(demo, label_delay=1000, max_false_alarms_per_10k=5) == "ADWIN"
assert choose_detector(demo, label_delay=0, max_false_alarms_per_10k=1e5) == "always"
assert choose_detector({}, 0, 5) is None
measured = {
    r["detector"]: {
        "delay": r["mean_delay"],
        "missed": r["missed"],
        "false_alarms_per_10k": r["false_alarms_per_10k"],
        "needs_labels": r["detector"] in ("DDM", "EDDM"),
    }
    for r in table
    if r["stream"] == "abrupt" and r["detector"] != "always-alarm"
}
for delay in (0, 500, 5000):
    effective = {
        k: round(v["delay"] + (delay if v["needs_labels"] else 0)) for k, v in measured.items()
    }
    print(
        f"label delay {delay:>5}: effective delays {effective} -> {choose_detector(measured, delay, 5.0)}"
    )
### BEGIN HIDDEN TESTS
import random as _random

_rng = _random.Random(35)
for _trial in range(200):
    _names = _rng.sample(["a", "b", "c", "d", "e", "f"], _rng.randint(0, 6))
    _cands = {
        _nm: {
            "delay": float(_rng.choice([10, 50, 100, 400, 1000])),
            "missed": _rng.choice([0, 0, 0, 1]),
            "false_alarms_per_10k": _rng.choice([0.0, 0.5, 3.0, 30.0]),
            "needs_labels": _rng.random() < 0.5,
        }
        for _nm in _names
    }
    _L = _rng.choice([0, 20, 300, 5000])
    _budget = _rng.choice([0.0, 1.0, 5.0, 100.0])
    _ok = [
        (_c["delay"] + (_L if _c["needs_labels"] else 0), _nm)
        for _nm, _c in _cands.items()
        if _c["missed"] == 0 and _c["false_alarms_per_10k"] <= _budget
    ]
    _want = min(_ok)[1] if _ok else None
    assert choose_detector(dict(_cands), _L, _budget) == _want, (_cands, _L, _budget)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Model drift: is the model still good?
#
# Model drift is the outcome: performance falls, whether the cause was data drift, concept drift
# or a broken pipeline. Below, a logistic-regression model is trained on last year's data; then
# the world changes in three ways. **Harmless data drift:** a feature the model gives no weight
# moves. **Harmful data drift:** the inputs crowd towards the decision boundary (the same rule,
# harder cases). **Concept drift:** the rule itself turns (the second feature's weight flips sign)
# while the inputs look exactly as before.

# %%
W_OLD, W_NEW = np.array([2.0, 1.5, 0.0]), np.array([2.0, -1.5, 0.0])


def world(n, weights, scale=1.0, shift=(0.0, 0.0, 0.0), seed=None):
    g = np.random.default_rng(seed)
    x = g.normal(0.0, 1.0, size=(n, 3)) * scale + np.asarray(shift)
    p = 1 / (1 + np.exp(-(x @ weights)))
    return x, (g.random(n) < p).astype(int)


x_train, y_train = world(5000, W_OLD, seed=1)
model = LogisticRegression().fit(x_train, y_train)
x_val, y_val = world(S["n_ref"] * 2, W_OLD, seed=2)
proba_val = model.predict_proba(x_val)[:, 1]
monitor = PerformanceMonitor(y_val, (proba_val >= 0.5).astype(int), chunk_size=S["chunk"])
print(monitor)

scenarios = {
    "harmless drift": world(3000, W_OLD, shift=(0.0, 0.0, 1.0), seed=3),
    "harmful drift": world(3000, W_OLD, scale=0.5, seed=4),
    "concept drift": world(3000, W_NEW, seed=5),
}
for label, (xs, ys) in scenarios.items():
    rep = monitor.evaluate(ys, model.predict(xs))
    print(
        f"{label:<15} inputs drift (KSDrift): {KSDrift(x_val).predict(xs).is_drift!s:<5}  "
        f"accuracy per chunk {np.round(rep.accuracy, 3)}  alerts {sum(rep.alerts)}/{len(rep.alerts)}"
    )

# %% [markdown]
# The monitor needs labels. Without them, a calibrated model's probabilities still say how
# often it should be right: a prediction made with probability p of class 1 is correct with
# probability p when it predicts 1 and 1 − p when it predicts 0.
#
# **Exercise 6 (2 points).** Write `estimated_accuracy(proba, threshold=0.5)`: the expected
# accuracy of the predictions ŷ = [proba ≥ threshold] if `proba` (a 1-D array of P(y = 1)) is
# calibrated.


# %% nbgrader={"grade": false, "grade_id": "03_drift_cbpe", "locked": false, "schema_version": 3, "solution": true, "task": false}
def estimated_accuracy(proba, threshold=0.5):
    """Expected accuracy of thresholded predictions from calibrated probabilities."""
    ### BEGIN SOLUTION
    p = np.asarray(proba, dtype=float)
    return float(np.mean(np.where(p >= threshold, p, 1 - p)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "03_drift_cbpe_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert abs(estimated_accuracy(np.array([0.9, 0.8, 0.2, 0.1])) - 0.85) < 1e-12
assert abs(estimated_accuracy(np.array([0.5, 0.5])) - 0.5) < 1e-12
x_hard, y_hard = scenarios["harmful drift"]
est = estimated_accuracy(model.predict_proba(x_hard)[:, 1])
real = float(np.mean(model.predict(x_hard) == y_hard))
print(f"harmful data drift: estimated accuracy {est:.3f} without labels, realized {real:.3f}")
assert abs(est - real) < 0.05
### BEGIN HIDDEN TESTS
import numpy as _np

_rng = _np.random.default_rng(36)
for _t in (0.5, 0.3, 0.8):
    _p = _rng.beta(0.7, 0.7, 200_000)
    _y = (_rng.random(_p.size) < _p).astype(int)
    _yhat = (_p >= _t).astype(int)
    _tp, _fp = _np.sum(_p * _yhat), _np.sum((1 - _p) * _yhat)
    _fn, _tn = _np.sum(_p * (1 - _yhat)), _np.sum((1 - _p) * (1 - _yhat))
    _want = (_tp + _tn) / (_tp + _fp + _fn + _tn)
    _got = float(estimated_accuracy(_p.copy(), threshold=_t))
    assert abs(_got - _want) < 1e-9, (_t, _got, _want)
    assert abs(_got - _np.mean(_yhat == _y)) < 0.01  # and it predicts the realized accuracy
assert abs(float(estimated_accuracy(_np.array([0.3]), threshold=0.2)) - 0.3) < 1e-12
### END HIDDEN TESTS

# %% [markdown]
# `labkit.drift.CBPE` does the same per chunk for accuracy, precision and recall (the expected
# confusion matrix, NannyML's method), after calibrating the scores on the reference with
# isotonic regression, and puts alert bands around the estimate. It follows the realized accuracy
# down when the inputs move towards the boundary — without a single label — and it is **blind to
# concept drift**: the model stays just as confident while it is now wrong.

# %%
cbpe = CBPE(chunk_size=S["chunk"]).fit(y_val, proba_val)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.2), layout="constrained", sharey=True)
cbpe_rows = {}
for ax, (label, (xs, ys)) in zip(axes, scenarios.items(), strict=True):
    proba = model.predict_proba(xs)[:, 1]
    est, real = cbpe.estimate(proba), cbpe.realized(ys, proba)
    band = cbpe.bands_[0]
    plot_metric_band(
        est.accuracy,
        band.lower,
        band.upper,
        positions=est.chunk_starts,
        realized=real.accuracy,
        ax=ax,
    )
    ax.set_title(label)
    cbpe_rows[label] = {
        "estimated": float(np.mean(est.accuracy)),
        "realized": float(np.mean(real.accuracy)),
    }
    print(
        f"{label:<16} estimated accuracy {cbpe_rows[label]['estimated']:.3f}   realized {cbpe_rows[label]['realized']:.3f}"
    )
plt.show()
results["cbpe"] = cbpe_rows

# %% [markdown]
# ### Retrain, and compare with the previous version
#
# Once the monitor alerts and labels for the new period exist, train a *challenger* on recent
# labelled data and compare it with the *champion* on data neither has seen — the most recent
# window — before promoting it. Here the challenger sees the first 2,000 labelled rows after the
# concept drift; both are scored on the last 1,000.

# %%
x_con, y_con = scenarios["concept drift"]
x_recent, y_recent = x_con[:2000], y_con[:2000]
x_hold, y_hold = x_con[2000:], y_con[2000:]
challenger = LogisticRegression().fit(x_recent, y_recent)
champion_acc = float(np.mean(model.predict(x_hold) == y_hold))
challenger_acc = float(np.mean(challenger.predict(x_hold) == y_hold))
diff = challenger_acc - champion_acc
se = np.sqrt(
    (champion_acc * (1 - champion_acc) + challenger_acc * (1 - challenger_acc)) / len(y_hold)
)
print(
    f"champion {champion_acc:.3f}  challenger {challenger_acc:.3f}  difference {diff:+.3f} ± {2 * se:.3f} (2 s.e.)"
)
print("promote the challenger" if diff > 2 * se else "keep the champion")
results["champion_challenger"] = {
    "champion": champion_acc,
    "challenger": challenger_acc,
    "promote": bool(diff > 2 * se),
}

# %% [markdown]
# ## 5. The numbers, in one place

# %%
best = {r["detector"]: r for r in table if r["stream"] == "abrupt"}
quiet = {r["detector"]: r["false_alarms_per_10k"] for r in table if r["stream"] == "none"}
print(
    f"KS at n={S['big_n']:,} on a 0.02-sd shift: p = {results['ks_tiny_shift'][-1]['p']:.1e}, D = {results['ks_tiny_shift'][-1]['d']:.3f}"
)
print(
    f"false-alarm rate, 10 features, no correction vs Bonferroni: {rates['per feature at 5 %']:.2f} vs {rates['bonferroni']:.2f}"
)
print(f"MMD permutations, kernel once vs recomputed: {results['mmd_speedup']['ratio']:.0f}x faster")
for name in ("ADWIN", "PageHinkley", "DDM", "EDDM", "always-alarm"):
    print(
        f"{name:<13} abrupt delay {best[name]['mean_delay']:>6.0f}   false alarms/10k without drift {quiet[name]:>7.1f}"
    )
for label, row in cbpe_rows.items():
    print(
        f"CBPE accuracy, {label:<15} estimated {row['estimated']:.3f}  realized {row['realized']:.3f}"
    )
print(f"champion vs challenger after concept drift: {champion_acc:.3f} vs {challenger_acc:.3f}")
with open("03_drift_results.json", "w") as f:
    json.dump(results, f, indent=2, default=float)

# %% [markdown] nbgrader={"grade": false, "grade_id": "03_drift_question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. In an interview
#
# *"How do you detect data drift, concept drift and model drift? How do they differ?"*
#
# Answer as you would in an interview, from what you measured in this notebook (quote numbers
# from section 5).
#
# **Mark scheme (5 points).**
# 1 — defines the three: data drift = P(x) changes; concept drift = P(y | x) changes; model drift
# = the model's performance falls (the consequence, from either cause or from a pipeline bug).
# 1 — data drift: names per-feature tests (KS/χ²) *with* an effect size or distance (PSI,
# Wasserstein), the multiple-testing correction, and a multivariate method (MMD or a domain
# classifier) for joint changes — with a number from this notebook.
# 1 — concept drift: error-rate detectors on a labelled stream (DDM/EDDM/ADWIN) judged by
# detection delay and false alarms per 10,000 against an always-alarm baseline, quoting measured
# figures; notes that inputs can be unchanged.
# 1 — model drift: realized metrics per chunk with alert bands from a reference period, and
# label-free estimation (CBPE) when labels are delayed, including its blind spot (concept drift).
# 1 — the response: retrain a challenger on recent labelled data and compare it with the champion
# on held-out recent data before promoting, with the measured comparison.

# %% [markdown] nbgrader={"grade": true, "grade_id": "03_drift_answer", "locked": false, "points": 5, "schema_version": 3, "solution": true, "task": false}
# They are three different changes, so I watch them with three instruments. **Data drift** is a
# change in the inputs, P(x): I compare each feature's recent batch with a reference — KS for
# numeric features, χ² for categorical ones — and always report a distance next to the p-value,
# because at scale everything is significant: here a 0.02-standard-deviation shift on 200,000 rows
# gave a KS p-value far below 0.001 with D under 0.01. Across many features I correct for
# multiple testing (uncorrected, 10 features gave roughly a 40 % false-alarm rate on drift-free
# batches, Bonferroni about 5 %), and for changes in the joint distribution I use MMD or a domain
# classifier — the correlation flip here was invisible to KS and obvious to MMD; building the
# kernel once made the permutation test over a hundred times faster. **Concept drift** is a change
# in P(y | x): the inputs can look identical, so I watch the model's errors with a streaming
# detector. I pick one by delay and false alarms, not by one score: on a 10 %→25 % error step DDM
# fired within a few hundred samples with almost no false alarms, EDDM fired but raised tens of
# false alarms per 10,000 samples, and the always-alarm baseline shows why "zero delay, nothing
# missed" means nothing alone. **Model drift** is the outcome — performance falls, whatever the
# cause: I track accuracy, precision and recall per chunk against a band of mean ± 3σ from a
# reference period. When labels are late I estimate performance from calibrated confidence
# (CBPE): when the inputs crowded towards the decision boundary it followed the realized accuracy
# down (about 0.72 estimated and realized) without a label, but it stayed above 0.8 under concept
# drift while the realized accuracy fell below 0.6, so it complements labels, never replaces
# them; with a long label delay an input-side detector such as ADWIN on a score alarms earlier
# than DDM can. Finally I act: retrain a challenger on recent labelled data and promote it only
# if it beats the champion on held-out recent data — here 0.80 against 0.58 accuracy after the
# concept drift, far outside the noise.
