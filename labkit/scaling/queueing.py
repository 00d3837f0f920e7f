"""M/M/c queueing (Erlang C): how many replicas a latency target needs.

A pool of ``c`` identical servers, Poisson arrivals at rate λ, exponential service at rate μ per
server, one shared first-come-first-served queue. With offered load ``a = λ/μ`` and utilization
``ρ = a/c < 1``, Erlang's C formula gives the probability that a request has to wait,

    C(c, a) = [a^c/c! · c/(c−a)] / [Σ_{k<c} a^k/k! + a^c/c! · c/(c−a)],

and the waiting time is 0 with probability 1 − C and exponential with rate ``cμ − λ`` otherwise:
``P(Wq > t) = C · exp(−(cμ − λ) t)``, ``E[Wq] = C / (cμ − λ)`` (Kleinrock, *Queueing Systems*
vol. 1, §3.5). The factorials overflow for a few hundred servers, so C is computed from the
Erlang B recursion ``B(k) = a·B(k−1) / (k + a·B(k−1))``, ``C = c·B / (c − a(1 − B))``, which is
exact and stable for any ``c``.

Unstable systems (ρ ≥ 1) have no steady state: the functions raise ``ValueError`` then.

Examples
--------
>>> round(erlang_c(2.0, 1.0, 3), 4)
0.4444
>>> s = mmc(100.0, 20.0, 6)
>>> round(s.p_wait, 4), round(s.mean_wait_s * 1e3, 1)
(0.5875, 29.4)
>>> servers_for_wait(100.0, 20.0, wait_s=0.01, max_probability=0.05)
9
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from labkit._validate import check_int, check_real

__all__ = [
    "QueueStats",
    "erlang_b",
    "erlang_c",
    "mmc",
    "response_time_quantile",
    "servers_for_wait",
    "wait_probability",
]


def _load(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float, int]:
    """Validated (λ, μ, c); raises for an unstable system."""
    lam = check_real(arrival_rate, "arrival_rate", min_val=0, include_boundaries="neither")
    mu = check_real(service_rate, "service_rate", min_val=0, include_boundaries="neither")
    c = check_int(servers, "servers", min_val=1)
    rho = lam / (c * mu)
    if rho >= 1.0:
        raise ValueError(
            f"unstable queue: utilization ρ = arrival_rate / (servers · service_rate) = "
            f"{lam:g} / ({c} · {mu:g}) = {rho:.4g} ≥ 1; the queue grows without bound "
            f"(need servers > {lam / mu:.4g})"
        )
    return lam, mu, c


def erlang_b(offered_load: float, servers: int) -> float:
    """Erlang B blocking probability of ``servers`` servers offered ``a = λ/μ`` erlangs.

    Defined for any load (a loss system has no queue to grow), computed by the stable recursion.

    >>> round(erlang_b(2.0, 3), 4)
    0.2105
    """
    offered_load = check_real(offered_load, "offered_load", min_val=0, include_boundaries="neither")
    return _erlang_b(offered_load, check_int(servers, "servers", min_val=1))


def _erlang_b(a: float, c: int) -> float:
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Probability that an arriving request waits in an M/M/c queue (Erlang C).

    Parameters
    ----------
    arrival_rate
        λ, requests per second arriving at the whole pool.
    service_rate
        μ, requests per second one server completes while busy (1 / mean service time).
    servers
        c, the number of servers (replicas × concurrent slots per replica).

    Returns
    -------
    float
        P(wait > 0), in (0, 1). Raises ``ValueError`` when ρ = λ/(cμ) ≥ 1.

    Examples
    --------
    >>> round(erlang_c(100.0, 20.0, 7), 5)
    0.32415
    """
    lam, mu, c = _load(arrival_rate, service_rate, servers)
    return _erlang_c(lam / mu, c)


def _erlang_c(a: float, c: int) -> float:
    """Erlang C from the Erlang B recursion, without validation (a < c)."""
    b = _erlang_b(a, c)
    return c * b / (c - a * (1.0 - b))


def wait_probability(
    arrival_rate: float, service_rate: float, servers: int, wait_s: float
) -> float:
    """``P(Wq > wait_s)`` = C · exp(−(cμ − λ)·wait_s): the chance of queueing longer than that.

    >>> round(wait_probability(2.0, 1.0, 3, 0.0), 4)
    0.4444
    """
    wait_s = check_real(wait_s, "wait_s", min_val=0)
    lam, mu, c = _load(arrival_rate, service_rate, servers)
    return erlang_c(lam, mu, c) * math.exp(-(c * mu - lam) * wait_s)


def _response_survival(t: float, p_wait: float, mu: float, theta: float) -> float:
    """P(T > t) for T = Wq + S: Wq is 0 w.p. 1−C else Exp(θ), S ~ Exp(μ), independent."""
    if abs(theta - mu) < 1e-12 * mu:
        tail = (1.0 + mu * t) * math.exp(-mu * t)
    else:
        tail = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
    return (1.0 - p_wait) * math.exp(-mu * t) + p_wait * tail


def response_time_quantile(
    arrival_rate: float, service_rate: float, servers: int, q: float = 0.99
) -> float:
    """The ``q``-quantile of the response time (queueing + service) in seconds.

    The response time of M/M/c is a mixture of an exponential service time and, with probability
    C, an exponential wait of rate cμ − λ added to it; its survival function is closed-form and
    decreasing, so the quantile is found by bisection to 1e-9 relative accuracy.

    >>> round(response_time_quantile(1.0, 2.0, 1, 0.5), 4)  # M/M/1: T ~ Exp(μ − λ)
    0.6931
    """
    q = check_real(q, "q", min_val=0, max_val=1, include_boundaries="neither")
    lam, mu, c = _load(arrival_rate, service_rate, servers)
    p_wait = erlang_c(lam, mu, c)
    theta = c * mu - lam
    target = 1.0 - q
    lo, hi = 0.0, 1.0 / mu
    while _response_survival(hi, p_wait, mu, theta) > target:
        lo, hi = hi, 2.0 * hi
    while hi - lo > 1e-9 * hi:
        mid = 0.5 * (lo + hi)
        if _response_survival(mid, p_wait, mu, theta) > target:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True)
