"""Export, ONNX Runtime session, parity and int8 quantization, checked against torch."""

import numpy as np
import pytest
import torch

from labkit.inference.export import ExportError, batch_dim, export_onnx
from labkit.inference.quantization import model_size_bytes, quantize_int8
from labkit.inference.session import GRAPH_OPTIMIZATIONS, OrtSession, default_providers, parity


@pytest.fixture(scope="module")
def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(32, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 5),
    ).eval()


@pytest.fixture(scope="module")
def onnx_path(mlp, tmp_path_factory):
    return export_onnx(mlp, torch.zeros(3, 32), tmp_path_factory.mktemp("onnx") / "mlp.onnx")


def test_export_has_a_dynamic_batch_and_matches_torch(mlp, onnx_path):
    assert batch_dim(onnx_path) == "batch"
    session = OrtSession(onnx_path, device="cpu")
    for n in (1, 7, 64):
        x = torch.randn(n, 32)
        with torch.inference_mode():
            expected = mlp(x).numpy()
        np.testing.assert_allclose(session.run(x.numpy()), expected, atol=1e-5, rtol=1e-5)


def test_static_export_fixes_the_batch(mlp, tmp_path):
    path = export_onnx(mlp, torch.zeros(3, 32), tmp_path / "static.onnx", dynamic_batch=False)
    assert batch_dim(path) == 3
    with pytest.raises(ValueError, match=r"must have shape \(3, 32\), got \(4, 32\)"):
        OrtSession(path, device="cpu").run(np.zeros((4, 32), np.float32))


def test_export_is_quiet(mlp, tmp_path, capfd, recwarn):
    export_onnx(mlp, torch.zeros(1, 32), tmp_path / "quiet.onnx")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert not [w for w in recwarn if "onnx" in str(w.message).lower()]


def test_export_restores_training_mode(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5)).train()
    export_onnx(model, torch.zeros(1, 4), tmp_path / "d.onnx")
    assert model.training


class ValueDependent(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # Python control flow on a tensor value: tracing would freeze one branch
            return x * 2
        return x


class Unsupported(torch.nn.Module):
    def forward(self, x):
        return torch.linalg.svd(x)[1]


@pytest.mark.parametrize(
    ("model", "message"), [(ValueDependent(), "depends on tensor values"), (Unsupported(), "")]
)
def test_models_that_cannot_be_exported_raise_export_error(model, message, tmp_path):
    path = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match=f"cannot export {type(model).__name__}.*{message}"):
        export_onnx(model, torch.ones(2, 3), path)
    assert not path.exists()


def test_export_argument_errors(mlp, tmp_path):
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        export_onnx(lambda x: x, torch.zeros(1), tmp_path / "x.onnx")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_onnx(mlp, torch.zeros(1, 32), tmp_path / "missing" / "x.onnx")


def test_session_reports_providers_and_settings(onnx_path):
    session = OrtSession(
        onnx_path, device="cpu", intra_op_num_threads=1, graph_optimization="basic"
    )
    assert session.providers == ("CPUExecutionProvider",)
    assert session.requested_providers == ("CPUExecutionProvider",)
    assert session.input_shape == (None, 32) and session.input_dtype == np.float32
    assert "intra_op_num_threads=1" in repr(session)
    assert default_providers("cpu") == ("CPUExecutionProvider",)


@pytest.mark.parametrize("level", GRAPH_OPTIMIZATIONS)
def test_every_optimization_level_gives_the_same_answer(onnx_path, level):
    x = np.random.default_rng(0).standard_normal((4, 32)).astype(np.float32)
    reference = OrtSession(onnx_path, device="cpu", graph_optimization="disable").run(x)
    got = OrtSession(onnx_path, device="cpu", graph_optimization=level).run(x)
    np.testing.assert_allclose(got, reference, atol=1e-5)


def test_session_rejects_wrong_input_clearly(onnx_path):
    session = OrtSession(onnx_path, device="cpu")
    with pytest.raises(TypeError, match=r"dtype float32, got float64; convert with"):
        session.run(np.zeros((2, 32)))
    with pytest.raises(ValueError, match=r"shape \('batch', 32\), got \(2, 31\)"):
        session.run(np.zeros((2, 31), np.float32))
    with pytest.raises(ValueError, match=r"shape \('batch', 32\), got \(32,\)"):
        session.run(np.zeros(32, np.float32))
    with pytest.raises(TypeError, match=r"NumPy array or torch\.Tensor"):
        session.run([[0.0] * 32])


def test_session_argument_errors(onnx_path, tmp_path):
    with pytest.raises(FileNotFoundError):
        OrtSession(tmp_path / "nope.onnx")
    with pytest.raises(ValueError, match="graph_optimization must be one of"):
        OrtSession(onnx_path, graph_optimization="max")
    with pytest.raises(ValueError, match="intra_op_num_threads must be an integer >= 0"):
        OrtSession(onnx_path, intra_op_num_threads=-1)
    with pytest.raises(ValueError, match="not in this ONNX Runtime build"):
        OrtSession(onnx_path, providers=["NoSuchExecutionProvider"])


def test_parity_against_torch(mlp, onnx_path):
    session = OrtSession(onnx_path, device="cpu")
    x = torch.randn(50, 32)
    result = parity(mlp, session, x)
    with torch.inference_mode():
        direct = np.abs(mlp(x).numpy().astype(np.float64) - session.run(x.numpy())).max()
    assert result.ok and result.max_abs_error == pytest.approx(direct)
    assert result.argmax_agreement == 1.0
    assert parity(mlp, session, x.numpy()).ok  # NumPy input reaches the module as a tensor
    bad = parity(mlp, lambda t: mlp(t) + 1e-2, x)
    assert not bad.ok and "MISMATCH" in repr(bad)


def test_int8_is_quiet_smaller_and_close(mlp, onnx_path, tmp_path, capfd, caplog):
    int8 = quantize_int8(onnx_path, tmp_path / "int8.onnx")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert not [r for r in caplog.records if "pre-processing" in r.getMessage()]
    assert model_size_bytes(int8) < 0.4 * model_size_bytes(onnx_path)
    x = torch.randn(200, 32, generator=torch.Generator().manual_seed(0))
    session = OrtSession(int8, device="cpu")
    result = parity(mlp, session, x, atol=0.1)
    assert result.ok
    # int8 may flip the arg-max only where fp32's top-two margin is within twice its error (an
    # untrained net has many near ties, so a fixed agreement rate depends on the input drawn)
    with torch.no_grad():
        ref = mlp(x).numpy()
    got = np.asarray(session(x))
    top2 = np.sort(ref, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * np.abs(got - ref).max(axis=1)
    assert clear.sum() > 100, f"only {clear.sum()} of 200 rows have a clear arg-max"
    assert (got.argmax(1) == ref.argmax(1))[clear].all()


def test_quantize_errors(onnx_path, tmp_path):
    with pytest.raises(ValueError, match="weight_type must be one of"):
        quantize_int8(onnx_path, tmp_path / "q.onnx", weight_type="int4")
    with pytest.raises(ValueError, match="must differ"):
        quantize_int8(onnx_path, onnx_path)
    with pytest.raises(FileNotFoundError):
        quantize_int8(tmp_path / "none.onnx", tmp_path / "q.onnx")
