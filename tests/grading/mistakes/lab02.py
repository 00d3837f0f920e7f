"""Lab 02 (inference latency): honest rewrites and typical mistakes for every exercise."""

from mistakes import honest, mistake

# -- 02_latency_summary ------------------------------------------------------------------------

_SUMMARY_HONEST = """
def latency_summary(times, batch_size=1):
    import statistics

    values = sorted(float(t) for t in times)
    if not values:
        raise ValueError("latency_summary needs at least one time, got none")

    def pct(q):  # linear interpolation between closest ranks, as numpy's default
        pos = (len(values) - 1) * q / 100
        lo = int(pos)
        hi = min(lo + 1, len(values) - 1)
        return values[lo] + (values[hi] - values[lo]) * (pos - lo)

    mean = statistics.fmean(values)
    out = {f"p{q}": pct(q) for q in (50, 90, 95, 99)}
    out["mean"] = mean
    out["throughput_per_s"] = batch_size * len(values) / sum(values)
    return out
"""

_SUMMARY_TEMPLATE = """
def latency_summary(times, batch_size=1):
    t = np.sort(np.asarray(times, dtype=float))
    if t.size == 0:
        raise ValueError("empty")
    out = {{}}
    for q in (50, 90, 95, 99):
        out[f"p{{q}}"] = {pct}
    out["mean"] = float(t.mean())
    out["throughput_per_s"] = {thr}
    return out
"""

# -- 02_latency_vectorize ----------------------------------------------------------------------

_VEC = """
def preprocess_fast(records, mean, std, clip=5.0):
    x = {load}
    z = {body}
    return {ret}
"""


def _vec(load="np.array(records, dtype=np.float64)", body="(x - mean) / std", ret=None):
    ret = ret or "np.minimum(np.maximum(z, -clip), clip).astype(np.float32)"
    return _VEC.format(load=load, body=body, ret=ret)


# -- 02_latency_export -------------------------------------------------------------------------

_EXPORT = """
def export_onnx_dynamic(model, example, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={axes},
            dynamo=False,
        )
    return path


def max_abs_error(model, run, x):
    with torch.no_grad():
        want = model(x).double()
    got = torch.as_tensor(np.asarray(run(x.numpy())), dtype=torch.float64)
    return {err}
"""
_AXES_BOTH = '{"x": {0: "n"}, "y": {0: "n"}}'


def _export(axes=_AXES_BOTH, err="float((got - want).abs().max())"):
    return _EXPORT.format(axes=axes, err=err)


# -- 02_latency_int8 ---------------------------------------------------------------------------

_INT8_HONEST = """
def quantize_weights(w):
    w = np.asarray(w, dtype=np.float64)
    q = np.zeros(w.shape, dtype=np.int8)
    scale = np.ones(w.shape[0], dtype=np.float32)
    for r in range(w.shape[0]):
        m = np.max(np.abs(w[r]))
        if m > 0:
            scale[r] = m / 127
        q[r] = np.clip(np.round(w[r] / np.float64(scale[r])), -127, 127).astype(np.int8)
    return q, scale


def quantize_activations(x):
    x = np.asarray(x, dtype=np.float64)
    lo = min(0.0, x.min())
    hi = max(0.0, x.max())
    scale = 1.0 if hi == lo else (hi - lo) / 255
    zp = int(min(255, max(0, round(-lo / scale))))
    q = np.clip(np.round(x / scale) + zp, 0, 255).astype(np.uint8)
    return q, scale, zp


def int32_matmul(q_x, x_zero_point, q_w):
    a = q_x.astype(np.int64) - int(x_zero_point)
    acc = np.einsum("nk,ok->no", a, q_w.astype(np.int64))
    return acc.astype(np.int32)


def int8_linear(x, q_w, w_scale, bias):
    q_x, s_x, zp = quantize_activations(x)
    acc = int32_matmul(q_x, zp, q_w)
    out = acc.astype(np.float64) * s_x * np.asarray(w_scale, dtype=np.float64)[None, :]
    return (out + np.asarray(bias, dtype=np.float64)).astype(np.float32)
"""

