"""Render deploy/manifests/ from the Helm chart (Helm's own engine, helm-python-sdk).

    python deploy/render_manifests.py          # rewrite the manifests
    python deploy/render_manifests.py --check  # exit 1 when they differ from the chart

The plain manifests are the chart rendered with deploy/manifests/values.yaml
into the namespace "trustdoctor"; tests/exporter/test_deploy.py checks they
are current.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHART = HERE / "helm" / "trustdoctor"
OUT = HERE / "manifests" / "trustdoctor.yaml"
VALUES = HERE / "manifests" / "values.yaml"
HEADER = (
    "# Generated from deploy/helm/trustdoctor with deploy/manifests/values.yaml by\n"
    "# deploy/render_manifests.py: edit the chart, not this file.\n"
)


def render() -> str:
    import yaml
    from helm_python.chart import Chart

    values = yaml.safe_load(VALUES.read_text()) or {}
    out = Chart.load(str(CHART)).render(values=values, name="trustdoctor", namespace="trustdoctor")
    docs = []
    for name in sorted(out):
        for doc in out[name].split("\n---\n"):
            if doc.strip():
                docs.append(f"# Source: {name}\n{doc.strip()}\n")
    return HEADER + "---\n" + "---\n".join(docs)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        return 0 if OUT.read_text() == text else 1
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
