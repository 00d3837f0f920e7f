"""A feature lookup in an embedded database: indexes, and N+1 queries vs one batched query.

Many models need stored features at request time (a user's history, an item's statistics).
Two database mistakes then dominate latency, and both are cheap to fix:

* **no index** on the lookup key: every lookup scans the whole table, O(rows) instead of
  O(log rows) through a B-tree index;
* **N+1 queries**: a batch of N requests looked up one query each. Each query pays fixed costs
  (parsing, planning, and, for a networked database, a round trip); one ``WHERE id IN (...)``
  query pays them once.

:class:`FeatureStore` keeps float32 feature vectors in SQLite (in memory by default) and counts
the lookup queries it runs (``statements``), so both effects can be measured and the batched
path checked.

Examples are on :class:`FeatureStore`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import numpy as np

from labkit._validate import check_int

__all__ = ["FeatureStore"]

# Bound parameters per statement: SQLite's limit is 32766 since 3.32 (999 before); stay below.
_MAX_PARAMS = 900


class FeatureStore:
    """``num_users`` random float32 feature vectors in an SQLite table ``features(user_id, vec)``.

    The table is created *without* an index on ``user_id`` (and without a primary key on it),
    so lookups scan until :meth:`create_index` is called.

    Parameters
    ----------
    num_users, num_features
        Rows and vector length.
    path
        SQLite database; ``":memory:"`` keeps it in RAM (disk I/O would blur the comparison).
    seed
        For the random features.

    Examples
    --------
    >>> store = FeatureStore(num_users=1000, num_features=4, seed=0)
    >>> store.indexed
    False
    >>> store.create_index()
    >>> a = store.get_each([3, 1, 3])
    >>> b = store.get_many([3, 1, 3])
    >>> bool((a == b).all()), a.shape
    (True, (3, 4))
    >>> before = store.statements
    >>> _ = store.get_many(range(100))
    >>> store.statements - before
    1
    """

    def __init__(
        self,
        num_users: int = 100_000,
        num_features: int = 16,
        *,
        path: str = ":memory:",
        seed: int = 0,
    ) -> None:
        num_users = check_int(num_users, "num_users", min_val=1)
        num_features = check_int(num_features, "num_features", min_val=1)
        self.num_users = num_users
        self.num_features = num_features
        self.statements = 0  # lookup queries run through this object
        self._conn = sqlite3.connect(path, check_same_thread=False)
        rng = np.random.default_rng(seed)
        vectors = rng.standard_normal((num_users, num_features), dtype=np.float32)
        with self._conn:
            self._conn.execute("DROP TABLE IF EXISTS features")
            self._conn.execute(
                "CREATE TABLE features (user_id INTEGER NOT NULL, vec BLOB NOT NULL)"
            )
            self._conn.executemany(
                "INSERT INTO features VALUES (?, ?)",
                ((i, vectors[i].tobytes()) for i in rng.permutation(num_users).tolist()),
            )

    def _query(self, sql: str, params: list[int] | tuple[int, ...]) -> list[tuple]:
        self.statements += 1
        return self._conn.execute(sql, params).fetchall()

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying ``sqlite3`` connection (table ``features(user_id INTEGER, vec BLOB)``)."""
        return self._conn

    @property
    def indexed(self) -> bool:
        """Whether an index on ``user_id`` exists."""
        rows = self._conn.execute("PRAGMA index_list(features)").fetchall()
        return any(row[1] == "idx_features_user" for row in rows)

    def create_index(self) -> None:
        """Add a B-tree index on ``user_id`` (lookups become O(log rows))."""
        with self._conn:
            self._conn.execute("CREATE INDEX IF NOT EXISTS idx_features_user ON features(user_id)")

    def drop_index(self) -> None:
        with self._conn:
            self._conn.execute("DROP INDEX IF EXISTS idx_features_user")

    def query_plan(self) -> str:
        """SQLite's plan for a single lookup: ``SCAN features`` or ``SEARCH ... USING INDEX``."""
        rows = self._conn.execute(
            "EXPLAIN QUERY PLAN SELECT vec FROM features WHERE user_id = ?", (0,)
        ).fetchall()
        return "; ".join(row[-1] for row in rows)

    def _decode(self, blob: bytes) -> np.ndarray:
        return np.frombuffer(blob, dtype=np.float32)

    def get(self, user_id: int) -> np.ndarray:
        """One user's features (one query). ``KeyError`` if the user is unknown."""
        rows = self._query("SELECT vec FROM features WHERE user_id = ?", (int(user_id),))
        if not rows:
            raise KeyError(f"user_id {user_id} not in the feature store (0..{self.num_users - 1})")
        return self._decode(rows[0][0])

    def get_each(self, user_ids: Iterable[int]) -> np.ndarray:
        """Features of several users, one query per user (the N+1 pattern)."""
        ids = list(user_ids)
        out = np.empty((len(ids), self.num_features), dtype=np.float32)
        for i, user_id in enumerate(ids):
            out[i] = self.get(user_id)
        return out

    def get_many(self, user_ids: Iterable[int]) -> np.ndarray:
        """Features of several users in request order, with one ``IN (...)`` query per 900 ids."""
        ids = [int(u) for u in user_ids]
        unique = list(dict.fromkeys(ids))
        found: dict[int, bytes] = {}
        for start in range(0, len(unique), _MAX_PARAMS):
            chunk = unique[start : start + _MAX_PARAMS]
            marks = ",".join("?" * len(chunk))
            found.update(
                self._query(f"SELECT user_id, vec FROM features WHERE user_id IN ({marks})", chunk)
            )
        missing = [u for u in unique if u not in found]
        if missing:
            raise KeyError(
                f"user_ids {missing[:10]} not in the feature store (0..{self.num_users - 1})"
            )
        out = np.empty((len(ids), self.num_features), dtype=np.float32)
        for i, user_id in enumerate(ids):
            out[i] = self._decode(found[user_id])
        return out

    def close(self) -> None:
        self._conn.close()
