"""Generated data, matrix factorization and recall@k against brute-force references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.scaling.data import DAYPARTS, make_interactions
from labkit.scaling.recommender import (
    PopularityRecommender,
    Recommender,
    recall_at_k,
    train_mf,
)
from labkit.scaling.traffic import daily_curve


@pytest.fixture(scope="module")
def data():
    return make_interactions(n_users=800, n_items=3000, seed=0)


def test_data_has_popularity_skew_and_daily_pattern(data):
    counts = np.sort(data.item_counts())[::-1]
    assert counts[:30].sum() > 0.3 * len(data)  # top 1% of items: a third of the clicks
    # clicks per part of the day follow the traffic curve: evening busiest, night quietest
    hours = data.timestamps_h % 24
    per_part = np.array([((hours >= a) & (hours < b)).sum() for a, b in DAYPARTS])
    grid = np.arange(0, 24, 0.01)
    curve = daily_curve(grid)
    expected = np.array([curve[(grid >= a) & (grid < b)].sum() for a, b in DAYPARTS])
    np.testing.assert_allclose(per_part / per_part.sum(), expected / expected.sum(), atol=0.02)
    assert np.argmax(per_part) == 3 and np.argmin(per_part) == 0
    activity = np.bincount(data.user_ids, minlength=data.n_users)
    assert activity.min() >= 1 and activity.max() > 5 * np.median(activity)


def test_split_last_holds_out_latest(data):
    train, test = data.split_last()
    assert len(train) + len(test) == len(data)
    assert sorted(test.user_ids.tolist()) == list(range(data.n_users))
    for u in (0, 7, 123):
        assert test.timestamps_h[test.user_ids == u][0] >= train.timestamps_h[
            train.user_ids == u
        ].max(initial=-1)


def test_generation_is_seeded():
    a = make_interactions(n_users=50, n_items=100, seed=4)
    b = make_interactions(n_users=50, n_items=100, seed=4)
    np.testing.assert_array_equal(a.item_ids, b.item_ids)
    with pytest.raises(ValueError, match="n_items"):
        make_interactions(n_items=0)


@pytest.fixture(scope="module")
def trained(data):
    train, test = data.split_last()
    return train, test, train_mf(train, dim=16, num_epochs=4, seed=0)


def test_mf_beats_popularity(trained):
    train, test, model = trained
    pop = PopularityRecommender.fit(train)
    assert recall_at_k(model, test, 10) > 1.2 * recall_at_k(pop, test, 10)
    assert recall_at_k(model, test, 50) > recall_at_k(pop, test, 50)


def test_recommend_matches_brute_force(trained):
    _, _, model = trained
    users = [0, 5, 17]
    items, scores = model.recommend(users, k=7)
    full = model.user_factors[users] @ model.item_factors.T + model.item_bias
    expected = np.argsort(-full.numpy(), axis=1)[:, :7]
    np.testing.assert_array_equal(np.sort(items.numpy(), 1), np.sort(expected, 1))
    np.testing.assert_allclose(
        scores.numpy(), np.take_along_axis(full.numpy(), expected, 1), rtol=1e-5
    )


def test_recall_at_k_by_hand(trained):
    _, test, model = trained
    top, _ = model.recommend(test.user_ids.tolist(), k=10)
    hits = [int(i in row) for i, row in zip(test.item_ids.tolist(), top.tolist(), strict=True)]
    assert recall_at_k(model, test, k=10) == pytest.approx(np.mean(hits))


def test_save_load_round_trip(trained, tmp_path):
    _, _, model = trained
    path = model.save(tmp_path / "sub" / "model.pt")
    loaded = Recommender.load(path)
    for a, b in (
        (model.user_factors, loaded.user_factors),
        (model.item_factors, loaded.item_factors),
        (model.item_bias, loaded.item_bias),
    ):
        torch.testing.assert_close(a, b)
    torch.save({"foo": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="missing"):
        Recommender.load(tmp_path / "bad.pt")


def test_recommend_validation(trained):
    _, _, model = trained
    with pytest.raises(ValueError, match="user ids"):
        model.recommend([model.n_users])
    with pytest.raises(ValueError, match="k must be"):
        model.recommend([0], k=0)
    with pytest.raises(ValueError, match="lr"):
        train_mf(trained[0], lr=0)
