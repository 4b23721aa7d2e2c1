"""Render deploy/manifests/ from the Helm chart (Helm's own engine, helm-python-sdk).

    python deploy/render_manifests.py          # rewrite the manifests
    python deploy/render_manifests.py --check  # exit 1 when they differ from the chart

Each plain manifest is the chart rendered with its values file into the
namespace "trustdoctor": trustdoctor.yaml (the exporter: DaemonSet and /probe)
from values.yaml, and trustdoctor-serve.yaml (the web page, `trustdoctor
serve`) from values-serve.yaml, keeping only the objects of the serve
component so that it stands alone.  tests/exporter/test_deploy.py checks they
are current.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHART = HERE / "helm" / "trustdoctor"
MANIFESTS = HERE / "manifests"
# output file -> (values file, the only component kept or None for all)
OUTPUTS = {
    "trustdoctor.yaml": ("values.yaml", None),
    "trustdoctor-serve.yaml": ("values-serve.yaml", "serve"),
}


def render(out_name: str) -> str:
    import yaml
    from helm_python.chart import Chart

    values_name, component = OUTPUTS[out_name]
    values = yaml.safe_load((MANIFESTS / values_name).read_text()) or {}
    out = Chart.load(str(CHART)).render(values=values, name="trustdoctor", namespace="trustdoctor")
    docs = []
    for name in sorted(out):
        for doc in out[name].split("\n---\n"):
            obj = yaml.safe_load(doc)
            if not obj:
                continue
            labels = obj.get("metadata", {}).get("labels", {})
            if component and labels.get("app.kubernetes.io/component") != component:
                continue
            docs.append(f"# Source: {name}\n{doc.strip()}\n")
    header = (
        f"# Generated from deploy/helm/trustdoctor with deploy/manifests/{values_name} by\n"
        "# deploy/render_manifests.py: edit the chart, not this file.\n"
    )
    return header + "---\n" + "---\n".join(docs)


def main() -> int:
    stale = []
    for out_name in OUTPUTS:
        text = render(out_name)
        path = MANIFESTS / out_name
        if "--check" in sys.argv:
            if not path.exists() or path.read_text() != text:
                stale.append(out_name)
        else:
            path.write_text(text)
    for name in stale:
        print(f"deploy/manifests/{name} differs from the chart", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