_INT8_SOLUTION = """
def quantize_weights(w):
    w = np.asarray(w, dtype=np.float32)
    scale = np.abs(w).max(axis=1) / np.float32(127)
    scale = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float32)
    q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def quantize_activations(x):
    x = np.asarray(x, dtype=np.float32)
    lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = (hi - lo) / 255 if hi > lo else 1.0
    zero_point = int(np.clip(np.rint(-lo / scale), 0, 255))
    q = np.clip(np.rint(x / scale) + zero_point, 0, 255).astype(np.uint8)
    return q, scale, zero_point


def int32_matmul(q_x, x_zero_point, q_w):
    centred = q_x.astype(np.int32) - np.int32(x_zero_point)
    return centred @ q_w.astype(np.int32).T


def int8_linear(x, q_w, w_scale, bias):
    q_x, x_scale, zero_point = quantize_activations(x)
    acc = int32_matmul(q_x, zero_point, q_w)
    y = acc.astype(np.float32) * (np.float32(x_scale) * np.asarray(w_scale, dtype=np.float32))
    return (y + np.asarray(bias, dtype=np.float32)).astype(np.float32)
"""


def _int8(old: str, new: str) -> str:
    assert old in _INT8_SOLUTION, old
    return _INT8_SOLUTION.replace(old, new)


# -- 02_latency_distill ------------------------------------------------------------------------

_DISTILL = """
def distillation_loss(student_logits, teacher_logits, y, temperature=4.0, alpha=0.5):
    f = torch.nn.functional
    T = temperature
    log_q = f.log_softmax(student_logits / T, dim=-1)
    log_p = f.log_softmax(teacher_logits.detach() / T, dim=-1)
    soft = {soft}
    hard = {hard}
    return {total}
"""


def _distill(
    soft='f.kl_div(log_q, log_p, log_target=True, reduction="batchmean")',
    hard="f.cross_entropy(student_logits, y)",
    total="alpha * T * T * soft + (1 - alpha) * hard",
):
    return _DISTILL.format(soft=soft, hard=hard, total=total)


# -- 02_latency_batch_rule ---------------------------------------------------------------------

_BATCH = """
def batch_schedule(arrivals, max_batch_size, max_queue_delay_s, service_s):
    out, n, nxt, free = [], len(arrivals), 0, float("-inf")
    while nxt < n:
        oldest = arrivals[nxt]
        start = max(free, oldest)
        waiting = nxt
        while waiting < n and arrivals[waiting] <= start:
            waiting += 1
        deadline = {deadline}
        if {full_now}:
            t = start
        elif start >= deadline:
            t = start
        else:
            kth = nxt + max_batch_size - 1
            t = max(start, arrivals[kth]) if {early} else deadline
        end = nxt
        while end < n and arrivals[end] <= t and end - nxt < max_batch_size:
            end += 1
        out.append((t, list(range(nxt, end))))
        nxt = end
        free = {free}
    return out
"""


def _batch(
    deadline="oldest + max_queue_delay_s",
    full_now="waiting - nxt >= max_batch_size",
    early="kth < n and arrivals[kth] <= deadline",
    free="t + service_s",
):
    return _BATCH.format(deadline=deadline, full_now=full_now, early=early, free=free)


# -- 02_latency_slo ----------------------------------------------------------------------------

_SLO_HONEST = """
def choose_batching(rows, slo_s):
    ok = sorted(
        (r for r in rows if float(r["p99_s"]) <= float(slo_s)),
        key=lambda r: -float(r["throughput_per_s"]),
    )
    if len(ok) == 0:
        raise ValueError(f"none of {len(rows)} settings has p99 <= {slo_s} s")
    top = float(ok[0]["throughput_per_s"])
    best = None
    for r in ok:
        if float(r["throughput_per_s"]) < 0.95 * top:
            break
        if best is None or float(r["p99_s"]) < float(best["p99_s"]):
            best = r
    return (int(best["max_batch_size"]), float(best["max_queue_delay_s"]))
"""

