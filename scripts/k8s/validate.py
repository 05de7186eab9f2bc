"""Validates every object of the rendered Kubernetes trees given as arguments, offline.

Core API objects are checked by kubernetes-validate against the OpenAPI schemas of one
Kubernetes release, strictly (an unknown field is an error). KEDA's ScaledObject and
prometheus-operator's PrometheusRule and PodMonitor are checked against models generated from their CRD
schemas (cloudcoil-models-*), and a field the model does not know is an error too.
Kustomizations are build input, not objects, and are skipped.
"""

import pathlib
import sys

import kubernetes_validate
import yaml
from cloudcoil.models.keda.v1alpha1 import ScaledObject
from cloudcoil.models.prometheus_operator.v1 import PodMonitor, PrometheusRule

KUBERNETES = "1.37.0"
CUSTOM = {("keda.sh/v1alpha1", "ScaledObject"): ScaledObject,
          ("monitoring.coreos.com/v1", "PrometheusRule"): PrometheusRule,
          ("monitoring.coreos.com/v1", "PodMonitor"): PodMonitor}


def unknown_fields(given, known, path=""):
    """Paths of `given` that the model's dump `known` lacks (the model ignored them)."""
    if isinstance(given, dict):
        if not isinstance(known, dict):
            return [path or "/"]
        missing = []
        for key, value in given.items():
            if key not in known:
                missing.append(f"{path}/{key}")
            else:
                missing += unknown_fields(value, known[key], f"{path}/{key}")
        return missing
    if isinstance(given, list) and isinstance(known, list):
        return [m for i, (g, k) in enumerate(zip(given, known))
                for m in unknown_fields(g, k, f"{path}/{i}")]
    return []


def check(document):
    key = (document.get("apiVersion"), document.get("kind"))
    if key in CUSTOM:
        model = CUSTOM[key].model_validate(document)
        dump = model.model_dump(by_alias=True, exclude_none=True, mode="json")
        missing = unknown_fields(document, dump)
        if missing:
            raise ValueError(f"fields the CRD schema does not have: {', '.join(missing)}")
        return
    kubernetes_validate.validate(document, KUBERNETES, strict=True)


def main(roots):
    failures, count = [], 0
    for root in roots:
        for path in sorted(pathlib.Path(root).rglob("*.yaml")):
            if path.name == "kustomization.yaml":
                continue
            for document in yaml.safe_load_all(path.read_text()):
                if not document:
                    continue
                count += 1
                name = f"{path}: {document.get('kind')} {document['metadata'].get('name')}"
                try:
                    check(document)
                except Exception as error:  # every kind of validation error is reported alike
                    failures.append(f"{name}: {str(error).splitlines()[0]}")
    for failure in failures:
        print(failure)
    print(f"{count} objects, {len(failures)} invalid (Kubernetes {KUBERNETES})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
