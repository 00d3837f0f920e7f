"""Lab 01: honest rewrites and typical mistakes, per exercise (see ``__init__``)."""

from mistakes import honest, mistake

TIMER = "01_gpu_training_timer"
SCALER = "01_gpu_training_loss_scaler"
MFU = "01_gpu_training_mfu"
BACKOFF = "01_gpu_training_backoff"
SOFTMAX = "01_gpu_training_online_softmax"
SAMPLER = "01_gpu_training_sampler"
ALLREDUCE = "01_gpu_training_allreduce"

CASES = [
    honest(
        TIMER,
        "while loop, perf_counter_ns",
        """
        import time as clock

        def synchronized_times(fn, sync, warmup, repeat):
            n = 0
            while n < warmup:
                fn()
                n += 1
            out = []
            while len(out) < repeat:
                sync()
                t0 = clock.perf_counter_ns()
                fn()
                sync()
                out.append((clock.perf_counter_ns() - t0) / 1e9)
            return out
    """,
    ),
    mistake(
        TIMER,
        "times the whole loop and returns its average",
        """
        def synchronized_times(fn, sync, warmup, repeat):
            for _ in range(warmup):
                fn()
            sync()
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            sync()
            return [(time.perf_counter() - start) / repeat] * repeat
    """,
    ),
    mistake(
        TIMER,
        "no sync before starting the clock: warm-up work leaks in",
        """
        def synchronized_times(fn, sync, warmup, repeat):
            for _ in range(warmup):
                fn()
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                sync()
                times.append(time.perf_counter() - start)
            return times
    """,
    ),
    mistake(
        TIMER,
        "no sync after the call: times the launch only",
        """
        def synchronized_times(fn, sync, warmup, repeat):
            for _ in range(warmup):
                fn()
            times = []
            for _ in range(repeat):
                sync()
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            return times
    """,
    ),
    honest(
        SCALER,
        "multiplies by 1/s, one stacked finiteness check, own messages",
        """
        class DynamicLossScaler:
            def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                         growth_interval=2000):
                checks = [(init_scale > 0, "init_scale > 0"), (growth_factor > 1, "growth_factor > 1"),
                          (0 < backoff_factor < 1, "0 < backoff_factor < 1"),
                          (isinstance(growth_interval, int) and growth_interval >= 1,
                           "integer growth_interval >= 1")]
                for ok, rule in checks:
                    if not ok:
                        raise ValueError("need " + rule)
                self.s, self.g, self.b, self.n = init_scale, growth_factor, backoff_factor, growth_interval
                self.streak, self.bad = 0, False

            def scale(self, loss):
                return self.s * loss

            def step(self, optimizer):
                inv = 1.0 / self.s
                grads = [p.grad for grp in optimizer.param_groups for p in grp["params"]
                         if p.grad is not None]
                for g in grads:
                    g.mul_(inv)
                self.bad = not bool(torch.stack([torch.isfinite(g).all() for g in grads]).all())
                if not self.bad:
                    optimizer.step()

            def update(self):
                if self.bad:
                    self.s, self.streak = self.s * self.b, 0
                    return
                self.streak += 1
                if self.streak >= self.n:
                    self.s, self.streak = self.s * self.g, 0

            def get_scale(self):
                return float(self.s)
    """,
    ),
    mistake(
        SCALER,
        "checks for inf only: a NaN step goes through",
        """
        class DynamicLossScaler:
            def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                         growth_interval=2000):
                if not (init_scale > 0 and growth_factor > 1 and 0 < backoff_factor < 1):
                    raise ValueError("bad factors")
                if not isinstance(growth_interval, int) or growth_interval < 1:
                    raise ValueError("bad growth_interval")
                self.s, self.g, self.b, self.n = init_scale, growth_factor, backoff_factor, growth_interval
                self.streak, self.bad = 0, False

            def scale(self, loss):
                return loss * self.s

            def step(self, optimizer):
                self.bad = False
                for grp in optimizer.param_groups:
                    for p in grp["params"]:
                        if p.grad is not None:
                            p.grad.div_(self.s)
                            self.bad = self.bad or bool(torch.isinf(p.grad).any())
                if not self.bad:
                    optimizer.step()

            def update(self):
                if self.bad:
                    self.s, self.streak = self.s * self.b, 0
                else:
                    self.streak += 1
                    if self.streak == self.n:
                        self.s, self.streak = self.s * self.g, 0

            def get_scale(self):
                return float(self.s)
    """,
    ),
    mistake(
        SCALER,
        "keeps counting good steps across an overflow",
        """
        class DynamicLossScaler:
            def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                         growth_interval=2000):
                if not (init_scale > 0 and growth_factor > 1 and 0 < backoff_factor < 1):
                    raise ValueError("bad factors")
                if not isinstance(growth_interval, int) or growth_interval < 1:
                    raise ValueError("bad growth_interval")
                self.s, self.g, self.b, self.n = init_scale, growth_factor, backoff_factor, growth_interval
                self.streak, self.bad = 0, False

            def scale(self, loss):
                return loss * self.s

            def step(self, optimizer):
                self.bad = False
                for grp in optimizer.param_groups:
                    for p in grp["params"]:
                        if p.grad is not None:
                            p.grad.div_(self.s)
                            self.bad = self.bad or not bool(torch.isfinite(p.grad).all())
                if not self.bad:
                    optimizer.step()

            def update(self):
                if self.bad:
                    self.s *= self.b
                else:
                    self.streak += 1
                    if self.streak == self.n:
                        self.s, self.streak = self.s * self.g, 0

            def get_scale(self):
                return float(self.s)
    """,
    ),
    mistake(
        SCALER,
        "looks only at the first parameter's gradient",
        """
        class DynamicLossScaler:
            def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                         growth_interval=2000):
                if not (init_scale > 0 and growth_factor > 1 and 0 < backoff_factor < 1):
                    raise ValueError("bad factors")
                if not isinstance(growth_interval, int) or growth_interval < 1:
                    raise ValueError("bad growth_interval")
                self.s, self.g, self.b, self.n = init_scale, growth_factor, backoff_factor, growth_interval
                self.streak, self.bad = 0, False

            def scale(self, loss):
                return loss * self.s

            def step(self, optimizer):
                grads = [p.grad for grp in optimizer.param_groups for p in grp["params"]
                         if p.grad is not None]
                for g in grads:
                    g.div_(self.s)
                self.bad = not bool(torch.isfinite(grads[0]).all())
                if not self.bad:
                    optimizer.step()

            def update(self):
                if self.bad:
                    self.s, self.streak = self.s * self.b, 0
                else:
                    self.streak += 1
                    if self.streak == self.n:
                        self.s, self.streak = self.s * self.g, 0

            def get_scale(self):
                return float(self.s)
    """,
    ),
    honest(
        MFU,
        "float arithmetic, explicit check",
        """
        def train_flops_per_token(n_params, n_layers, n_heads, head_dim, seq_len):
            attention = 12 * n_layers * n_heads * head_dim * seq_len
            return 6 * n_params + attention

        def mfu(tokens_per_s, flops_per_token, peak_flops):
            if peak_flops <= 0:
                raise ValueError("peak must be > 0")
            achieved = float(tokens_per_s) * float(flops_per_token)
            return achieved / float(peak_flops)
    """,
    ),
    mistake(
        MFU,
        "6N only: forgets the attention FLOPs",
        """
        def train_flops_per_token(n_params, n_layers, n_heads, head_dim, seq_len):
            return 6 * n_params

        def mfu(tokens_per_s, flops_per_token, peak_flops):
            if peak_flops <= 0:
                raise ValueError("peak must be > 0")
            return tokens_per_s * flops_per_token / peak_flops
    """,
    ),
    mistake(
        MFU,
        "MFU as a percentage",
        """
        def train_flops_per_token(n_params, n_layers, n_heads, head_dim, seq_len):
            return 6 * n_params + 12 * n_layers * n_heads * head_dim * seq_len

        def mfu(tokens_per_s, flops_per_token, peak_flops):
            if peak_flops <= 0:
                raise ValueError("peak must be > 0")
            return 100 * tokens_per_s * flops_per_token / peak_flops
    """,
    ),
    mistake(
        MFU,
        "only zero is refused, a negative peak is not",
        """
        def train_flops_per_token(n_params, n_layers, n_heads, head_dim, seq_len):
            return 6 * n_params + 12 * n_layers * n_heads * head_dim * seq_len

        def mfu(tokens_per_s, flops_per_token, peak_flops):
            if peak_flops == 0:
                raise ValueError("peak must be > 0")
            return tokens_per_s * flops_per_token / peak_flops
    """,
    ),
    honest(
        BACKOFF,
        "recursive",
        """
        def largest_batch_that_fits(step, start, min_batch_size=1, _tried=None):
            tried = [] if _tried is None else _tried
            tried.append(start)
            try:
                step(start)
            except torch.cuda.OutOfMemoryError:
                if start // 2 < min_batch_size:
                    raise
                return largest_batch_that_fits(step, start // 2, min_batch_size, tried)
            return start, tried
    """,
    ),
    mistake(
        BACKOFF,
        "catches every exception, so a bug is retried as if out of memory",
        """
        def largest_batch_that_fits(step, start, min_batch_size=1):
            batch_size, tried = start, []
            while True:
                tried.append(batch_size)
                try:
                    step(batch_size)
                    return batch_size, tried
                except Exception:
                    if batch_size // 2 < min_batch_size:
                        raise
                batch_size //= 2
    """,
    ),
    mistake(
        BACKOFF,
        "halves with / (float sizes)",
        """
        def largest_batch_that_fits(step, start, min_batch_size=1):
            batch_size, tried = start, []
            while True:
                tried.append(batch_size)
                try:
                    step(batch_size)
                    return batch_size, tried
                except torch.cuda.OutOfMemoryError:
                    if batch_size / 2 < min_batch_size:
                        raise
                batch_size /= 2
    """,
    ),
    mistake(
        BACKOFF,
        "returns the smallest size instead of raising when nothing fits",
        """
        def largest_batch_that_fits(step, start, min_batch_size=1):
            batch_size, tried = start, []
            while batch_size >= min_batch_size:
                tried.append(batch_size)
                try:
                    step(batch_size)
                    return batch_size, tried
                except torch.cuda.OutOfMemoryError:
                    batch_size //= 2
            return min_batch_size, tried
    """,
    ),
    honest(
        SOFTMAX,
        "NumPy, running log-sum-exp with logaddexp",
        """
        import numpy

        def online_softmax_stats(tiles):
            top = lse = None
            for tile in tiles:
                a = numpy.asarray(tile, dtype=numpy.float64)
                t_max = a.max(axis=1)
                t_lse = t_max + numpy.log(numpy.exp(a - t_max[:, None]).sum(axis=1))
                top = t_max if top is None else numpy.maximum(top, t_max)
                lse = t_lse if lse is None else numpy.logaddexp(lse, t_lse)
            return top, numpy.exp(lse - top)
    """,
    ),
    mistake(
        SOFTMAX,
        "forgets to rescale the running sum when the maximum grows",
        """
        def online_softmax_stats(tiles):
            m = l_sum = None
            for tile in tiles:
                t_max = tile.amax(dim=1)
                if m is None:
                    m, l_sum = torch.full_like(t_max, -torch.inf), torch.zeros_like(t_max)
                m = torch.maximum(m, t_max)
                l_sum = l_sum + torch.exp(tile - m[:, None]).sum(dim=1)
            return m, l_sum
    """,
    ),
    mistake(
        SOFTMAX,
        "collects the tiles and concatenates them (memory of the whole row)",
        """
        def online_softmax_stats(tiles):
            x = torch.cat(list(tiles), dim=1)
            m = x.amax(dim=1)
            return m, torch.exp(x - m[:, None]).sum(dim=1)
    """,
    ),
    mistake(
        SOFTMAX,
        "starts the running maximum at 0 instead of -inf",
        """
        def online_softmax_stats(tiles):
            m = l_sum = None
            for tile in tiles:
                t_max = tile.amax(dim=1)
                if m is None:
                    m, l_sum = torch.zeros_like(t_max), torch.zeros_like(t_max)
                new = torch.maximum(m, t_max)
                l_sum = l_sum * torch.exp(m - new) + torch.exp(tile - new[:, None]).sum(dim=1)
                m = new
            return m, l_sum
    """,
    ),
    mistake(
        SOFTMAX,
        "sums raw exponentials, shifts at the end",
        """
        def online_softmax_stats(tiles):
            m = total = None
            for tile in tiles:
                t_max, t_sum = tile.amax(dim=1), torch.exp(tile).sum(dim=1)
                m = t_max if m is None else torch.maximum(m, t_max)
                total = t_sum if total is None else total + t_sum
            return m, total / torch.exp(m)
    """,
    ),
    honest(
        SAMPLER,
        "itertools cycle, own messages",
        """
        import itertools

        def sampler_indices(n_samples, rank, world_size):
            if n_samples < 1:
                raise ValueError("empty dataset")
            if world_size < 1 or rank < 0 or rank >= world_size:
                raise ValueError("bad rank/world_size")
            per_rank = (n_samples + world_size - 1) // world_size
            padded = list(itertools.islice(itertools.cycle(range(n_samples)), per_rank * world_size))
            return [padded[rank + k * world_size] for k in range(per_rank)]
    """,
    ),
    mistake(
        SAMPLER,
        "contiguous blocks",
        """
        def sampler_indices(n_samples, rank, world_size):
            if n_samples < 1 or world_size < 1 or not 0 <= rank < world_size:
                raise ValueError("bad arguments")
            per = -(-n_samples // world_size)
            padded = [i % n_samples for i in range(per * world_size)]
            return padded[rank * per : (rank + 1) * per]
    """,
    ),
    mistake(
        SAMPLER,
        "no padding: ranks get different lengths",
        """
        def sampler_indices(n_samples, rank, world_size):
            if n_samples < 1 or world_size < 1 or not 0 <= rank < world_size:
                raise ValueError("bad arguments")
            return list(range(n_samples))[rank::world_size]
    """,
    ),
    mistake(
        SAMPLER,
        "pads by repeating the last index",
        """
        def sampler_indices(n_samples, rank, world_size):
            if n_samples < 1 or world_size < 1 or not 0 <= rank < world_size:
                raise ValueError("bad arguments")
            total = -(-n_samples // world_size) * world_size
            padded = list(range(n_samples)) + [n_samples - 1] * (total - n_samples)
            return padded[rank::world_size]
    """,
    ),
    honest(
        ALLREDUCE,
        "while loop over a reversed list, torch's flatten helpers",
        """
        from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

        def allreduce_gradients(params, bucket_bytes):
            todo = [p for p in params][::-1]
            todo = [p for p in todo if p.grad is not None]
            sizes, i = [], 0
            while i < len(todo):
                bucket = [todo[i]]
                used = todo[i].grad.nelement() * todo[i].grad.element_size()
                i += 1
                while i < len(todo):
                    nxt = todo[i].grad.nelement() * todo[i].grad.element_size()
                    if used + nxt > bucket_bytes:
                        break
                    bucket.append(todo[i])
                    used += nxt
                    i += 1
                grads = [p.grad for p in bucket]
                flat = _flatten_dense_tensors(grads)
                dist.all_reduce(flat, op=dist.ReduceOp.SUM)
                flat.div_(dist.get_world_size())
                for g, reduced in zip(grads, _unflatten_dense_tensors(flat, grads)):
                    g.copy_(reduced)
                sizes.append(used)
            return sizes
    """,
    ),
    mistake(
        ALLREDUCE,
        "sums without dividing by the world size",
        """
        def allreduce_gradients(params, bucket_bytes):
            buckets, cur, size = [], [], 0
            for p in reversed(list(params)):
                if p.grad is None:
                    continue
                nb = p.grad.numel() * p.grad.element_size()
                if cur and size + nb > bucket_bytes:
                    buckets.append(cur)
                    cur, size = [], 0
                cur.append(p)
                size += nb
            if cur:
                buckets.append(cur)
            out = []
            for b in buckets:
                flat = torch.cat([p.grad.reshape(-1) for p in b])
                dist.all_reduce(flat)
                off = 0
                for p in b:
                    p.grad.copy_(flat[off : off + p.grad.numel()].view_as(p.grad))
                    off += p.grad.numel()
                out.append(flat.numel() * 4)
            return out
    """,
    ),
    mistake(
        ALLREDUCE,
        "one all-reduce per parameter, no buckets",
        """
        def allreduce_gradients(params, bucket_bytes):
            sizes = []
            for p in reversed(list(params)):
                if p.grad is None:
                    continue
                dist.all_reduce(p.grad)
                p.grad /= dist.get_world_size()
                sizes.append(p.grad.numel() * p.grad.element_size())
            return sizes
    """,
    ),
    mistake(
        ALLREDUCE,
        "buckets in forward order",
        """
        def allreduce_gradients(params, bucket_bytes):
            buckets, cur, size = [], [], 0
            for p in params:
                if p.grad is None:
                    continue
                nb = p.grad.numel() * p.grad.element_size()
                if cur and size + nb > bucket_bytes:
                    buckets.append(cur)
                    cur, size = [], 0
                cur.append(p)
                size += nb
            if cur:
                buckets.append(cur)
            out = []
            for b in buckets:
                flat = torch.cat([p.grad.reshape(-1) for p in b])
                dist.all_reduce(flat)
                flat /= dist.get_world_size()
                off = 0
                for p in b:
                    p.grad.copy_(flat[off : off + p.grad.numel()].view_as(p.grad))
                    off += p.grad.numel()
                out.append(flat.numel() * flat.element_size())
            return out
    """,
    ),
    mistake(
        ALLREDUCE,
        "closes a bucket when it would reach the cap (< instead of ≤)",
        """
        def allreduce_gradients(params, bucket_bytes):
            buckets, cur, size = [], [], 0
            for p in reversed(list(params)):
                if p.grad is None:
                    continue
                nb = p.grad.numel() * p.grad.element_size()
                if cur and size + nb >= bucket_bytes:
                    buckets.append(cur)
                    cur, size = [], 0
                cur.append(p)
                size += nb
            if cur:
                buckets.append(cur)
            out = []
            for b in buckets:
                flat = torch.cat([p.grad.reshape(-1) for p in b])
                dist.all_reduce(flat)
                flat /= dist.get_world_size()
                off = 0
                for p in b:
                    p.grad.copy_(flat[off : off + p.grad.numel()].view_as(p.grad))
                    off += p.grad.numel()
                out.append(flat.numel() * flat.element_size())
            return out
    """,
    ),
    mistake(
        ALLREDUCE,
        "reduces a flat copy and never writes it back",
        """
        def allreduce_gradients(params, bucket_bytes):
            buckets, cur, size = [], [], 0
            for p in reversed(list(params)):
                if p.grad is None:
                    continue
                nb = p.grad.numel() * p.grad.element_size()
                if cur and size + nb > bucket_bytes:
                    buckets.append(cur)
                    cur, size = [], 0
                cur.append(p)
                size += nb
            if cur:
                buckets.append(cur)
            out = []
            for b in buckets:
                flat = torch.cat([p.grad.reshape(-1) for p in b])
                dist.all_reduce(flat)
                flat /= dist.get_world_size()
                out.append(flat.numel() * flat.element_size())
            return out
    """,
    ),
]