_SLO = """
def choose_batching(rows, slo_s):
    rows = list(rows)
    meeting = [r for r in rows if {meets}]
    if not meeting:
        raise ValueError("no setting meets the SLO")
    pick = {pick}
    return int(pick["max_batch_size"]), float(pick["max_queue_delay_s"])
"""
_SLO_BAND = """(lambda best: min(
        [r for r in meeting if r["throughput_per_s"] >= 0.95 * best], key=lambda r: r["p99_s"]
    ))(max(r["throughput_per_s"] for r in meeting))"""


def _slo(meets='r["p99_s"] <= slo_s', pick=_SLO_BAND):
    return _SLO.format(meets=meets, pick=pick)


# -- 02_latency_cache --------------------------------------------------------------------------

_CACHE_HONEST = """
class ResultCache:
    def __init__(self, maxsize, ttl_s=None, clock=time.monotonic):
        if type(maxsize) is not int or maxsize <= 0:
            raise ValueError(f"maxsize must be a positive int, got {maxsize!r}")
        self.maxsize = maxsize
        self.ttl_s = ttl_s
        self.clock = clock
        self.values = {}  # a dict keeps insertion order: first key = least recently used
        self.stamps = {}
        self.hits = 0
        self.misses = 0

    def _expired(self, key):
        return self.ttl_s is not None and self.clock() - self.stamps[key] >= self.ttl_s

    def get(self, key):
        if key in self.values and self._expired(key):
            del self.values[key], self.stamps[key]
        if key not in self.values:
            self.misses += 1
            return None
        self.hits += 1
        value = self.values.pop(key)
        self.values[key] = value
        return value

    def put(self, key, value):
        if key in self.values:
            del self.values[key]
        elif len(self.values) == self.maxsize:
            oldest = next(iter(self.values))
            del self.values[oldest], self.stamps[oldest]
        self.values[key] = value
        self.stamps[key] = self.clock()
"""

_CACHE = """
class ResultCache:
    def __init__(self, maxsize, ttl_s=None, clock=time.monotonic):
        from collections import OrderedDict

        {check}
        self.maxsize, self.ttl_s, self.clock = maxsize, ttl_s, clock
        self._data = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key):
        entry = self._data.get(key)
        if entry is not None and self.ttl_s is not None and self.clock() - entry[1] >= self.ttl_s:
            del self._data[key]
            entry = None
        if entry is None:
            self.misses += 1
            return None
        {on_hit}
        self.hits += 1
        return entry[0]

    def put(self, key, value):
        {put}
"""
_CHECK = (
    "if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:\n"
    '            raise ValueError(f"maxsize must be an integer >= 1, got {maxsize!r}")'
)
_PUT = (
    "if key in self._data:\n"
    "            self._data.move_to_end(key)\n"
    "        elif len(self._data) >= self.maxsize:\n"
    "            self._data.popitem(last=False)\n"
    "        self._data[key] = (value, self.clock())"
)


def _cache(check=_CHECK, on_hit="self._data.move_to_end(key)", put=_PUT):
    return _CACHE.format(check=check, on_hit=on_hit, put=put)


# -- 02_latency_sql ----------------------------------------------------------------------------

_SQL_HONEST = """
def lookup_batched(conn, user_ids):
    wanted = [int(u) for u in user_ids]
    distinct = list(dict.fromkeys(wanted))
    placeholders = ", ".join(["?"] * len(distinct))
    cur = conn.cursor()
    cur.execute(
        "select user_id, vec from features where user_id in (" + placeholders + ")", distinct
    )
    by_id = {}
    for uid, blob in cur.fetchall():
        by_id[uid] = np.frombuffer(blob, dtype="<f4")
    unknown = [u for u in distinct if u not in by_id]
    if unknown:
        raise KeyError(f"no features for user ids {unknown[:5]}")
    out = np.empty((len(wanted), len(by_id[distinct[0]])), dtype=np.float32)
    for i, u in enumerate(wanted):
        out[i] = by_id[u]
    return out
"""

