"""Lab 04: honest rewrites and typical mistakes, per exercise (see ``__init__``)."""

from mistakes import honest, mistake

POISSON = "04_scaling_poisson"
BOTTLENECK = "04_scaling_bottleneck"
BUCKET = "04_scaling_token_bucket"
ERLANG = "04_scaling_erlang"
HPA = "04_scaling_hpa_behavior"
SIZE = "04_scaling_size_pool"

# --- Exercise 1: Poisson schedule ------------------------------------------------------------

CASES = [
    honest(
        POISSON,
        "Poisson count, then sorted uniform times",
        """
        import numpy

        def poisson_schedule(rate, duration_s, seed=None):
            gen = numpy.random.default_rng(seed)
            n = gen.poisson(rate * duration_s)
            return numpy.sort(gen.uniform(0.0, duration_s, size=n))
    """,
    ),
    honest(
        POISSON,
        "one exponential gap at a time with the random module",
        """
        import random

        def poisson_schedule(rate, duration_s, seed=None):
            gen = random.Random(seed)
            out, t = [], gen.expovariate(rate)
            while t < duration_s:
                out.append(t)
                t += gen.expovariate(rate)
            return np.array(out, dtype=float)
    """,
    ),
    mistake(
        POISSON,
        "evenly spaced sends at the mean rate",
        """
        def poisson_schedule(rate, duration_s, seed=None):
            return np.arange(0.0, duration_s, 1.0 / rate)
    """,
    ),
    mistake(
        POISSON,
        "ignores the seed",
        """
        def poisson_schedule(rate, duration_s, seed=None):
            rng = np.random.default_rng()
            n = rng.poisson(rate * duration_s)
            return np.sort(rng.uniform(0.0, duration_s, size=n))
    """,
    ),
    mistake(
        POISSON,
        "exponential scale = rate instead of 1/rate",
        """
        def poisson_schedule(rate, duration_s, seed=None):
            rng = np.random.default_rng(seed)
            times = np.cumsum(rng.exponential(rate, size=int(10 * rate * duration_s) + 100))
            return times[times < duration_s]
    """,
    ),
    # --- Exercise 2: bottleneck from the metrics ---------------------------------------------
    honest(
        BOTTLENECK,
        "regular expressions over the text format, no parse_metrics",
        """
        import re

        def read_bottleneck(text):
            sums = {}
            ok = shed = 0.0
            for line in text.splitlines():
                if not line or line.startswith("#"):
                    continue
                m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})?\\s+(\\S+)', line)
                name, labels, value = m.group(1), m.group(3) or "", float(m.group(4))
                if name.endswith("_sum") or name.endswith("_count"):
                    sums[name] = sums.get(name, 0.0) + value
                if name == "labkit_requests_total" and 'endpoint="/recommend"' in labels:
                    ok += value
                    if 'status="503"' in labels:
                        shed += value

            def mean(h):
                n = sums.get(h + "_count", 0.0)
                return sums.get(h + "_sum", 0.0) / n if n > 0 else 0.0

            wait = mean("labkit_queue_wait_seconds")
            compute = mean("labkit_batch_compute_seconds")
            fraction = shed / ok if ok > 0 else 0.0
            if fraction > 0.01:
                verdict = "overloaded"
            elif wait > compute:
                verdict = "queueing"
            else:
                verdict = "compute"
            return dict(
                mean_batch_size=mean("labkit_batch_size"),
                mean_queue_wait_s=wait,
                mean_compute_s=compute,
                shed_fraction=fraction,
                verdict=verdict,
            )
    """,
    ),
    mistake(
        BOTTLENECK,
        "compute time per request (spread over the batch) instead of per batch",
        """
        from labkit.scaling.metrics import parse_metrics

        def read_bottleneck(text):
            m = parse_metrics(text)
            total = lambda name: sum(s.value for s in m.get(name, []))
            n_batches = total("labkit_batch_size_count")
            n_req = total("labkit_batch_size_sum")
            waits = total("labkit_queue_wait_seconds_count")
            resp = [s for s in m.get("labkit_requests_total", [])
                    if s.labels.get("endpoint") == "/recommend"]
            all_ = sum(s.value for s in resp)
            shed = sum(s.value for s in resp if s.labels.get("status") == "503")
            out = {
                "mean_batch_size": n_req / n_batches if n_batches else 0.0,
                "mean_queue_wait_s": total("labkit_queue_wait_seconds_sum") / waits if waits else 0.0,
                "mean_compute_s": total("labkit_batch_compute_seconds_sum") / n_req if n_req else 0.0,
                "shed_fraction": shed / all_ if all_ else 0.0,
            }
            if out["shed_fraction"] > 0.01:
                out["verdict"] = "overloaded"
            elif out["mean_queue_wait_s"] > out["mean_compute_s"]:
                out["verdict"] = "queueing"
            else:
                out["verdict"] = "compute"
            return out
    """,
    ),
    mistake(
        BOTTLENECK,
        "overloaded at exactly 1% shed (>= instead of >)",
        """
        from labkit.scaling.metrics import parse_metrics

        def read_bottleneck(text):
            m = parse_metrics(text)
            def mean(name):
                n = sum(s.value for s in m.get(name + "_count", []))
                return sum(s.value for s in m.get(name + "_sum", [])) / n if n else 0.0
            resp = [s for s in m.get("labkit_requests_total", [])
                    if s.labels.get("endpoint") == "/recommend"]
            all_ = sum(s.value for s in resp)
            shed = sum(s.value for s in resp if s.labels.get("status") == "503")
            out = {
                "mean_batch_size": mean("labkit_batch_size"),
                "mean_queue_wait_s": mean("labkit_queue_wait_seconds"),
                "mean_compute_s": mean("labkit_batch_compute_seconds"),
                "shed_fraction": shed / all_ if all_ else 0.0,
            }
            if out["shed_fraction"] >= 0.01:
                out["verdict"] = "overloaded"
            elif out["mean_queue_wait_s"] > out["mean_compute_s"]:
                out["verdict"] = "queueing"
            else:
                out["verdict"] = "compute"
            return out
    """,
    ),
    mistake(
        BOTTLENECK,
        "counts the 503s of every endpoint",
        """
        from labkit.scaling.metrics import parse_metrics

        def read_bottleneck(text):
            m = parse_metrics(text)
            def mean(name):
                n = sum(s.value for s in m.get(name + "_count", []))
                return sum(s.value for s in m.get(name + "_sum", [])) / n if n else 0.0
            resp = m.get("labkit_requests_total", [])
            all_ = sum(s.value for s in resp)
            shed = sum(s.value for s in resp if s.labels.get("status") == "503")
            out = {
                "mean_batch_size": mean("labkit_batch_size"),
                "mean_queue_wait_s": mean("labkit_queue_wait_seconds"),
                "mean_compute_s": mean("labkit_batch_compute_seconds"),
                "shed_fraction": shed / all_ if all_ else 0.0,
            }
            if out["shed_fraction"] > 0.01:
                out["verdict"] = "overloaded"
            elif out["mean_queue_wait_s"] > out["mean_compute_s"]:
                out["verdict"] = "queueing"
            else:
                out["verdict"] = "compute"
            return out
    """,
    ),
    mistake(
        BOTTLENECK,
        "queueing when the wait equals the compute time (>= instead of >)",
        """
        from labkit.scaling.metrics import parse_metrics

        def read_bottleneck(text):
            m = parse_metrics(text)
            def mean(name):
                n = sum(s.value for s in m.get(name + "_count", []))
                return sum(s.value for s in m.get(name + "_sum", [])) / n if n else 0.0
            resp = [s for s in m.get("labkit_requests_total", [])
                    if s.labels.get("endpoint") == "/recommend"]
            all_ = sum(s.value for s in resp)
            shed = sum(s.value for s in resp if s.labels.get("status") == "503")
            out = {
                "mean_batch_size": mean("labkit_batch_size"),
                "mean_queue_wait_s": mean("labkit_queue_wait_seconds"),
                "mean_compute_s": mean("labkit_batch_compute_seconds"),
                "shed_fraction": shed / all_ if all_ else 0.0,
            }
            if out["shed_fraction"] > 0.01:
                out["verdict"] = "overloaded"
            elif out["mean_queue_wait_s"] >= out["mean_compute_s"]:
                out["verdict"] = "queueing"
            else:
                out["verdict"] = "compute"
            return out
    """,
    ),
    # --- Exercise 3: token bucket --------------------------------------------------------------
    honest(
        BUCKET,
        "time-based: remembers when the bucket will be full again (no token counter)",
        """
        class TokenBucket:
            def __init__(self, rate_per_s, burst):
                if rate_per_s <= 0:
                    raise ValueError("rate_per_s must be positive")
                if burst < 1:
                    raise ValueError("burst must be at least 1")
                self.interval = 1.0 / rate_per_s
                self.rate = rate_per_s
                self.burst = burst
                self.full_at = None  # when the bucket is full again
                self.prev = None

            def admit(self, now_s):
                if self.prev is not None and now_s < self.prev:
                    raise ValueError("time went backwards")
                self.prev = now_s
                if self.full_at is None or self.full_at < now_s:
                    self.full_at = now_s
                tokens = self.burst - (self.full_at - now_s) * self.rate
                if tokens < 1:
                    return False
                self.full_at += self.interval
                return True
    """,
    ),
    mistake(
        BUCKET,
        "needs more than one token (> 1 instead of >= 1)",
        """
        class TokenBucket:
            def __init__(self, rate_per_s, burst):
                if not rate_per_s > 0 or not burst >= 1:
                    raise ValueError("bad rate_per_s or burst")
                self.rate, self.burst, self.tokens, self.last = rate_per_s, burst, burst, None

            def admit(self, now_s):
                if self.last is not None:
                    if now_s < self.last:
                        raise ValueError("now_s went backwards")
                    self.tokens = min(self.burst, self.tokens + (now_s - self.last) * self.rate)
                self.last = now_s
                if self.tokens > 1:
                    self.tokens -= 1
                    return True
                return False
    """,
    ),
    mistake(
        BUCKET,
        "tokens are not capped at burst: a long idle period allows a huge burst",
        """
        class TokenBucket:
            def __init__(self, rate_per_s, burst):
                if not rate_per_s > 0 or not burst >= 1:
                    raise ValueError("bad rate_per_s or burst")
                self.rate, self.tokens, self.last = rate_per_s, burst, None

            def admit(self, now_s):
                if self.last is not None:
                    if now_s < self.last:
                        raise ValueError("now_s went backwards")
                    self.tokens += (now_s - self.last) * self.rate
                self.last = now_s
                if self.tokens >= 1:
                    self.tokens -= 1
                    return True
                return False
    """,
    ),
    mistake(
        BUCKET,
        "refills whole tokens only (the fractions are lost at every call)",
        """
        import math

        class TokenBucket:
            def __init__(self, rate_per_s, burst):
                if not rate_per_s > 0 or not burst >= 1:
                    raise ValueError("bad rate_per_s or burst")
                self.rate, self.burst, self.tokens, self.last = rate_per_s, burst, burst, None

            def admit(self, now_s):
                if self.last is not None:
                    if now_s < self.last:
                        raise ValueError("now_s went backwards")
                    gained = math.floor((now_s - self.last) * self.rate)
                    self.tokens = min(self.burst, self.tokens + gained)
                self.last = now_s
                if self.tokens >= 1:
                    self.tokens -= 1
                    return True
                return False
    """,
    ),
    mistake(
        BUCKET,
        "no validation: a backwards clock silently refills nothing",
        """
        class TokenBucket:
            def __init__(self, rate_per_s, burst):
                self.rate, self.burst, self.tokens, self.last = rate_per_s, burst, burst, None

            def admit(self, now_s):
                if self.last is not None:
                    gained = max(0.0, now_s - self.last) * self.rate
                    self.tokens = min(self.burst, self.tokens + gained)
                self.last = now_s
                if self.tokens >= 1:
                    self.tokens -= 1
                    return True
                return False
    """,
    ),
    # --- Exercise 4: Erlang C -------------------------------------------------------------------
    honest(
        ERLANG,
        "log space with lgamma and a log-sum-exp; bisection on the wait bound",
        """
        import math

        def erlang_c(arrival_rate, service_rate, servers):
            a = float(arrival_rate) / float(service_rate)
            c = int(servers)
            if a / c >= 1:
                raise ValueError("utilization must be below 1")
            logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(c)]
            last = c * math.log(a) - math.lgamma(c + 1) + math.log(c / (c - a))
            top = max(logs + [last])
            total = sum(math.exp(x - top) for x in logs) + math.exp(last - top)
            return math.exp(last - top) / total

        def replicas_for_wait(arrival_rate, service_rate, wait_s, max_probability):
            if max_probability <= 0 or max_probability > 1:
                raise ValueError("max_probability outside (0, 1]")
            lam, mu = float(arrival_rate), float(service_rate)

            def ok(c):
                return erlang_c(lam, mu, c) * math.exp(-(c * mu - lam) * wait_s) <= max_probability

            lo = int(lam // mu) + 1
            hi = lo
            while not ok(hi):
                hi *= 2
            while lo < hi:  # P(Wq > t) falls as c grows
                mid = (lo + hi) // 2
                if ok(mid):
                    hi = mid
                else:
                    lo = mid + 1
            return lo
    """,
    ),
    mistake(
        ERLANG,
        "the textbook formula written literally (overflows past ~170 servers)",
        """
        import math

        def erlang_c(arrival_rate, service_rate, servers):
            a = arrival_rate / service_rate
            if a >= servers:
                raise ValueError("unstable")
            top = a**servers / math.factorial(servers) * servers / (servers - a)
            return top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)

        def replicas_for_wait(arrival_rate, service_rate, wait_s, max_probability):
            if not 0 < max_probability <= 1:
                raise ValueError("max_probability outside (0, 1]")
            c = math.floor(arrival_rate / service_rate) + 1
            while erlang_c(arrival_rate, service_rate, c) * math.exp(
                -(c * service_rate - arrival_rate) * wait_s
            ) > max_probability:
                c += 1
            return c
    """,
    ),
    mistake(
        ERLANG,
        "sizes on P(wait) alone and forgets the exp(-(c mu - lambda) t) factor",
        """
        def erlang_c(arrival_rate, service_rate, servers):
            a = arrival_rate / service_rate
            if a >= servers:
                raise ValueError("unstable")
            b = 1.0
            for k in range(1, int(servers) + 1):
                b = a * b / (k + a * b)
            return servers * b / (servers - a * (1 - b))

        def replicas_for_wait(arrival_rate, service_rate, wait_s, max_probability):
            if not 0 < max_probability <= 1:
                raise ValueError("max_probability outside (0, 1]")
            c = math.floor(arrival_rate / service_rate) + 1
            while erlang_c(arrival_rate, service_rate, c) > max_probability:
                c += 1
            return c
    """,
    ),
    mistake(
        ERLANG,
        "starts the search at ceil(a): an integer load a is refused as unstable",
        """
        def erlang_c(arrival_rate, service_rate, servers):
            a = arrival_rate / service_rate
            if a >= servers:
                raise ValueError("unstable")
            b = 1.0
            for k in range(1, int(servers) + 1):
                b = a * b / (k + a * b)
            return servers * b / (servers - a * (1 - b))

        def replicas_for_wait(arrival_rate, service_rate, wait_s, max_probability):
            if not 0 < max_probability <= 1:
                raise ValueError("max_probability outside (0, 1]")
            c = math.ceil(arrival_rate / service_rate)
            while erlang_c(arrival_rate, service_rate, c) * math.exp(
                -(c * service_rate - arrival_rate) * wait_s
            ) > max_probability:
                c += 1
            return c
    """,
    ),
    mistake(
        ERLANG,
        "no check of max_probability",
        """
        def erlang_c(arrival_rate, service_rate, servers):
            a = arrival_rate / service_rate
            if a >= servers:
                raise ValueError("unstable")
            b = 1.0
            for k in range(1, int(servers) + 1):
                b = a * b / (k + a * b)
            return servers * b / (servers - a * (1 - b))

        def replicas_for_wait(arrival_rate, service_rate, wait_s, max_probability):
            c = math.floor(arrival_rate / service_rate) + 1
            while c < 100_000 and erlang_c(arrival_rate, service_rate, c) * math.exp(
                -(c * service_rate - arrival_rate) * wait_s
            ) > max_probability:
                c += 1
            return c
    """,
    ),
]

