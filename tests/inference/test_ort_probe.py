"""The provider probe: ORT's default logger kept quiet, TensorRT asked for only where TensorRT 10
loads, and the TensorRT options a dynamic-batch model needs."""

from __future__ import annotations

import subprocess
import sys

import onnxruntime as ort
import torch

from labkit import _ort_probe
from labkit.inference.export import export_onnx
from labkit.inference.session import _tensorrt_options


def test_default_logger_threshold_is_raised_inside_and_restored_after(monkeypatch):
    calls = []
    monkeypatch.setattr(ort, "set_default_logger_severity", calls.append)
    with _ort_probe.quiet_default_logger():
        assert calls == [4]
    assert calls == [4, 2]
    calls.clear()
    _ort_probe.loaded_providers()
    assert calls == [4, 2]  # the probe itself runs inside it


def test_tensorrt_is_not_asked_for_where_its_libraries_do_not_load(monkeypatch):
    asked = []
    real = ort.InferenceSession

    def recording(model, options, providers):
        asked.append(list(providers))
        return real(model, options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(ort, "InferenceSession", recording)
    monkeypatch.setattr(_ort_probe, "tensorrt_loads", lambda: False)
    available = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
    assert _ort_probe.loaded_providers(available) == ("CPUExecutionProvider",)
    assert asked == [["CUDAExecutionProvider", "CPUExecutionProvider"]]
    monkeypatch.setattr(_ort_probe, "tensorrt_loads", lambda: True)
    _ort_probe.loaded_providers(available)
    assert asked[-1][0] == "TensorrtExecutionProvider"


def test_tensorrt_library_probe_and_hint():
    # this machine has no TensorRT: the probe says so instead of raising
    loads = _ort_probe.tensorrt_loads()
    assert isinstance(loads, bool)
    assert "libnvinfer.so.10" in _ort_probe.TENSORRT_HINT
    assert '"tensorrt-cu13>=10,<11"' in _ort_probe.TENSORRT_HINT


def test_probe_prints_nothing_to_stderr():
    code = "from labkit._ort_probe import loaded_providers; print(loaded_providers())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "CPUExecutionProvider" in done.stdout
    assert done.stderr == ""


def test_tensorrt_profile_covers_every_batch_of_a_dynamic_model(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_TRT_CACHE", str(tmp_path / "trt"))
    path = export_onnx(torch.nn.Linear(16, 3), torch.zeros(1, 16), str(tmp_path / "m.onnx"))
    options = _tensorrt_options(str(path), max_batch=32)
    name = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_inputs()[0].name
    assert options["trt_profile_min_shapes"] == f"{name}:1x16"
    assert options["trt_profile_opt_shapes"] == options["trt_profile_max_shapes"] == f"{name}:32x16"
    assert options["trt_engine_cache_enable"] == "True"
    assert options["trt_engine_cache_path"] == str(tmp_path / "trt") and (tmp_path / "trt").is_dir()


def test_io_bound_run_equals_run_and_writes_a_tensor_on_the_inputs_device(tmp_path):
    from labkit.inference.session import OrtSession

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    path = export_onnx(model, torch.zeros(1, 16), str(tmp_path / "m.onnx"))
    session = OrtSession(path, device="cpu")
    for batch in (1, 7, 7, 64):
        x = torch.randn(batch, 16)
        got = session.run_bound(x)
        assert isinstance(got, torch.Tensor) and got.device == x.device and got.shape == (batch, 3)
        assert torch.equal(got, torch.from_numpy(session.run(x.numpy())))
    assert torch.equal(session.run_bound(x.t().contiguous().t()), session.run_bound(x))


def test_io_bound_run_checks_its_input(tmp_path):
    import pytest

    from labkit.inference.session import OrtSession

    path = export_onnx(torch.nn.Linear(16, 3), torch.zeros(1, 16), str(tmp_path / "m.onnx"))
    session = OrtSession(path, device="cpu")
    with pytest.raises(TypeError, match=r"run_bound takes a torch\.Tensor"):
        session.run_bound(torch.zeros(2, 16).numpy())
    with pytest.raises(TypeError, match="must have dtype float32"):
        session.run_bound(torch.zeros(2, 16, dtype=torch.float64))
    with pytest.raises(ValueError, match="must have shape"):
        session.run_bound(torch.zeros(2, 15))