_SQL_FORMATTED = """
def lookup_batched(conn, user_ids):
    ids = [int(u) for u in user_ids]
    listed = ",".join(str(u) for u in sorted(set(ids)))
    rows = conn.execute(f"SELECT user_id, vec FROM features WHERE user_id IN ({listed})")
    found = {uid: np.frombuffer(blob, dtype=np.float32) for uid, blob in rows.fetchall()}
    missing = [u for u in ids if u not in found]
    if missing:
        raise KeyError(missing)
    return np.stack([found[u] for u in ids]).astype(np.float32)
"""

_SQL_EACH = """
def lookup_batched(conn, user_ids):
    out = []
    for u in user_ids:
        row = conn.execute("SELECT vec FROM features WHERE user_id IN (?)", (int(u),)).fetchone()
        if row is None:
            raise KeyError(u)
        out.append(np.frombuffer(row[0], dtype=np.float32))
    return np.stack(out)
"""

_SQL_DB_ORDER = """
def lookup_batched(conn, user_ids):
    ids = sorted(set(int(u) for u in user_ids))
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT user_id, vec FROM features WHERE user_id IN ({marks})", ids
    ).fetchall()
    if len(rows) < len(ids):
        raise KeyError("unknown user id")
    return np.stack([np.frombuffer(blob, dtype=np.float32) for _, blob in rows])
"""

_SQL_NO_KEYERROR = """
def lookup_batched(conn, user_ids):
    ids = [int(u) for u in user_ids]
    unique = sorted(set(ids))
    marks = ",".join("?" * len(unique))
    rows = conn.execute(f"SELECT user_id, vec FROM features WHERE user_id IN ({marks})", unique)
    found = {uid: np.frombuffer(blob, dtype=np.float32) for uid, blob in rows.fetchall()}
    width = len(next(iter(found.values())))
    return np.stack([found.get(u, np.zeros(width, np.float32)) for u in ids]).astype(np.float32)
"""


