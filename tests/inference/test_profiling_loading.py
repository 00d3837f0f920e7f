import numpy as np
import pytest
import torch

from labkit.inference.loading import measure_loading, save_weights, torch_loader
from labkit.inference.pipeline import preprocess_loop
from labkit.inference.profiling import format_stats, python_hotspots, top_ops


def test_top_ops_ranks_the_matrix_multiply_first_and_is_quiet(capfd):
    model = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 8))
    ops = top_ops(model, torch.randn(16, 256), k=3, repeat=5)
    assert ops[0].name == "aten::addmm"
    assert ops[0].calls == 10  # two Linear layers × five calls
    assert ops[0].self_cpu_s >= ops[-1].self_cpu_s
    assert "aten::addmm" in format_stats(ops)
    assert capfd.readouterr().err == ""


def test_python_hotspots_finds_the_preprocessing_loop():
    rng = np.random.default_rng(0)
    records = rng.normal(size=(64, 256)).tolist()
    mean, std = np.zeros(256), np.ones(256)

    def pipeline(rows):
        return preprocess_loop(rows, mean, std).sum(axis=1)

    stats = python_hotspots(pipeline, records, k=5)
    assert stats[0].function == "preprocess_loop"
    assert stats[0].calls == 1
    assert stats[0].cumulative_s >= stats[0].self_s
    assert "preprocess_loop" in format_stats(stats)


def test_profilers_reject_bad_k():
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        python_hotspots(len, [], k=0)


def test_loading_per_request_costs_more_and_round_trips(tmp_path):
    def build():  # 0.5 M weights to initialize and read: loading dwarfs one small prediction
        return torch.nn.Sequential(
            torch.nn.Linear(128, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 512)
        )

    torch.manual_seed(0)
    original = build().eval()
    path = save_weights(original, tmp_path / "w.pt")
    load = torch_loader(path, build)
    x = torch.randn(1, 128)
    with torch.inference_mode():
        torch.testing.assert_close(load()(x), original(x))
    cost = measure_loading(load, x, repeat=5)
    assert cost.per_request.median > cost.once.median
    assert cost.slowdown > 1 and "slower" in repr(cost)
    with pytest.raises(FileNotFoundError):
        torch_loader(tmp_path / "missing.pt", build)
