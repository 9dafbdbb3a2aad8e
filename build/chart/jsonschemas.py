"""Write the JSON schemas kubeconform validates the chart's objects against.

    jsonschemas.py OUT SWAGGER [CRD.yaml ...]

SWAGGER is Kubernetes' own OpenAPI v2 document (api/openapi-spec/swagger.json in the
k8s.io/kubernetes module of the pinned version); each CRD.yaml is a
CustomResourceDefinition (cert-manager's and the Prometheus operator's, from their Go
modules). For every kind, one standalone schema is written to
OUT/<group>/<version>/<kind>.json (group "v1" for the core group, kind in lower case),
the layout kubeconform reads with -schema-location 'OUT/{{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}.json'.

Why not a ready-made set: the usual ones are fetched from GitHub, which this project's
machines cannot reach, and are made by a script outside any package registry. The
conversion is small and follows what the API server itself accepts:
- a field of an object with declared properties must be one of them (strict, as the API
  server's strict field validation), unless the schema keeps unknown fields;
- int-or-string fields take either; quantities take strings and numbers (YAML `cpu: 1`);
- references stay references, to the definitions copied into each file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
REF = "#/definitions/"


def _strict(node: Any) -> Any:
    """A copy of a schema node with its objects closed and its loose scalars widened."""
    if isinstance(node, list):
        return [_strict(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if out.get("format") == "int-or-string" or out.get("x-kubernetes-int-or-string"):
        for key in ("type", "format"):
            out.pop(key, None)
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _refs(node: Any, into: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            into.add(ref[len(REF) :])
        for v in node.values():
            _refs(v, into)
    elif isinstance(node, list):
        for v in node:
            _refs(v, into)


def _closure(name: str, definitions: dict[str, Any]) -> dict[str, Any]:
    """Every definition `name` reaches through references, itself included."""
    seen: dict[str, Any] = {}
    todo = [name]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen[n] = definitions[n]
        found: set[str] = set()
        _refs(definitions[n], found)
        todo.extend(sorted(found - seen.keys()))
    return seen


def _path(out: Path, group: str, version: str, kind: str) -> Path:
    return out / (group or version) / version / f"{kind.lower()}.json"


def from_swagger(out: Path, swagger: dict[str, Any]) -> int:
    definitions = {k: _strict(v) for k, v in swagger["definitions"].items()}
    definitions[QUANTITY] = {"oneOf": [{"type": "string"}, {"type": "number"}]}
    written = 0
    for name, schema in definitions.items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            group, version, kind = gvk["group"], gvk["version"], gvk["kind"]
            if kind.endswith("List") or (group, kind) == ("", "Status"):
                continue
            doc = {
                "$schema": "http://json-schema.org/draft-04/schema#",
                "$ref": f"{REF}{name}",
                "definitions": _closure(name, definitions),
            }
            path = _path(out, group, version, kind)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(doc, sort_keys=True), encoding="utf-8")
            written += 1
    return written


def from_crd(out: Path, crd: dict[str, Any]) -> int:
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    written = 0
    for version in spec["versions"]:
        schema = _strict(((version.get("schema") or {}).get("openAPIV3Schema")) or {})
        props = schema.setdefault("properties", {})
        # The API server's own fields of every object, typed as it types them.
        props["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        props["kind"] = {"type": "string", "enum": [kind]}
        props["metadata"] = {"type": "object"}
        schema["additionalProperties"] = False
        doc = {"$schema": "http://json-schema.org/draft-04/schema#", **schema}
        path = _path(out, group, version["name"], kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, sort_keys=True), encoding="utf-8")
        written += 1
    return written


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: jsonschemas.py OUT SWAGGER [CRD.yaml ...]", file=sys.stderr)
        return 2
    out, swagger = Path(argv[0]), Path(argv[1])
    n = from_swagger(out, json.loads(swagger.read_text(encoding="utf-8")))
    for crd_path in argv[2:]:
        for doc in yaml.safe_load_all(Path(crd_path).read_text(encoding="utf-8")):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                n += from_crd(out, doc)
    print(f"jsonschemas: {n} schemas in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
