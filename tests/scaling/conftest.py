"""Shared fixtures: a trained recommender saved to disk, and a running service on loopback."""

from __future__ import annotations

import pytest

from labkit.scaling.data import make_interactions
from labkit.scaling.process import ServiceProcess
from labkit.scaling.recommender import train_mf

# Big enough catalog that one request costs milliseconds of model time, so overload is
# reachable by a Python load generator on a small machine.
N_USERS, N_ITEMS, DIM = 2000, 100_000, 64


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    data = make_interactions(n_users=N_USERS, n_items=N_ITEMS, mean_per_user=10, seed=0)
    model = train_mf(data, dim=DIM, num_epochs=1, seed=0)
    return model.save(tmp_path_factory.mktemp("scaling") / "model.pt")


@pytest.fixture(scope="module")
def service(model_path):
    with ServiceProcess(model_path, max_batch_size=16, max_queue_delay_s=0.002) as svc:
        yield svc
