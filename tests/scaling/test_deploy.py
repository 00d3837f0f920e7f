"""deploy/: every manifest against the Kubernetes API schema (the official client's models),
and against the code it deploys (flags, ports, metric names, drain timing)."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import k8s_schema as k8s  # noqa: E402
from k8s_schema import deserialize  # noqa: E402
from kubernetes.utils import parse_quantity  # noqa: E402

from labkit.scaling.hpa import ScalingPolicy, ScalingRules  # noqa: E402
from labkit.scaling.serve import build_parser  # noqa: E402
from labkit.scaling.service import make_metrics  # noqa: E402

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def manifests() -> list[tuple[str, dict]]:
    return k8s.manifests(DEPLOY / "k8s")


def objects():
    return {doc["kind"]: deserialize(doc)[0] for _, doc in manifests()}


def test_client_side_validation_is_on():
    # The models reject missing required fields: this is what makes deserialization a check.
    with pytest.raises(ValueError, match="name"):
        client.V1Container(name=None)
    with pytest.raises(ValueError):
        deserialize({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {}}})


@pytest.mark.parametrize(
    ("name", "doc"), manifests(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_manifest_matches_api_schema(name, doc):
    k8s.check_schema(name, doc)


def test_kustomization_lists_every_manifest():
    k8s.check_kustomization(DEPLOY / "k8s")


def test_objects_fit_together():
    objs = objects()
    dep, svc = objs["Deployment"], objs["Service"]
    hpa, pdb = objs["HorizontalPodAutoscaler"], objs["PodDisruptionBudget"]
    labels = dep.spec.template.metadata.labels
    for selector in (
        dep.spec.selector.match_labels,
        svc.spec.selector,
        pdb.spec.selector.match_labels,
    ):
        assert selector.items() <= labels.items()
    (container,) = dep.spec.template.spec.containers
    port_names = {p.name: p.container_port for p in container.ports}
    assert svc.spec.ports[0].target_port in port_names
    for probe in (container.startup_probe, container.readiness_probe, container.liveness_probe):
        assert probe.http_get.port in port_names
    assert container.readiness_probe.http_get.path == "/readyz"
    assert container.liveness_probe.http_get.path == "/healthz"
    ref = hpa.spec.scale_target_ref
    assert (ref.kind, ref.name, ref.api_version) == ("Deployment", dep.metadata.name, "apps/v1")
    assert 1 <= hpa.spec.min_replicas <= hpa.spec.max_replicas
    assert pdb.spec.max_unavailable == 1 and hpa.spec.min_replicas >= 2


def test_resources_match_the_process_layout():
    dep = objects()["Deployment"]
    (container,) = dep.spec.template.spec.containers
    req, lim = container.resources.requests, container.resources.limits
    for resource in ("cpu", "memory"):
        assert parse_quantity(req[resource]) <= parse_quantity(lim[resource])
    assert parse_quantity(req["cpu"]) == parse_quantity(lim["cpu"])  # Guaranteed QoS for CPU
    args = build_parser().parse_args(["--model=x", *container.args])
    assert args.workers * args.torch_threads <= parse_quantity(lim["cpu"])
    assert args.host == "0.0.0.0" and args.port == container.ports[0].container_port
    # drain delay + graceful timeout fit in the grace period before SIGKILL
    grace = dep.spec.template.spec.termination_grace_period_seconds
    assert args.drain_delay_s + args.graceful_timeout_s < grace
    assert dep.spec.template.spec.security_context.run_as_non_root


def test_hpa_metrics_and_behavior():
    hpa = objects()["HorizontalPodAutoscaler"]
    kinds = {m.type: m for m in hpa.spec.metrics}
    cpu = kinds["Resource"].resource
    assert cpu.name == "cpu" and cpu.target.type == "Utilization"
    assert 0 < cpu.target.average_utilization <= 100
    pods = kinds["Pods"].pods
    assert pods.target.type == "AverageValue" and parse_quantity(pods.target.average_value) > 0
    registry, _ = make_metrics()
    assert f"# TYPE {pods.metric.name} gauge" in registry.render()  # the service exports it
    adapter = yaml.safe_load(objects()["ConfigMap"].data["config.yaml"])
    assert pods.metric.name in adapter["rules"][0]["name"]["as"]
    # the behavior is valid for the lab's own HPA implementation too
    for rules in (hpa.spec.behavior.scale_up, hpa.spec.behavior.scale_down):
        ScalingRules(
            stabilization_window_s=rules.stabilization_window_seconds,
            policies=[ScalingPolicy(p.type, p.value, p.period_seconds) for p in rules.policies],
            select_policy=rules.select_policy,
        )


def test_dockerfile_runs_the_service_as_deployed():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert re.search(r"^USER 10001$", text, re.M)
    assert "EXPOSE 8000" in text
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M).group(1))
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    assert entry == ["python", "-m", "labkit.scaling.serve"]
    args = build_parser().parse_args(cmd)  # every flag exists
    train = re.search(r"RUN python -m labkit\.scaling\.train (.*)$", text, re.M).group(1)
    out = shlex.split(train)[shlex.split(train).index("--out") + 1]
    assert args.model == out
    dep = objects()["Deployment"]
    dep_args = build_parser().parse_args(dep.spec.template.spec.containers[0].args)
    assert dep_args.model == out