class QueueStats:
    """Steady-state figures of an M/M/c queue.

    Attributes
    ----------
    p_wait
        Probability that a request waits at all (Erlang C).
    mean_wait_s
        Mean time in the queue, seconds (all requests, including those that do not wait).
    mean_response_s
        Mean queueing plus service time, seconds.
    utilization
        ρ = λ / (cμ), the busy fraction of each server.
    """

    p_wait: float
    mean_wait_s: float
    mean_response_s: float
    utilization: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:
        from labkit.timing import format_seconds  # here, so queueing imports no torch

        return (
            f"QueueStats(p_wait={self.p_wait:.4f}, mean_wait={format_seconds(self.mean_wait_s)}, "
            f"mean_response={format_seconds(self.mean_response_s)}, "
            f"utilization={self.utilization:.1%})"
        )


def mmc(arrival_rate: float, service_rate: float, servers: int) -> QueueStats:
    """Steady-state statistics of an M/M/c queue.

    Parameters
    ----------
    arrival_rate, service_rate, servers
        λ (requests/s into the pool), μ (requests/s per busy server), c (servers).

    Returns
    -------
    QueueStats
        Raises ``ValueError`` for an unstable system (ρ ≥ 1).

    Examples
    --------
    >>> mmc(2.0, 1.0, 3)
    QueueStats(p_wait=0.4444, mean_wait=444 ms, mean_response=1.44 s, utilization=66.7%)
    """
    lam, mu, c = _load(arrival_rate, service_rate, servers)
    p_wait = erlang_c(lam, mu, c)
    mean_wait = p_wait / (c * mu - lam)
    return QueueStats(
        p_wait=p_wait,
        mean_wait_s=mean_wait,
        mean_response_s=mean_wait + 1.0 / mu,
        utilization=lam / (c * mu),
    )


def servers_for_wait(
    arrival_rate: float, service_rate: float, wait_s: float, max_probability: float
) -> int:
    """The smallest number of servers ``c`` with ``P(Wq > wait_s) ≤ max_probability``.

    Only stable pools (c > λ/μ) qualify. This is the capacity-planning question "how many
    replicas keep the 99th-percentile queueing delay under 10 ms?" with ``max_probability=0.01``.

    Parameters
    ----------
    arrival_rate, service_rate
        λ and μ in requests per second.
    wait_s
        The waiting-time bound in seconds (≥ 0; 0 asks for "no wait at all").
    max_probability
        The allowed probability of waiting longer than ``wait_s``, in (0, 1].

    Examples
    --------
    >>> servers_for_wait(100.0, 20.0, wait_s=0.0, max_probability=0.5)
    7
    """
    lam = check_real(arrival_rate, "arrival_rate", min_val=0, include_boundaries="neither")
    mu = check_real(service_rate, "service_rate", min_val=0, include_boundaries="neither")
    wait_s = check_real(wait_s, "wait_s", min_val=0)
    max_probability = check_real(
        max_probability, "max_probability", min_val=0, max_val=1, include_boundaries="right"
    )
    c = math.floor(lam / mu) + 1  # the smallest stable pool
    while wait_probability(lam, mu, c, wait_s) > max_probability:
        c += 1
    return c


# --- vectorized forms for the simulator (one evaluation per simulated time step) ------------


def _erlang_c_array(offered_load: Any, servers: Any) -> Any:
    """Erlang C for arrays of offered loads ``a`` and integer server counts ``c`` (a < c)."""
    import numpy as np

    a = np.asarray(offered_load, dtype=np.float64)
    c = np.asarray(servers, dtype=np.int64)
    b = np.ones(np.broadcast(a, c).shape)
    for k in range(1, int(c.max(initial=1)) + 1):
        step = a * b / (k + a * b)
        b = np.where(k <= c, step, b)
    return c * b / (c - a * (1.0 - b))


def _response_survival_array(t: Any, p_wait: Any, mu: Any, theta: Any) -> Any:
    """Vectorized :func:`_response_survival` (θ ≠ μ handled by a tiny offset)."""
    import numpy as np

    theta = np.where(np.abs(theta - mu) < 1e-9 * mu, theta * (1 + 1e-6), theta)
    tail = (theta * np.exp(-mu * t) - mu * np.exp(-theta * t)) / (theta - mu)
    return (1.0 - p_wait) * np.exp(-mu * t) + p_wait * tail


def _response_quantile_array(lam: Any, mu: float, servers: Any, q: float) -> Any:
    """Vectorized :func:`response_time_quantile` for stable entries (λ < cμ)."""
    import numpy as np

    lam = np.asarray(lam, dtype=np.float64)
    c = np.asarray(servers, dtype=np.int64)
    p_wait = _erlang_c_array(lam / mu, c)
    theta = c * mu - lam
    target = 1.0 - q
    lo = np.zeros_like(lam)
    hi = np.full_like(lam, 1.0 / mu)
    for _ in range(200):  # grow the bracket until it holds the quantile everywhere
        above = _response_survival_array(hi, p_wait, mu, theta) > target
        if not above.any():
            break
        lo = np.where(above, hi, lo)
        hi = np.where(above, 2 * hi, hi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = _response_survival_array(mid, p_wait, mu, theta) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return hi
