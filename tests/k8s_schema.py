"""Kubernetes manifests read into the official client's models: a misspelt, misplaced or missing
field fails here, with no cluster. Shared by tests/scaling/test_deploy.py (lab 04's service)
and tests/grading/test_grading_deploy.py (the grading cluster)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

# every kind the deploy/ folders use, and the model that holds it
MODELS = {
    ("apps/v1", "Deployment"): "V1Deployment",
    ("v1", "Service"): "V1Service",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2HorizontalPodAutoscaler",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("networking.k8s.io/v1", "NetworkPolicy"): "V1NetworkPolicy",
}


class _Response:  # what ApiClient.deserialize reads
    def __init__(self, doc: dict[str, Any]) -> None:
        self.data = json.dumps(doc)


def manifests(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    """(file name, document) for every object in ``folder``'s YAML files but its kustomization."""
    docs = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def deserialize(doc: dict[str, Any]) -> tuple[Any, client.ApiClient]:
    api = client.ApiClient()
    return api.deserialize(_Response(doc), MODELS[(doc["apiVersion"], doc["kind"])]), api


def check_schema(name: str, doc: dict[str, Any]) -> None:
    assert (doc["apiVersion"], doc["kind"]) in MODELS, f"{name}: unexpected kind {doc['kind']}"
    obj, api = deserialize(doc)
    # Round trip: a misspelt or misplaced field is dropped by the models and shows up here.
    assert api.sanitize_for_serialization(obj) == doc


def check_kustomization(folder: Path) -> None:
    kust = yaml.safe_load((folder / "kustomization.yaml").read_text())
    files = {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kust["resources"]) == files
