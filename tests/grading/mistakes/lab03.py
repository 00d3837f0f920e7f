"""Lab 03: honest rewrites and typical mistakes, per exercise (see ``__init__``)."""

from mistakes import honest, mistake

KS = "03_drift_ks"
PSI = "03_drift_psi"
MMD = "03_drift_mmd"
DDM = "03_drift_ddm"
PH = "03_drift_page_hinkley"
EVALUATE = "03_drift_evaluate"
TUNE = "03_drift_tune"
MCNEMAR = "03_drift_mcnemar"

# A correct Page-Hinkley with one line marked for the mistakes to replace.
_PH_TEMPLATE = """
class SimplePageHinkley:
    def __init__(self, min_instances=30, delta=0.005, threshold=50.0, alpha=1 - 0.0001,
                 mode="both"):
        if mode not in ("up", "down", "both"):
            raise ValueError(f"mode must be 'up', 'down' or 'both', got {mode!r}")
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        self.min_instances, self.delta, self.threshold = min_instances, delta, threshold
        self.alpha, self.mode = alpha, mode
        self.reset()

    def reset(self):
        self.drift_detected = False
        self.n, self.mean, self.u, self.l = 0, 0.0, 0.0, 0.0
        self.u_min, self.l_max = float("inf"), -1.0

    def update(self, x):
        RESET
        self.n += 1
        MEAN
        self.u = self.alpha * self.u + dev - self.delta
        self.l = self.alpha * self.l + dev + self.delta
        self.u_min = min(self.u_min, self.u)
        self.l_max = max(self.l_max, self.l)
        if GATE:
            up = self.u - self.u_min CMP self.threshold
            down = self.l_max - self.l CMP self.threshold
            self.drift_detected = DECIDE
        return self
"""


def _ph(
    reset="if self.drift_detected:\n            self.reset()",
    mean="self.mean += (x - self.mean) / self.n\n        dev = x - self.mean",
    gate="self.n >= self.min_instances",
    cmp=">",
    decide='up if self.mode == "up" else down if self.mode == "down" else (up or down)',
) -> str:
    return (
        _PH_TEMPLATE.replace("RESET", reset)
        .replace("MEAN", mean)
        .replace("GATE", gate)
        .replace("CMP", cmp)
        .replace("DECIDE", decide)
    )


# A correct evaluate with the detection rule marked for the mistakes to replace.
_EVALUATE_TEMPLATE = """
def evaluate(make_detector, streams, max_delay):
    streams = list(streams)
    if not streams:
        raise ValueError("streams is empty")
    if not isinstance(max_delay, int) or max_delay < 1:
        raise ValueError(f"max_delay must be a positive integer, got {max_delay!r}")
    DETECTOR_OUTSIDE
    delays, false_alarms, total = [], 0, 0
    for stream in streams:
        DETECTOR_INSIDE
        alarms = [i for i, v in enumerate(stream.values.tolist())
                  if detector.update(v).drift_detected]
        n = len(stream.values)
        total += n
        cps = sorted(stream.change_points)
        found = 0
        for j, c in enumerate(cps):
            end = min(c + max_delay, cps[j + 1] if j + 1 < len(cps) else n)
            hit = next((a for a in alarms if HIT), None)
            if hit is not None:
                delays.append(abs(hit - c))
                found += 1
            MISS
        false_alarms += len(alarms) - found
    return (sum(delays) / len(delays) if delays else math.nan), 1e4 * false_alarms / total
"""


def _evaluate(
    hit="c <= a < end",
    miss="else:\n                delays.append(max_delay)",
    outside="pass",
    inside="detector = make_detector()",
) -> str:
    return (
        _EVALUATE_TEMPLATE.replace("HIT", hit)
        .replace("MISS", miss)
        .replace("DETECTOR_OUTSIDE", outside)
        .replace("DETECTOR_INSIDE", inside)
    )


_MCNEMAR_COUNTS = """
import math as _m
from scipy import stats as st

def mcnemar_test(y_true, pred_a, pred_b):
    y, a, b_ = list(y_true), list(pred_a), list(pred_b)
    if len(y) != len(a) or len(y) != len(b_) or not y:
        raise ValueError("need three non-empty sequences of one length")
    b = sum(1 for t, u, v in zip(y, a, b_) if u == t and v != t)
    c = sum(1 for t, u, v in zip(y, a, b_) if u != t and v == t)
    n = b + c
    PVALUE
    return b, c, p
"""


