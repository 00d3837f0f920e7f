"""Train the lab's recommender and save it: ``python -m labkit.scaling.train --out model.pt``.

Used by the Docker image (the model is baked in at build time, deterministically from the seed)
and by benchmarks. Prints one JSON line with the model's size and recall@10 against the
popularity baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.scaling.train", description=__doc__)
    p.add_argument("--out", required=True, help="where to write the model")
    p.add_argument("--users", type=int, default=5000)
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from labkit.scaling.data import make_interactions
    from labkit.scaling.recommender import PopularityRecommender, recall_at_k, train_mf

    start = time.perf_counter()
    train, test = make_interactions(
        n_users=args.users, n_items=args.items, seed=args.seed
    ).split_last()
    model = train_mf(train, dim=args.dim, num_epochs=args.epochs, seed=args.seed)
    path = model.save(args.out)
    report = {
        "model": str(path),
        "users": model.n_users,
        "items": model.n_items,
        "dim": model.dim,
        "recall_at_10": recall_at_k(model, test, 10),
        "popularity_recall_at_10": recall_at_k(PopularityRecommender.fit(train), test, 10),
        "seconds": time.perf_counter() - start,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
