"""deploy/grading/: the Dask grading cluster's manifests against the Kubernetes API schema (the
official client's models), and against what they run (Dask's own command-line parsers, the
course's kernel limits, the image's Dockerfile). No cluster or Docker engine is needed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

kubernetes = pytest.importorskip("kubernetes")
pytest.importorskip("distributed")
from dask.utils import parse_bytes  # noqa: E402
from distributed.cli.dask_scheduler import main as dask_scheduler  # noqa: E402
from distributed.cli.dask_worker import main as dask_worker  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import k8s_schema as k8s  # noqa: E402
from k8s_schema import deserialize  # noqa: E402
from kubernetes.utils import parse_quantity  # noqa: E402

from labkit._cuda_stack import TORCH_CPU  # noqa: E402
from labkit.grading._paths import course_root  # noqa: E402

GRADING = Path(__file__).resolve().parents[2] / "deploy" / "grading"


def manifests() -> list[tuple[str, dict]]:
    return k8s.manifests(GRADING / "k8s")


def objects() -> dict[tuple[str, str], object]:
    """(kind, component) -> the deserialized object."""
    out = {}
    for _, doc in manifests():
        obj = deserialize(doc)[0]
        out[(doc["kind"], obj.metadata.labels["app.kubernetes.io/component"])] = obj
    return out


def _container(dep):
    (container,) = dep.spec.template.spec.containers
    return container


def _parse(command, cli):
    """Dask's own click parser on a container command (``dask worker ...``): every flag exists."""
    assert command[0] == "dask"
    return cli.make_context(f"dask {command[1]}", list(command[2:])).params


