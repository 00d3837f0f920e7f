"""labkit.device: the resolution rule, array namespaces, the environment report."""

import logging

import numpy as np
import pytest
import torch

from labkit import device as dev


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(dev.ENV_VAR, raising=False)
    monkeypatch.setattr(dev, "_fallback_logged", False)


def test_explicit_beats_environment(monkeypatch):
    monkeypatch.setenv(dev.ENV_VAR, "cuda")
    assert dev.resolve("cpu") == torch.device("cpu")
    assert dev.resolve(torch.device("cpu")) == torch.device("cpu")


def test_environment_variable_is_used(monkeypatch):
    monkeypatch.setenv(dev.ENV_VAR, " CPU ")
    assert dev.resolve() == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(dev.ENV_VAR, "cuda")
    with pytest.raises(RuntimeError, match=r"LABKIT_DEVICE asks for device 'cuda'.*not available"):
        dev.resolve()
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        dev.resolve("cuda:0")


@pytest.mark.parametrize("bad", ["tpu0", "gpu", ""])
def test_unknown_device_names_the_value(bad):
    with pytest.raises((ValueError, RuntimeError), match="device"):
        dev.resolve(bad if bad else "  ")


def test_wrong_type_names_the_type():
    with pytest.raises(TypeError, match="int"):
        dev.resolve(0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cpu_fallback_is_logged_once(caplog):
    with caplog.at_level(logging.INFO, logger="labkit.device"):
        dev.resolve()
        dev.resolve()
    messages = [r.getMessage() for r in caplog.records if "CPU" in r.getMessage()]
    assert len(messages) == 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_auto_picks_cuda_when_present():
    assert dev.resolve().type == "cuda"


def test_array_namespace_runs_the_same_code_on_numpy_and_torch():
    def zscore_max(x):
        xp = dev.array_namespace(x)
        return float(xp.max((x - xp.mean(x)) / xp.std(x)))

    values = np.random.default_rng(0).normal(size=101)
    expected = (values.max() - values.mean()) / values.std()
    assert zscore_max(values) == pytest.approx(expected, rel=1e-12)
    assert zscore_max(torch.from_numpy(values)) == pytest.approx(expected, rel=1e-12)


def test_array_namespace_rejects_mixed_and_foreign_arrays():
    with pytest.raises(TypeError, match="NumPy, PyTorch or CuPy"):
        dev.array_namespace(np.zeros(2), torch.zeros(2))
    with pytest.raises(ValueError, match="at least one"):
        dev.array_namespace()


def test_to_numpy_round_trips():
    t = torch.arange(4.0)
    np.testing.assert_array_equal(dev.to_numpy(t), np.arange(4.0))


def test_environment_report_lists_what_loads():
    report = dev.environment_report()
    rows = dict(report.rows())
    assert rows["torch"] == torch.__version__
    assert "CPUExecutionProvider" in report.ort_providers_loaded
    # what loads is a subset of what the build advertises
    assert set(report.ort_providers_loaded) <= set(report.ort_providers_available)
    assert report.to_dict()["python"] == rows["Python"]
    if not torch.cuda.is_available():
        assert report.gpus == () and rows["GPUs"] == "none"