def _mcnemar(pvalue: str) -> str:
    return _MCNEMAR_COUNTS.replace("PVALUE", pvalue)


CASES = [
    # --- KS statistic ---------------------------------------------------------------------
    honest(
        KS,
        "bisect over the sorted samples, plain Python",
        """
        import bisect

        def ks_statistic(x, y):
            xs, ys = sorted(float(v) for v in x), sorted(float(v) for v in y)
            best = 0.0
            for t in xs + ys:
                gap = abs(bisect.bisect_right(xs, t) / len(xs) - bisect.bisect_right(ys, t) / len(ys))
                best = max(best, gap)
            return best
        """,
    ),
    mistake(
        KS,
        "ECDFs compared only at the first sample's values",
        """
        def ks_statistic(x, y):
            x, y = np.sort(x), np.sort(y)
            fx = np.searchsorted(x, x, side="right") / x.size
            fy = np.searchsorted(y, x, side="right") / y.size
            return float(np.max(np.abs(fx - fy)))
        """,
    ),
    mistake(
        KS,
        "merge walk that records a gap in the middle of a run of ties",
        """
        def ks_statistic(x, y):
            x, y = np.sort(x), np.sort(y)
            i = j = 0
            d = 0.0
            while i < len(x) and j < len(y):
                if x[i] <= y[j]:
                    i += 1
                else:
                    j += 1
                d = max(d, abs(i / len(x) - j / len(y)))
            return float(d)
        """,
    ),
    mistake(
        KS,
        "one-sided gap F_x - F_y",
        """
        def ks_statistic(x, y):
            x, y = np.sort(x), np.sort(y)
            z = np.concatenate([x, y])
            fx = np.searchsorted(x, z, side="right") / x.size
            fy = np.searchsorted(y, z, side="right") / y.size
            return float(max(0.0, np.max(fx - fy)))
        """,
    ),
    # --- PSI ------------------------------------------------------------------------------
    honest(
        PSI,
        "np.digitize and a Python loop over the bins",
        """
        import math

        def psi(x_ref, x, bins=10):
            edges = np.quantile(x_ref, [k / bins for k in range(1, bins)])
            ref_bins, cur_bins = np.digitize(x_ref, edges), np.digitize(x, edges)
            total = 0.0
            for k in range(bins):
                p = max(float(np.mean(ref_bins == k)), 1e-4)
                q = max(float(np.mean(cur_bins == k)), 1e-4)
                total += (q - p) * math.log(q / p)
            return total
        """,
    ),
    mistake(
        PSI,
        "a value on an edge goes to the lower bin (side='left')",
        """
        def psi(x_ref, x, bins=10):
            edges = np.quantile(x_ref, np.arange(1, bins) / bins)
            def shares(v):
                counts = np.bincount(np.searchsorted(edges, v, side="left"), minlength=bins)
                return np.maximum(counts / len(v), 1e-4)
            p, q = shares(x_ref), shares(x)
            return float(np.sum((q - p) * np.log(q / p)))
        """,
    ),
    mistake(
        PSI,
        "equal-width bins over the reference's range",
        """
        def psi(x_ref, x, bins=10):
            edges = np.linspace(np.min(x_ref), np.max(x_ref), bins + 1)[1:-1]
            def shares(v):
                counts = np.bincount(np.searchsorted(edges, v, side="right"), minlength=bins)
                return np.maximum(counts / len(v), 1e-4)
            p, q = shares(x_ref), shares(x)
            return float(np.sum((q - p) * np.log(q / p)))
        """,
    ),
    mistake(
        PSI,
        "shares smoothed by adding 1e-6 instead of floored at 1e-4",
        """
        def psi(x_ref, x, bins=10):
            edges = np.quantile(x_ref, np.arange(1, bins) / bins)
            def shares(v):
                counts = np.bincount(np.searchsorted(edges, v, side="right"), minlength=bins)
                return counts / len(v) + 1e-6
            p, q = shares(x_ref), shares(x)
            return float(np.sum((q - p) * np.log(q / p)))
        """,
    ),
    # --- MMD permutation test -------------------------------------------------------------
    honest(
        MMD,
        "scipy cdist once, boolean masks per permutation",
        """
        from scipy.spatial.distance import cdist

        def mmd_permutation_test(x, y, sigma, n_permutations, seed):
            z = np.concatenate([np.asarray(x, float), np.asarray(y, float)])
            k = np.exp(-cdist(z, z, "sqeuclidean") / (2.0 * sigma * sigma))
            np.fill_diagonal(k, 0.0)
            n, m = len(x), len(y)

            def value(mask):
                kx = k[mask][:, mask].sum() / (n * (n - 1))
                ky = k[~mask][:, ~mask].sum() / (m * (m - 1))
                kxy = k[mask][:, ~mask].sum() / (n * m)
                return kx + ky - 2.0 * kxy

            base = np.zeros(n + m, dtype=bool)
            base[:n] = True
            observed = value(base)
            rng = np.random.default_rng(seed)
            hits = 0
            for _ in range(n_permutations):
                hits += value(rng.permutation(base)) >= observed
            return float(observed), (hits + 1) / (n_permutations + 1)
        """,
    ),
    mistake(
        MMD,
        "biased MMD²: the diagonal k(x_i, x_i) = 1 kept",
        """
        def mmd_permutation_test(x, y, sigma, n_permutations, seed):
            z = np.vstack([x, y])
            n = len(x)
            sq = np.sum(z * z, axis=1)
            k = np.exp(-np.maximum(sq[:, None] + sq[None, :] - 2 * z @ z.T, 0) / (2 * sigma**2))
            def stat(idx):
                a, b = idx[:n], idx[n:]
                return k[np.ix_(a, a)].mean() + k[np.ix_(b, b)].mean() - 2 * k[np.ix_(a, b)].mean()
            obs = stat(np.arange(len(z)))
            g = np.random.default_rng(seed)
            count = sum(stat(g.permutation(len(z))) >= obs for _ in range(n_permutations))
            return float(obs), (1 + count) / (1 + n_permutations)
        """,
    ),
    mistake(
        MMD,
        "p-value without the +1: count / n_permutations",
        """
        def mmd_permutation_test(x, y, sigma, n_permutations, seed):
            z = np.vstack([x, y])
            n, m = len(x), len(y)
            sq = np.sum(z * z, axis=1)
            k = np.exp(-np.maximum(sq[:, None] + sq[None, :] - 2 * z @ z.T, 0) / (2 * sigma**2))
            np.fill_diagonal(k, 0.0)
            def stat(idx):
                a, b = idx[:n], idx[n:]
                return (k[np.ix_(a, a)].sum() / (n * (n - 1)) + k[np.ix_(b, b)].sum() / (m * (m - 1))
                        - 2 * k[np.ix_(a, b)].sum() / (n * m))
            obs = stat(np.arange(n + m))
            g = np.random.default_rng(seed)
            count = sum(stat(g.permutation(n + m)) >= obs for _ in range(n_permutations))
            return float(obs), count / n_permutations
        """,
    ),
    # --- DDM ------------------------------------------------------------------------------
    honest(
        DDM,
        "math.sqrt, error count instead of a running mean",
        """
        class SimpleDDM:
            def __init__(self, warm_start=30, warning_threshold=2.0, drift_threshold=3.0):
                self.warm_start = warm_start
                self.warning_threshold = warning_threshold
                self.drift_threshold = drift_threshold
                self.reset()

            def reset(self):
                self.drift_detected = False
                self.warning_detected = False
                self.count = 0
                self.errors = 0
                self.best = None

            def update(self, error):
                if self.drift_detected:
                    self.reset()
                self.count += 1
                self.errors += error
                p = self.errors / self.count
                s = math.sqrt(p * (1 - p) / self.count)
                if self.count <= self.warm_start:
                    return self
                if self.best is None or p + s <= self.best[0] + self.best[1]:
                    self.best = (p, s)
                p_min, s_min = self.best
                self.drift_detected = p + s > p_min + self.drift_threshold * s_min
                self.warning_detected = (not self.drift_detected
                                         and p + s > p_min + self.warning_threshold * s_min)
                return self
        """,
    ),
    mistake(
        DDM,
        "no reset on the update after a drift",
        """
        class SimpleDDM:
            def __init__(self, warm_start=30, warning_threshold=2.0, drift_threshold=3.0):
                self.warm_start = warm_start
                self.warning_threshold = warning_threshold
                self.drift_threshold = drift_threshold
                self.reset()

            def reset(self):
                self.drift_detected = False
                self.warning_detected = False
                self.n, self.p = 0, 0.0
                self.p_min = self.s_min = float("inf")

            def update(self, error):
                self.n += 1
                self.p += (error - self.p) / self.n
                s = math.sqrt(self.p * (1 - self.p) / self.n)
                if self.n > self.warm_start:
                    if self.p + s <= self.p_min + self.s_min:
                        self.p_min, self.s_min = self.p, s
                    self.drift_detected = self.p + s > self.p_min + self.drift_threshold * self.s_min
                    self.warning_detected = (not self.drift_detected and
                                             self.p + s > self.p_min + self.warning_threshold * self.s_min)
                return self
        """,
    ),
    mistake(
        DDM,
        "the warning stays on when drift fires",
        """
        class SimpleDDM:
            def __init__(self, warm_start=30, warning_threshold=2.0, drift_threshold=3.0):
                self.warm_start = warm_start
                self.warning_threshold = warning_threshold
                self.drift_threshold = drift_threshold
                self.reset()

            def reset(self):
                self.drift_detected = False
                self.warning_detected = False
                self.n, self.p = 0, 0.0
                self.p_min = self.s_min = float("inf")

            def update(self, error):
                if self.drift_detected:
                    self.reset()
                self.n += 1
                self.p += (error - self.p) / self.n
                s = math.sqrt(self.p * (1 - self.p) / self.n)
                if self.n > self.warm_start:
                    if self.p + s <= self.p_min + self.s_min:
                        self.p_min, self.s_min = self.p, s
                    self.warning_detected = self.p + s > self.p_min + self.warning_threshold * self.s_min
                    self.drift_detected = self.p + s > self.p_min + self.drift_threshold * self.s_min
                return self
        """,
    ),
    mistake(
        DDM,
        "tests from n = warm_start instead of n > warm_start",
        """
        class SimpleDDM:
            def __init__(self, warm_start=30, warning_threshold=2.0, drift_threshold=3.0):
                self.warm_start = warm_start
                self.warning_threshold = warning_threshold
                self.drift_threshold = drift_threshold
                self.reset()

            def reset(self):
                self.drift_detected = False
                self.warning_detected = False
                self.n, self.p = 0, 0.0
                self.p_min = self.s_min = float("inf")

            def update(self, error):
                if self.drift_detected:
                    self.reset()
                self.n += 1
                self.p += (error - self.p) / self.n
                s = math.sqrt(self.p * (1 - self.p) / self.n)
                if self.n >= self.warm_start:
                    if self.p + s <= self.p_min + self.s_min:
                        self.p_min, self.s_min = self.p, s
                    self.drift_detected = self.p + s > self.p_min + self.drift_threshold * self.s_min
                    self.warning_detected = (not self.drift_detected and
                                             self.p + s > self.p_min + self.warning_threshold * self.s_min)
                return self
        """,
    ),
    # --- Page-Hinkley ---------------------------------------------------------------------
    honest(
        PH,
        "mean as sum / n, if-chains for the mode, own messages",
        """
        class SimplePageHinkley:
            def __init__(self, min_instances=30, delta=0.005, threshold=50.0, alpha=1 - 0.0001,
                         mode="both"):
                if mode != "up" and mode != "down" and mode != "both":
                    raise ValueError("mode: expected one of up/down/both, got " + repr(mode))
                if alpha <= 0 or alpha > 1:
                    raise ValueError("alpha: expected a forgetting factor in (0, 1], got " + repr(alpha))
                self.params = (min_instances, delta, threshold, alpha, mode)
                self.reset()

            def reset(self):
                self.drift_detected = False
                self.count, self.total = 0, 0.0
                self.inc = self.dec = 0.0
                self.lowest_inc, self.highest_dec = float("inf"), -1.0

            def update(self, x):
                min_instances, delta, threshold, alpha, mode = self.params
                if self.drift_detected:
                    self.reset()
                self.count += 1
                self.total += x
                deviation = x - self.total / self.count
                self.inc = alpha * self.inc + deviation - delta
                self.dec = alpha * self.dec + deviation + delta
                if self.inc < self.lowest_inc:
                    self.lowest_inc = self.inc
                if self.dec > self.highest_dec:
                    self.highest_dec = self.dec
                if self.count < min_instances:
                    return self
                rise = self.inc - self.lowest_inc > threshold
                fall = self.highest_dec - self.dec > threshold
                if mode == "up":
                    self.drift_detected = rise
                elif mode == "down":
                    self.drift_detected = fall
                else:
                    self.drift_detected = rise or fall
                return self
        """,
    ),
    mistake(PH, "one-sided: every mode tests increases only", _ph(decide="up")),
    mistake(
        PH,
        "mode 'both' tests decreases only",
        _ph(decide='up if self.mode == "up" else down'),
    ),
    mistake(PH, "alarm at U - U_min >= threshold", _ph(cmp=">=")),
    mistake(
        PH,
        "deviation from the mean before x is included",
        _ph(mean="dev = x - self.mean\n        self.mean += (x - self.mean) / self.n"),
    ),
    mistake(PH, "no reset after a drift", _ph(reset="pass")),
    mistake(PH, "tests only once n > min_instances", _ph(gate="self.n > self.min_instances")),
    # --- evaluate -------------------------------------------------------------------------
    honest(
        EVALUATE,
        "a pointer over the sorted alarms, numpy for the mean, own messages",
        """
        def evaluate(make_detector, streams, max_delay):
            streams = list(streams)
            if len(streams) == 0:
                raise ValueError("streams: need at least one stream")
            if not isinstance(max_delay, numbers.Integral) or max_delay <= 0:
                raise ValueError("max_delay: need an integer >= 1, got " + repr(max_delay))
            delays, fa, n_total = [], 0, 0
            for s in streams:
                det = make_detector()
                alarms = []
                for i, v in enumerate(s.values.tolist()):
                    det.update(v)
                    if det.drift_detected:
                        alarms.append(i)
                n_total += len(s.values)
                cps = sorted(s.change_points) + [len(s.values)]
                used = 0
                k = 0
                for j in range(len(cps) - 1):
                    c, end = cps[j], min(cps[j] + max_delay, cps[j + 1])
                    while k < len(alarms) and alarms[k] < c:
                        k += 1
                    if k < len(alarms) and alarms[k] < end:
                        delays.append(alarms[k] - c)
                        used += 1
                    else:
                        delays.append(max_delay)
                fa += len(alarms) - used
            return (float(np.mean(delays)) if delays else float("nan")), fa * 10_000 / n_total
        """,
    ),
    mistake(
        EVALUATE,
        "an alarm before the change counts as its detection",
        _evaluate(hit="a < end"),
    ),
    mistake(
        EVALUATE,
        "missed changes left out of the mean delay",
        _evaluate(miss="pass"),
    ),
    mistake(
        EVALUATE,
        "the window includes c + max_delay",
        _evaluate(hit="c <= a <= min(c + max_delay, end)"),
    ),
    mistake(
        EVALUATE,
        "one detector for all the streams",
        _evaluate(outside="detector = make_detector()", inside="pass"),
    ),
    # --- tune -----------------------------------------------------------------------------
    honest(
        TUNE,
        "a list of candidates sorted by (delay, false alarms, position)",
        """
        def choose_setting(settings, streams, max_false_alarms_per_10k, max_delay):
            ok = []
            for position, (key, make) in enumerate(settings.items()):
                delay, fa = evaluate(make, streams, max_delay)
                if fa <= max_false_alarms_per_10k:
                    ok.append((delay, fa, position, key))
            if not ok:
                return None
            ok.sort(key=lambda row: row[:3])
            return ok[0][3]
        """,
    ),
    mistake(
        TUNE,
        "the lowest delay, budget ignored",
        """
        def choose_setting(settings, streams, max_false_alarms_per_10k, max_delay):
            scores = {k: evaluate(m, streams, max_delay) for k, m in settings.items()}
            if not scores or min(f for d, f in scores.values()) > max_false_alarms_per_10k:
                return None
            return min(scores, key=lambda k: scores[k][0])
        """,
    ),
    mistake(
        TUNE,
        "the fewest false alarms, delay ignored",
        """
        def choose_setting(settings, streams, max_false_alarms_per_10k, max_delay):
            scores = {k: evaluate(m, streams, max_delay) for k, m in settings.items()}
            ok = [k for k in scores if scores[k][1] <= max_false_alarms_per_10k]
            return min(ok, key=lambda k: scores[k][1]) if ok else None
        """,
    ),
    mistake(
        TUNE,
        "a detection before the change counts (own scoring)",
        """
        def choose_setting(settings, streams, max_false_alarms_per_10k, max_delay):
            def score(make):
                delays, fa, total = [], 0, 0
                for s in streams:
                    det = make()
                    alarms = [i for i, v in enumerate(s.values.tolist()) if det.update(v).drift_detected]
                    total += len(s.values)
                    found = 0
                    for c in s.change_points:
                        hit = next((a for a in alarms if abs(a - c) < max_delay), None)
                        delays.append(max_delay if hit is None else abs(hit - c))
                        found += hit is not None
                    fa += len(alarms) - found
                return (sum(delays) / len(delays) if delays else math.nan), 1e4 * fa / total
            best = None
            for key, make in settings.items():
                d, f = score(make)
                if f <= max_false_alarms_per_10k and (best is None or (d, f) < best[0]):
                    best = ((d, f), key)
            return None if best is None else best[1]
        """,
    ),
    mistake(
        TUNE,
        "a rate exactly on the budget is treated as over it",
        """
        def choose_setting(settings, streams, max_false_alarms_per_10k, max_delay):
            best = None
            for key, make in settings.items():
                d, f = evaluate(make, streams, max_delay)
                if f < max_false_alarms_per_10k and (best is None or (d, f) < best[0]):
                    best = ((d, f), key)
            return None if best is None else best[1]
        """,
    ),
    # --- McNemar --------------------------------------------------------------------------
    honest(
        MCNEMAR,
        "exact integers: math.comb summed, divided by 2**n",
        _mcnemar(
            "p = 1.0 if n == 0 else min(1.0, 2 * sum(_m.comb(n, i) for i in range(min(b, c) + 1))"
            " / 2**n)"
        ),
    ),
    honest(
        MCNEMAR,
        "scipy.stats.binomtest",
        _mcnemar("p = 1.0 if n == 0 else st.binomtest(b, n, 0.5).pvalue"),
    ),
    mistake(
        MCNEMAR,
        "one-sided: P(X <= min(b, c)) not doubled",
        _mcnemar("p = 1.0 if n == 0 else float(st.binom.cdf(min(b, c), n, 0.5))"),
    ),
    mistake(
        MCNEMAR,
        "chi-square with continuity correction instead of the exact test",
        _mcnemar("p = 1.0 if n == 0 else float(st.chi2.sf((abs(b - c) - 1) ** 2 / n, 1))"),
    ),
    mistake(
        MCNEMAR,
        "0.5 ** n underflows for thousands of discordant rows",
        _mcnemar(
            "p = 1.0 if n == 0 else min(1.0, 2 * sum(_m.comb(n, i) * 0.5**n"
            " for i in range(min(b, c) + 1)))"
        ),
    ),
    mistake(
        MCNEMAR,
        "p-value not capped at 1 when b = c",
        _mcnemar("p = 1.0 if n == 0 else 2 * float(st.binom.cdf(min(b, c), n, 0.5))"),
    ),
    mistake(
        MCNEMAR,
        "discordant = the two models predict different labels",
        """
        from scipy import stats as st

        def mcnemar_test(y_true, pred_a, pred_b):
            y, a, b_ = np.asarray(y_true), np.asarray(pred_a), np.asarray(pred_b)
            if not (len(y) == len(a) == len(b_)) or len(y) == 0:
                raise ValueError("lengths")
            differ = a != b_
            b = int(np.sum(differ & (a == y)))
            c = int(np.sum(differ & (a != y)))
            n = b + c
            return b, c, 1.0 if n == 0 else st.binomtest(b, n, 0.5).pvalue
        """,
    ),
    mistake(
        MCNEMAR,
        "unpaired two-proportion z-test",
        """
        from scipy import stats as st

        def mcnemar_test(y_true, pred_a, pred_b):
            y, a, b_ = np.asarray(y_true), np.asarray(pred_a), np.asarray(pred_b)
            if not (len(y) == len(a) == len(b_)) or len(y) == 0:
                raise ValueError("lengths")
            ra, rb = a == y, b_ == y
            b, c = int(np.sum(ra & ~rb)), int(np.sum(~ra & rb))
            pa, pb, n = ra.mean(), rb.mean(), len(y)
            se = np.sqrt((pa * (1 - pa) + pb * (1 - pb)) / n)
            return b, c, 1.0 if se == 0 else float(2 * st.norm.sf(abs(pa - pb) / se))
        """,
    ),
    mistake(
        MCNEMAR,
        "b and c swapped",
        _mcnemar("b, c = c, b\n    p = 1.0 if n == 0 else st.binomtest(b, n, 0.5).pvalue"),
    ),
]