CASES = [
    # latency_summary
    honest("02_latency_summary", "sort and interpolate by hand, statistics.fmean", _SUMMARY_HONEST),
    mistake(
        "02_latency_summary",
        "throughput ignores batch_size",
        _SUMMARY_TEMPLATE.format(pct="float(np.percentile(t, q))", thr="1.0 / float(t.mean())"),
    ),
    mistake(
        "02_latency_summary",
        "nearest-rank percentiles",
        _SUMMARY_TEMPLATE.format(
            pct="float(t[min(len(t) - 1, int(q / 100 * len(t)))])",
            thr="batch_size / float(t.mean())",
        ),
    ),
    mistake(
        "02_latency_summary",
        "throughput from the median call",
        _SUMMARY_TEMPLATE.format(
            pct="float(np.percentile(t, q))", thr="batch_size / float(np.median(t))"
        ),
    ),
    # preprocess_fast
    honest("02_latency_vectorize", "np.minimum/np.maximum instead of np.clip", _vec()),
    mistake(
        "02_latency_vectorize",
        "forgets to clip",
        _vec(ret="z.astype(np.float32)"),
    ),
    mistake(
        "02_latency_vectorize",
        "returns float64",
        _vec(ret="np.clip(z, -clip, clip)"),
    ),
    mistake(
        "02_latency_vectorize",
        "clips the raw values, then standardizes",
        _vec(body="(np.clip(x, -clip, clip) - mean) / std", ret="z.astype(np.float32)"),
    ),
    mistake(
        "02_latency_vectorize",
        "divides before subtracting",
        _vec(body="x / std - mean"),
    ),
    # export + max_abs_error
    honest("02_latency_export", "other axis name, torch for the error", _export()),
    mistake(
        "02_latency_export",
        "signed difference (run - model)",
        _export(err="float((got - want).max())"),
    ),
    mistake(
        "02_latency_export",
        "signed difference (model - run)",
        _export(err="float((want - got).max())"),
    ),
    mistake(
        "02_latency_export",
        "ONNX's default names instead of x and y",
        _export(axes='{"input": {0: "n"}, "output": {0: "n"}}').replace(
            'input_names=["x"],\n            output_names=["y"],\n',
            'input_names=["input"],\n            output_names=["output"],\n',
        ),
    ),
    mistake(
        "02_latency_export",
        "mean absolute error",
        _export(err="float((got - want).abs().mean())"),
    ),
    mistake(
        "02_latency_export",
        "no dynamic axes (batch fixed by the example)",
        _export(axes="None"),
    ),
    # int8 by hand
    honest("02_latency_int8", "row loop, float64 scales, int64 einsum cast to int32", _INT8_HONEST),
    mistake(
        "02_latency_int8",
        "one weight scale for the whole matrix",
        _int8(
            "scale = np.abs(w).max(axis=1) / np.float32(127)",
            "scale = np.full(w.shape[0], np.abs(w).max() / np.float32(127), dtype=np.float32)",
        ),
    ),
    mistake(
        "02_latency_int8",
        "rounds halves up (floor(v + 0.5))",
        _int8(
            "q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)",
            "q = np.clip(np.floor(w / scale[:, None] + 0.5), -127, 127).astype(np.int8)",
        ),
    ),
    mistake(
        "02_latency_int8",
        "activation range from x.min() (does not include 0)",
        _int8(
            "lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))",
            "lo, hi = float(x.min()), float(x.max())",
        ),
    ),
    mistake(
        "02_latency_int8",
        "symmetric int8 activations",
        _int8(
            "    scale = (hi - lo) / 255 if hi > lo else 1.0\n"
            "    zero_point = int(np.clip(np.rint(-lo / scale), 0, 255))\n"
            "    q = np.clip(np.rint(x / scale) + zero_point, 0, 255).astype(np.uint8)",
            "    scale = max(-lo, hi) / 127 if hi > lo else 1.0\n"
            "    zero_point = 0\n"
            "    q = np.clip(np.rint(x / scale), -127, 127).astype(np.int8)",
        ),
    ),
    mistake(
        "02_latency_int8",
        "NumPy's uint8 @ int8 (int16 accumulator)",
        _int8(
            "    centred = q_x.astype(np.int32) - np.int32(x_zero_point)\n"
            "    return centred @ q_w.astype(np.int32).T",
            "    return (q_x @ q_w.T) - x_zero_point * q_w.sum(axis=1, dtype=np.int16)",
        ),
    ),
    mistake(
        "02_latency_int8",
        "subtracts the zero point in uint8 (wraps around)",
        _int8(
            "    centred = q_x.astype(np.int32) - np.int32(x_zero_point)",
            "    centred = (q_x - np.uint8(x_zero_point)).astype(np.int32)",
        ),
    ),
    mistake(
        "02_latency_int8",
        "accumulates in float32",
        _int8(
            "    return centred @ q_w.astype(np.int32).T",
            "    return centred.astype(np.float32) @ q_w.astype(np.float32).T",
        ),
    ),
    # distillation_loss
    honest("02_latency_distill", "F.kl_div with log_target, batchmean", _distill()),
    mistake(
        "02_latency_distill",
        "forgets T squared",
        _distill(total="alpha * soft + (1 - alpha) * hard"),
    ),
    mistake(
        "02_latency_distill",
        "KL the wrong way round",
        _distill(soft='f.kl_div(log_p, log_q, log_target=True, reduction="batchmean")'),
    ),
    mistake(
        "02_latency_distill",
        "cross-entropy on the softened logits",
        _distill(hard="f.cross_entropy(student_logits / T, y)"),
    ),
    mistake(
        "02_latency_distill",
        "kl_div averaged over classes too (reduction='mean')",
        _distill(soft='f.kl_div(log_q, log_p, log_target=True, reduction="mean")'),
    ),
    # batch_schedule
    honest("02_latency_batch_rule", "next-batch loop with an explicit deadline", _batch()),
    mistake(
        "02_latency_batch_rule",
        "ignores the model being busy",
        _batch(free='float("-inf")'),
    ),
    mistake(
        "02_latency_batch_rule",
        "delay counted from when the model frees up",
        _batch(deadline="start + max_queue_delay_s"),
    ),
    mistake(
        "02_latency_batch_rule",
        "a full batch still waits for the delay",
        _batch(full_now="False", early="False"),
    ),
    # choose_batching
    honest("02_latency_slo", "sort by throughput, scan the 5 % band", _SLO_HONEST),
    mistake(
        "02_latency_slo",
        "largest batch regardless of p99",
        _slo(
            meets="True",
            pick='max(meeting, key=lambda r: (r["max_batch_size"], r["max_queue_delay_s"]))',
        ),
    ),
    mistake(
        "02_latency_slo",
        "lowest p99 regardless of throughput",
        _slo(pick='min(meeting, key=lambda r: r["p99_s"])'),
    ),
    mistake(
        "02_latency_slo",
        "reads p50 for p99",
        _slo(meets='r["p50_s"] <= slo_s'),
    ),
    mistake(
        "02_latency_slo",
        "plain highest throughput (no 5 % band)",
        _slo(pick='max(meeting, key=lambda r: r["throughput_per_s"])'),
    ),
    mistake(
        "02_latency_slo",
        "a p99 exactly at the SLO counts as a miss",
        _slo(meets='r["p99_s"] < slo_s'),
    ),
    # ResultCache
    honest("02_latency_cache", "plain dicts, recency by pop and re-insert", _CACHE_HONEST),
    mistake(
        "02_latency_cache",
        "evicts when full even if the key is already cached",
        _cache(
            put="if len(self._data) >= self.maxsize:\n"
            "            self._data.popitem(last=False)\n"
            "        self._data[key] = (value, self.clock())\n"
            "        self._data.move_to_end(key)"
        ),
    ),
    mistake(
        "02_latency_cache",
        "an update keeps the key's old position",
        _cache(
            put="if key not in self._data and len(self._data) >= self.maxsize:\n"
            "            self._data.popitem(last=False)\n"
            "        self._data[key] = (value, self.clock())"
        ),
    ),
    mistake(
        "02_latency_cache",
        "a hit does not update recency (FIFO)",
        _cache(on_hit="pass"),
    ),
    mistake(
        "02_latency_cache",
        "an update keeps the old timestamp",
        _cache(
            put="if key in self._data:\n"
            "            self._data[key] = (value, self._data[key][1])\n"
            "            self._data.move_to_end(key)\n"
            "            return\n"
            "        if len(self._data) >= self.maxsize:\n"
            "            self._data.popitem(last=False)\n"
            "        self._data[key] = (value, self.clock())"
        ),
    ),
    mistake(
        "02_latency_cache",
        "no check of maxsize",
        _cache(check="pass"),
    ),
    # lookup_batched
    honest("02_latency_sql", "cursor, request-order dedup, explicit output array", _SQL_HONEST),
    mistake("02_latency_sql", "ids formatted into the SQL string", _SQL_FORMATTED),
    mistake("02_latency_sql", "one query per id (N+1)", _SQL_EACH),
    mistake("02_latency_sql", "rows in the database's order, repeats dropped", _SQL_DB_ORDER),
    mistake("02_latency_sql", "an unknown id gives zeros, no KeyError", _SQL_NO_KEYERROR),
]
