"""A generated implicit-feedback data set with the shape of real recommendation traffic.

Users and items have hidden taste vectors; what a user clicks is drawn from a softmax over
``taste · item / temperature + log popularity + daypart affinity``. Item popularity follows a
Zipf law (a few items take most clicks, as in every real catalog), user activity is skewed too
(heavy users click far more), and each item has a preferred part of the day (breakfast news in
the morning, films in the evening), with interaction times following the daily traffic curve.
A model has to learn the tastes to beat the popularity baseline, which is what recall@k checks.

Examples
--------
>>> data = make_interactions(n_users=200, n_items=500, seed=0)
>>> data.n_users, data.n_items, len(data) > 2000
(200, 500, True)
>>> train, test = data.split_last()
>>> len(test) == data.n_users
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from labkit._threads import torch_threads
from labkit._validate import check_int, check_real
from labkit.scaling.traffic import daily_curve

__all__ = ["DAYPARTS", "Interactions", "make_interactions"]

# Four parts of the day, in hours: night, morning, afternoon, evening.
DAYPARTS = ((0.0, 6.0), (6.0, 12.0), (12.0, 18.0), (18.0, 24.0))


@dataclass(frozen=True)
class Interactions:
    """Implicit feedback: who clicked what, and when (hour of day, day index).

    Attributes
    ----------
    user_ids, item_ids
        Integer ids, one entry per interaction.
    timestamps_h
        Time of each interaction in hours since the start of the log.
    n_users, n_items
        Sizes of the id spaces (ids are ``0 .. n - 1``).
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    timestamps_h: np.ndarray
    n_users: int
    n_items: int

    def __post_init__(self) -> None:
        n = len(self.user_ids)
        if len(self.item_ids) != n or len(self.timestamps_h) != n:
            raise ValueError("user_ids, item_ids and timestamps_h must have the same length")

    def __len__(self) -> int:
        return len(self.user_ids)

    def item_counts(self) -> np.ndarray:
        """Clicks per item (the popularity the baseline recommends by)."""
        return np.bincount(self.item_ids, minlength=self.n_items)

    def subset(self, mask: np.ndarray) -> Interactions:
        return Interactions(
            self.user_ids[mask],
            self.item_ids[mask],
            self.timestamps_h[mask],
            self.n_users,
            self.n_items,
        )

    def split_last(self) -> tuple[Interactions, Interactions]:
        """Leave-last-out: each user's latest interaction is the test set, the rest training."""
        order = np.lexsort((self.timestamps_h, self.user_ids))  # by user, then time
        last = np.zeros(len(self), dtype=bool)
        users = self.user_ids[order]
        is_last = np.append(users[1:] != users[:-1], True)
        last[order[is_last]] = True
        return self.subset(~last), self.subset(last)

    def __repr__(self) -> str:
        top = np.sort(self.item_counts())[::-1]
        share = top[: max(1, self.n_items // 100)].sum() / max(1, len(self))
        return (
            f"Interactions({len(self):,} clicks, {self.n_users:,} users, {self.n_items:,} items; "
            f"top 1% of items take {share:.0%} of clicks)"
        )


def make_interactions(
    *,
    n_users: int = 2000,
    n_items: int = 20_000,
    mean_per_user: float = 30.0,
    n_factors: int = 16,
    zipf_exponent: float = 1.0,
    temperature: float = 0.1,
    daypart_strength: float = 1.0,
    days: int = 7,
    seed: int | None = 0,
) -> Interactions:
    """Generate a click log; see the module docstring for the model.

    Parameters
    ----------
    n_users, n_items
        Sizes of the user base and the catalog.
    mean_per_user
        Mean clicks per user; activity is log-normal, so some users click ten times as much.
    n_factors
        Dimension of the hidden tastes.
    zipf_exponent
        Popularity of the item at rank r is ∝ r^-exponent (1.0: the classic long tail).
    temperature
        Lower makes users follow their tastes more closely (and a learned model look better).
    daypart_strength
        How much an item's preferred part of the day shifts its clicks.
    days
        The log spans this many days; interaction times follow the daily traffic curve.
    seed
        Seed for everything.
    """
    n_users = check_int(n_users, "n_users", min_val=1)
    n_items = check_int(n_items, "n_items", min_val=1)
    n_factors = check_int(n_factors, "n_factors", min_val=1)
    mean_per_user = check_real(mean_per_user, "mean_per_user", min_val=1)
    temperature = check_real(temperature, "temperature", min_val=0, include_boundaries="neither")
    with torch_threads(1):
        return _generate(
            n_users,
            n_items,
            mean_per_user,
            n_factors,
            zipf_exponent,
            temperature,
            daypart_strength,
            days,
            seed,
        )


def _generate(
    n_users: int,
    n_items: int,
    mean_per_user: float,
    n_factors: int,
    zipf_exponent: float,
    temperature: float,
    daypart_strength: float,
    days: int,
    seed: int | None,
) -> Interactions:
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))

    users = torch.randn(n_users, n_factors, generator=gen) / math.sqrt(n_factors)
    items = torch.randn(n_items, n_factors, generator=gen) / math.sqrt(n_factors)
    rank = rng.permutation(n_items) + 1.0
    popularity = rank**-zipf_exponent
    popularity /= popularity.sum()
    item_part = torch.from_numpy(rng.integers(0, len(DAYPARTS), n_items))

    # Clicks per user (log-normal activity) and per part of the day (the traffic curve).
    counts = np.maximum(1, rng.lognormal(math.log(mean_per_user) - 0.5, 1.0, n_users).round())
    hours = np.linspace(0, 24, 97)[:-1] + 0.125
    weights = np.array([daily_curve(hours[(hours >= a) & (hours < b)]).sum() for a, b in DAYPARTS])
    per_part = rng.multinomial(counts.astype(np.int64), weights / weights.sum())  # [users, parts]

    # Each user considers a popularity-weighted sample of the catalog (what they are shown)
    # and clicks among it by taste: clicks ∝ popularity · exp(taste / temperature + daypart).
    n_candidates = min(n_items, 256)
    out_users, out_items, out_parts = [], [], []
    chunk = 1024
    for lo in range(0, n_users, chunk):
        hi = min(n_users, lo + chunk)
        cands = torch.from_numpy(rng.choice(n_items, size=(hi - lo, n_candidates), p=popularity))
        taste = (users[lo:hi, None, :] * items[cands]).sum(-1) / temperature
        for part in range(len(DAYPARTS)):
            k = int(per_part[lo:hi, part].max(initial=0))
            if k == 0:
                continue
            logits = taste + daypart_strength * (item_part[cands] == part).float()
            draws = torch.multinomial(torch.softmax(logits, 1), k, replacement=True, generator=gen)
            picked = torch.gather(cands, 1, draws).numpy()
            for row, user in enumerate(range(lo, hi)):
                m = int(per_part[user, part])
                out_users.append(np.full(m, user))
                out_items.append(picked[row, :m])
                out_parts.append(np.full(m, part))
    user_ids = np.concatenate(out_users).astype(np.int64)
    item_ids = np.concatenate(out_items).astype(np.int64)
    parts = np.concatenate(out_parts)
    starts = np.array([a for a, _ in DAYPARTS])[parts]
    day = rng.integers(0, days, len(parts))
    timestamps = 24.0 * day + starts + rng.uniform(0, 6.0, len(parts))
    return Interactions(user_ids, item_ids, timestamps, n_users, n_items)
