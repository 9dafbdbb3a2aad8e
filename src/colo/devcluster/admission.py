"""Registering colo-webhook with a dev cluster's API server.

`webhook_configuration` builds the MutatingWebhookConfiguration (pod CREATE, v1
AdmissionReview, no side effects, 5 s timeout, reinvoked if needed — the mutation is
idempotent); `register` creates or replaces it; `wait_active` returns once the API server
really calls the webhook. The API server picks up a new configuration asynchronously
(about a second), so a pod created right after registering may still pass unmutated:
`wait_active` creates *dry-run* offline pods (nothing is stored, but mutating webhooks
with `sideEffects: None` are called) until one comes back converted.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from colo.core.errors import InfrastructureError
from colo.devcluster.apiclient import ApiClient, ApiError

PATH = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
WEBHOOK_NAME = "pods.colo.io"

#: The namespace label that turns colo-webhook off for a namespace (value `disabled`).
DISABLE_LABEL = "colo.io/webhook"
DISABLED = "disabled"

#: Every namespace but those labelled `colo.io/webhook: disabled`.
NOT_DISABLED: dict[str, Any] = {
    "matchExpressions": [{"key": DISABLE_LABEL, "operator": "NotIn", "values": [DISABLED]}]
}


def only_namespace(namespace: str) -> dict[str, Any]:
    """A namespaceSelector matching one namespace (by its automatic name label)."""
    return {"matchLabels": {"kubernetes.io/metadata.name": namespace}}


def webhook_configuration(
    name: str,
    url: str,
    ca_file: Path,
    *,
    namespace_selector: Mapping[str, Any],
    failure_policy: str = "Ignore",
) -> dict[str, Any]:
    """A MutatingWebhookConfiguration calling `url` (…/mutate) for every pod CREATE in the
    namespaces `namespace_selector` matches; `ca_file` (PEM) verifies the webhook's cert."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [
            {
                "name": WEBHOOK_NAME,
                "clientConfig": {
                    "url": url,
                    "caBundle": base64.b64encode(ca_file.read_bytes()).decode(),
                },
                "rules": [
                    {
                        "operations": ["CREATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                    }
                ],
                "namespaceSelector": dict(namespace_selector),
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "failurePolicy": failure_policy,
                "reinvocationPolicy": "IfNeeded",
                "timeoutSeconds": 5,
            }
        ],
    }


def register(client: ApiClient, configuration: Mapping[str, Any]) -> None:
    """Create the configuration, or replace one of the same name."""
    name = configuration["metadata"]["name"]
    try:
        client.post(PATH, configuration)
    except ApiError as exc:
        if exc.status != 409:
            raise
        current = client.get(f"{PATH}/{name}")
        body = {**configuration, "metadata": {**configuration["metadata"],
                "resourceVersion": current["metadata"]["resourceVersion"]}}  # fmt: skip
        client.request("PUT", f"{PATH}/{name}", body)


def _probe_pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "colo-webhook-probe-", "labels": {"colo.io/qos": "BE"}},
        "spec": {
            "containers": [
                {"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "10m"}}}
            ]
        },
    }


def wait_active(
    client: ApiClient,
    *,
    namespace: str,
    scheduler_name: str,
    timeout_s: float = 30.0,
    poll_s: float = 0.25,
) -> float:
    """Until a dry-run offline pod in `namespace` comes back with `scheduler_name`: the
    API server calls the webhook. Returns the seconds it took; `InfrastructureError`
    after `timeout_s`."""
    started = time.monotonic()
    last = ""
    while True:
        try:
            got = client.post(f"/api/v1/namespaces/{namespace}/pods?dryRun=All", _probe_pod())
            last = f"schedulerName {got['spec'].get('schedulerName')!r}"
            if got["spec"].get("schedulerName") == scheduler_name:
                return time.monotonic() - started
        except ApiError as exc:
            last = str(exc)
        if time.monotonic() - started > timeout_s:
            raise InfrastructureError(
                f"the API server did not call colo-webhook within {timeout_s:g} s: a dry-run "
                f"offline pod in {namespace} came back with {last}"
            )
        time.sleep(poll_s)