# --- Exercise 5: the HPA's behavior ----------------------------------------------------------

_HPA_TEMPLATE = """
import math
from collections import deque


class HPABehavior:
    def __init__(self, min_replicas, max_replicas, scale_up=None, scale_down=None):
        defaults = (
            {"window_s": 0, "policies": [("Pods", 4, 15), ("Percent", 100, 15)], "select": "Max"},
            {"window_s": 300, "policies": [("Percent", 100, 15)], "select": "Max"},
        )
        self.bounds = (min_replicas, max_replicas)
        self.rules = {}
        for name, given, default in zip(("up", "down"), (scale_up, scale_down), defaults):
            rules = default if given is None else given
            if rules["select"] not in {"Max", "Min", "Disabled"}:
                raise ValueError("select must be Max, Min or Disabled")
            if any(p[0] not in {"Pods", "Percent"} for p in rules["policies"]):
                raise ValueError("policy types are Pods and Percent")
            self.rules[name] = rules
        self.history = deque()  # (time, recommendation)
        self.scaled = []  # (time, +/- change)
        self.clock = None

    def _in(self, t, now_s, length):
        return WINDOW_TEST

    def _period_start(self, now_s, current, period_s):
        start = current
        for t, change in self.scaled:
            if EVENTS_IN_PERIOD:
                start -= change
        return start

    def _limit(self, direction, now_s, current):
        rules = self.rules[direction]
        if rules["select"] == "Disabled":
            return current
        limits = []
        for kind, value, period_s in rules["policies"]:
            start = self._period_start(now_s, current, period_s)
            if direction == "up":
                limits.append(start + value if kind == "Pods" else math.ceil(start * (1 + value / 100)))
            else:
                limits.append(start - value if kind == "Pods" else PERCENT_DOWN)
        if direction == "up":
            return max(limits) if rules["select"] == "Max" else min(limits)
        return DOWN_PICK

    def step(self, now_s, current_replicas, recommended_replicas):
        if self.clock is not None and now_s < self.clock:
            raise ValueError("now_s must not go backwards")
        if FIRST_RECORD and self.clock is None:
            self.history.append((now_s, current_replicas))
        self.clock = now_s
        lo, hi = self.bounds
        cur = current_replicas
        if cur > hi:
            new = hi
        elif cur < lo:
            new = lo
        else:
            ups = [r for t, r in self.history if self._in(t, now_s, self.rules["up"]["window_s"])]
            downs = [r for t, r in self.history if self._in(t, now_s, self.rules["down"]["window_s"])]
            self.history.append((now_s, recommended_replicas))
            target = min(max(cur, min(ups + [recommended_replicas])), max(downs + [recommended_replicas]))
            if target > cur:
                new = min(target, hi, max(self._limit("up", now_s, cur), cur))
            elif target < cur:
                new = max(target, lo, min(self._limit("down", now_s, cur), cur))
            else:
                new = cur
        if new != cur:
            self.scaled.append((now_s, new - cur))
        return new
"""