@pytest.mark.parametrize(
    ("name", "doc"), manifests(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_manifest_matches_api_schema(name, doc):
    k8s.check_schema(name, doc)


def test_kustomization_lists_every_manifest():
    k8s.check_kustomization(GRADING / "k8s")


def test_labels_images_and_selectors_fit_together():
    objs = objects()
    sched, work = objs[("Deployment", "scheduler")], objs[("Deployment", "worker")]
    svc = objs[("Service", "scheduler")]
    images = {_container(d).image for d in (sched, work)}
    assert images == {f"labkit/grading:{_version()}"}
    for dep in (sched, work):
        labels = dep.spec.template.metadata.labels
        assert dep.spec.selector.match_labels.items() <= labels.items()
        assert dep.metadata.labels == labels
    assert svc.spec.selector.items() <= sched.spec.template.metadata.labels.items()
    assert not svc.spec.selector.items() <= work.spec.template.metadata.labels.items()


def test_worker_command_points_at_the_scheduler_service():
    objs = objects()
    sched, work = objs[("Deployment", "scheduler")], objs[("Deployment", "worker")]
    svc = objs[("Service", "scheduler")]
    sched_args = _parse(_container(sched).command, dask_scheduler)
    work_args = _parse(_container(work).command, dask_worker)
    address = urlsplit(work_args["scheduler"])
    assert address.scheme == "tcp" and address.hostname == svc.metadata.name
    (comm,) = [p for p in svc.spec.ports if p.port == address.port]
    ports = {p.name: p.container_port for p in _container(sched).ports}
    assert ports[comm.target_port] == int(sched_args["port"])
    # one process, one thread: nbgrader grades one submission at a time per process
    assert int(work_args["n_workers"]) == 1 and work_args["nthreads"] == 1
    worker_ports = {p.name: p.container_port for p in _container(work).ports}
    assert worker_ports == {
        "worker": int(work_args["worker_port"]),
        "nanny": int(work_args["nanny_port"]),
    }


def _course_memory_mb() -> int:
    config = (course_root() / "nbgrader_config.py").read_text()
    return int(re.search(r'"LABKIT_KERNEL_MEMORY_MB", "(\d+)"', config).group(1))


def test_worker_resources_fit_one_notebook_autograde():
    work = objects()[("Deployment", "worker")]
    container = _container(work)
    req, lim = container.resources.requests, container.resources.limits
    for resource in ("cpu", "memory"):
        assert parse_quantity(req[resource]) == parse_quantity(lim[resource])  # Guaranteed QoS
    worker_bytes = parse_bytes(_parse(container.command, dask_worker)["memory_limit"])
    kernel_bytes = _course_memory_mb() * 2**20
    # the kernel's heap limit and the worker process's budget both fit under the pod's limit
    assert kernel_bytes + worker_bytes < parse_quantity(lim["memory"])
    env = {e.name: e.value for e in container.env}
    assert int(env["OMP_NUM_THREADS"]) == parse_quantity(lim["cpu"])
    assert "LABKIT_KERNEL_MEMORY_MB" not in env  # nbgrader_config.py is the one source
    sched = _container(objects()[("Deployment", "scheduler")])
    assert sched.resources.requests and sched.resources.limits


def test_worker_security_context_is_what_bubblewrap_needs_and_no_more():
    spec = objects()[("Deployment", "worker")].spec.template.spec
    pod, ctx = (
        spec.security_context,
        _container(objects()[("Deployment", "worker")]).security_context,
    )
    assert spec.host_users is False and ctx.proc_mount == "Unmasked"
    assert pod.seccomp_profile.type == "Unconfined" and pod.app_armor_profile.type == "Unconfined"
    assert pod.run_as_non_root and pod.run_as_user != 0
    assert not ctx.privileged and ctx.allow_privilege_escalation is False
    assert ctx.capabilities.drop == ["ALL"] and not ctx.capabilities.add
    assert ctx.read_only_root_filesystem
    assert spec.automount_service_account_token is False
    assert {
        m.mount_path for m in _container(objects()[("Deployment", "worker")]).volume_mounts
    } == {"/tmp"}


def _rule_ports(rule) -> set[tuple[int, str]]:
    return {(p.port, p.protocol) for p in rule.ports}


def test_worker_network_policy_allows_only_the_scheduler_and_dns():
    objs = objects()
    policy = objs[("NetworkPolicy", "worker")]
    work, sched = objs[("Deployment", "worker")], objs[("Deployment", "scheduler")]
    worker_labels = work.spec.template.metadata.labels
    sched_labels = sched.spec.template.metadata.labels
    selector = policy.spec.pod_selector.match_labels
    assert selector.items() <= worker_labels.items()
    assert not selector.items() <= sched_labels.items()
    assert set(policy.spec.policy_types) == {"Ingress", "Egress"}
    sched_port = int(_parse(_container(sched).command, dask_scheduler)["port"])
    to_scheduler, dns = policy.spec.egress
    (peer,) = to_scheduler.to
    assert peer.pod_selector.match_labels.items() <= sched_labels.items()
    assert peer.namespace_selector is None and peer.ip_block is None
    assert _rule_ports(to_scheduler) == {(sched_port, "TCP")}
    (dns_peer,) = dns.to
    assert dns_peer.namespace_selector.match_labels == {
        "kubernetes.io/metadata.name": "kube-system"
    }
    assert dns_peer.pod_selector.match_labels == {"k8s-app": "kube-dns"}
    assert _rule_ports(dns) == {(53, "UDP"), (53, "TCP")}
    # inbound: only the scheduler, only on the worker and nanny ports
    (inbound,) = policy.spec.ingress
    (source,) = inbound._from
    assert source.pod_selector.match_labels.items() <= sched_labels.items()
    assert {p for p, _ in _rule_ports(inbound)} == {
        p.container_port for p in _container(work).ports
    }


def test_scheduler_accepts_the_workers_and_the_client_only():
    objs = objects()
    policy = objs[("NetworkPolicy", "scheduler")]
    sched, work = objs[("Deployment", "scheduler")], objs[("Deployment", "worker")]
    sched_labels = sched.spec.template.metadata.labels
    assert policy.spec.pod_selector.match_labels.items() <= sched_labels.items()
    comm = int(_parse(_container(sched).command, dask_scheduler)["port"])
    allowed = {}  # component label of each source -> ports it may reach
    for rule in policy.spec.ingress:
        assert rule._from, "an ingress rule without sources admits every pod and address"
        for peer in rule._from:
            assert peer.namespace_selector is None and peer.ip_block is None
            component = peer.pod_selector.match_labels["app.kubernetes.io/component"]
            allowed.setdefault(component, set()).update(p for p, _ in _rule_ports(rule))
    worker_component = work.spec.template.metadata.labels["app.kubernetes.io/component"]
    assert allowed.pop(worker_component) == {comm}
    (client_ports,) = allowed.values()  # one more source: the grading client
    assert client_ports == {p.container_port for p in _container(sched).ports}
    assert "scheduler" not in allowed


def _version() -> str:
    pyproject = (course_root() / "pyproject.toml").read_text()
    return re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)


def test_dockerfile_builds_the_grading_image():
    text = (GRADING / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"apt-get install .*bubblewrap", text)
    torch = re.search(
        r"--index-url https://download\.pytorch\.org/whl/cpu \"torch==([^\"]+)\"", text
    )
    assert torch and torch.group(1) == TORCH_CPU
    install = re.search(r'pip install "/course\[([^\]]+)\]"', text)
    assert install and "cluster" in install.group(1).split(",") and "cpu" in install.group(1)
    assert "python -m labkit.grading._kernel install" in text
    assert re.search(r"^ENV .*LABKIT_COURSE_ROOT=/course\b", text, re.M)
    assert re.search(r"^COPY \. /course/$", text, re.M)
    # the build context lets through the package and the course, and nothing else
    lines = (GRADING / "Dockerfile.dockerignore").read_text().splitlines()
    ignore = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    assert ignore[0] == "*"  # everything out, then the allow list
    for needed in ("pyproject.toml", "nbgrader_config.py", "labkit/", "solutions/"):
        assert f"!{needed}" in ignore
    user = int(re.search(r"^USER (\d+)$", text, re.M).group(1))
    for dep in (objects()[("Deployment", c)] for c in ("scheduler", "worker")):
        assert dep.spec.template.spec.security_context.run_as_user == user


_MASKED_PROC = """
mount --bind /dev/null /proc/kcore 2>/dev/null || mount -t tmpfs tmpfs /proc/acpi || exit 97
exec bwrap --unshare-all --ro-bind / / --proc /proc --dev /dev true
"""


def _in_user_namespace(script: str) -> subprocess.CompletedProcess:
    """``script`` as root of a fresh user, mount and PID namespace: a container, roughly."""
    argv = ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--mount-proc"]
    return subprocess.run([*argv, "sh", "-c", script], capture_output=True, text=True, timeout=60)


def test_bubblewrap_needs_an_unmasked_proc_in_a_container():
    # Why the worker sets procMount: Unmasked: container runtimes mask paths of /proc, and the
    # kernel then refuses the sandbox a fresh /proc for its PID namespace.
    if not (shutil.which("unshare") and shutil.which("bwrap")):
        pytest.skip("needs unshare and bwrap")
    unmasked = _in_user_namespace("exec bwrap --unshare-all --ro-bind / / --proc /proc true")
    if unmasked.returncode != 0:
        pytest.skip(f"no nested user namespaces here: {unmasked.stderr.strip()}")
    masked = _in_user_namespace(_MASKED_PROC)
    if masked.returncode == 97:
        pytest.skip("could not mask a path of /proc here")
    assert masked.returncode != 0
    assert "Can't mount proc" in masked.stderr