_HPA_RIGHT = {
    "WINDOW_TEST": "t > now_s - length",
    "EVENTS_IN_PERIOD": "t > now_s - period_s",
    "PERCENT_DOWN": "int(start * (1 - value / 100))",
    "DOWN_PICK": 'min(limits) if rules["select"] == "Max" else max(limits)',
    "FIRST_RECORD": "True",
}


def _hpa(**changes: str) -> str:
    source = _HPA_TEMPLATE
    for key, value in {**_HPA_RIGHT, **changes}.items():
        source = source.replace(key, value)
    return source


CASES += [
    honest(HPA, "deque of recommendations, signed event list, helpers per step", _hpa()),
    honest(
        HPA,
        "integer arithmetic for the percentages, events kept per direction",
        """
        class HPABehavior:
            def __init__(self, min_replicas, max_replicas, scale_up=None, scale_down=None):
                up = scale_up or {"window_s": 0, "select": "Max",
                                  "policies": [("Pods", 4, 15), ("Percent", 100, 15)]}
                down = scale_down or {"window_s": 300, "select": "Max",
                                      "policies": [("Percent", 100, 15)]}
                for r in (up, down):
                    if r["select"] not in ("Max", "Min", "Disabled"):
                        raise ValueError(f"unknown select {r['select']!r}")
                    for p in r["policies"]:
                        if p[0] not in ("Pods", "Percent"):
                            raise ValueError(f"unknown policy type {p[0]!r}")
                self.lo, self.hi, self.up, self.down = min_replicas, max_replicas, up, down
                self.recs, self.ups, self.downs, self.t = [], [], [], None

            def step(self, now_s, current_replicas, recommended_replicas):
                if self.t is None:
                    self.recs.append((now_s, current_replicas))
                elif now_s < self.t:
                    raise ValueError("time went backwards")
                self.t = now_s
                cur = current_replicas
                if cur > self.hi or cur < self.lo:
                    new = self.hi if cur > self.hi else self.lo
                else:
                    rec = recommended_replicas
                    up_rec = down_rec = rec
                    for t, r in self.recs:
                        if t > now_s - self.up["window_s"]:
                            up_rec = min(up_rec, r)
                        if t > now_s - self.down["window_s"]:
                            down_rec = max(down_rec, r)
                    self.recs.append((now_s, rec))
                    want = min(max(cur, up_rec), down_rec)
                    new = want
                    if want != cur:
                        going_up = want > cur
                        rules = self.up if going_up else self.down
                        limits = []
                        for kind, value, period in rules["policies"]:
                            added = sum(n for t, n in self.ups if t > now_s - period)
                            removed = sum(n for t, n in self.downs if t > now_s - period)
                            start = cur - added + removed
                            if kind == "Pods":
                                limits.append(start + value if going_up else start - value)
                            elif going_up:
                                limits.append(-((-start * (100 + value)) // 100))
                            else:
                                limits.append((start * (100 - value)) // 100)
                        if rules["select"] == "Disabled":
                            limit = cur
                        elif (rules["select"] == "Max") == going_up:
                            limit = max(limits)
                        else:
                            limit = min(limits)
                        if going_up:
                            new = min(want, self.hi, max(limit, cur))
                        else:
                            new = max(want, self.lo, min(limit, cur))
                if new > cur:
                    self.ups.append((now_s, new - cur))
                elif new < cur:
                    self.downs.append((now_s, cur - new))
                return new
    """,
    ),
    mistake(
        HPA,
        "window includes the record exactly window_s old (>= instead of >)",
        _hpa(WINDOW_TEST="t >= now_s - length"),
    ),
    mistake(
        HPA,
        "a period includes the event exactly period_s old",
        _hpa(EVENTS_IN_PERIOD="t >= now_s - period_s"),
    ),
    mistake(
        HPA,
        "Percent scale-down rounds the removed pods down instead of truncating the remaining",
        _hpa(PERCENT_DOWN="start - int(start * value / 100)"),
    ),
    mistake(
        HPA,
        "policy limits from the current count, ignoring earlier events in the period",
        _hpa(EVENTS_IN_PERIOD="False"),
    ),
    mistake(
        HPA,
        "Max on scale-down takes the highest limit (the smallest change)",
        _hpa(DOWN_PICK='max(limits) if rules["select"] == "Max" else min(limits)'),
    ),
    mistake(
        HPA,
        "the first call does not record the current count",
        _hpa(FIRST_RECORD="False"),
    ),
    # --- Exercise 6: sizing the static pool (tune) ----------------------------------------------
    honest(
        SIZE,
        "own Erlang B loop over the profile's rates, no replicas_for_wait",
        """
        import math

        def size_pool(profile, replica_rps, wait_s, max_probability):
            lam = max(float(x) for x in profile.rate_rps)
            a = lam / replica_rps
            c = int(a) + 1
            while True:
                b = 1.0
                for k in range(1, c + 1):
                    b = a * b / (k + a * b)
                p_wait = c * b / (c - a * (1 - b))
                if p_wait * math.exp(-(c * replica_rps - lam) * wait_s) <= max_probability:
                    return c
                c += 1


        ERLANG_REPLICAS = size_pool(day, CAPACITY, wait_s=0.010, max_probability=0.001)
    """,
    ),
    mistake(
        SIZE,
        "sizes for the mean rate of the day",
        """
        def size_pool(profile, replica_rps, wait_s, max_probability):
            return replicas_for_wait(float(profile.rate_rps.mean()), replica_rps, wait_s,
                                     max_probability)


        ERLANG_REPLICAS = size_pool(day, CAPACITY, wait_s=0.010, max_probability=0.001)
    """,
    ),
    mistake(
        SIZE,
        "keeps the 70% rule",
        """
        def size_pool(profile, replica_rps, wait_s, max_probability):
            return math.ceil(profile.peak_rps / (0.7 * replica_rps))


        ERLANG_REPLICAS = size_pool(day, CAPACITY, wait_s=0.010, max_probability=0.001)
    """,
    ),
    mistake(
        SIZE,
        "just enough to be stable (c = floor(a) + 1)",
        """
        def size_pool(profile, replica_rps, wait_s, max_probability):
            return math.floor(profile.peak_rps / replica_rps) + 1


        ERLANG_REPLICAS = size_pool(day, CAPACITY, wait_s=0.010, max_probability=0.001)
    """,
    ),
]
