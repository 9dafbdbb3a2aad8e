"""Keys, tokens and kubeconfigs for a dev cluster.

Authentication is by static bearer token (kube-apiserver ``--token-auth-file``): one token
per client so the API server's logs and audit say who did what. Every user is in group
``system:masters``; this is a throwaway loopback cluster, and the controller-manager runs
without per-controller service accounts, so it needs broad rights anyway.

The service-account signing key pair is made with the openssl CLI (no Python crypto
dependency). The API server makes its own self-signed serving certificate in its
``--cert-dir``; kubeconfigs name that file as their CA.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from pathlib import Path

from colo.core.errors import InfrastructureError

ADMIN = "admin"


def new_token() -> str:
    """A random bearer token (32 hex characters, 128 bits)."""
    return secrets.token_hex(16)


def _openssl(purpose: str) -> str:
    found = shutil.which("openssl")
    if found is None:
        raise InfrastructureError(f"openssl not found in PATH; it makes {purpose}")
    return found


def write_service_account_keys(private_key: Path, public_key: Path) -> None:
    """RSA-2048 key pair in PEM: `private_key` (PKCS#8) and `public_key` (SubjectPublicKeyInfo)."""
    openssl = _openssl("the service-account keys")
    for argv in (
        [openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
         "-out", str(private_key)],
        [openssl, "pkey", "-in", str(private_key), "-pubout", "-out", str(public_key)],
    ):  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise InfrastructureError(
                f"openssl failed ({' '.join(argv[1:3])}): {done.stderr.strip()}"
            )
    private_key.chmod(0o600)


def write_token_file(path: Path, tokens: dict[str, str]) -> None:
    """kube-apiserver token file: ``token,user,uid,"group"`` per line, group system:masters."""
    lines = [f'{token},{user},{user},"system:masters"' for user, token in tokens.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def render_kubeconfig(*, server: str, token: str, ca_file: Path, user: str) -> str:
    """A one-cluster, one-user kubeconfig (YAML; strings JSON-quoted, which YAML accepts)."""

    def q(value: str) -> str:
        return json.dumps(value)

    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        "- name: colo-dev\n"
        "  cluster:\n"
        f"    server: {q(server)}\n"
        f"    certificate-authority: {q(str(ca_file))}\n"
        "users:\n"
        f"- name: {q(user)}\n"
        "  user:\n"
        f"    token: {q(token)}\n"
        "contexts:\n"
        "- name: colo-dev\n"
        "  context:\n"
        "    cluster: colo-dev\n"
        f"    user: {q(user)}\n"
        "current-context: colo-dev\n"
    )


def write_kubeconfig(path: Path, *, server: str, token: str, ca_file: Path, user: str) -> None:
    path.write_text(
        render_kubeconfig(server=server, token=token, ca_file=ca_file, user=user),
        encoding="utf-8",
    )
    path.chmod(0o600)


def write_serving_cert(
    cert: Path, key: Path, *, ips: tuple[str, ...] = ("127.0.0.1",), days: int = 30
) -> None:
    """A self-signed ECDSA serving certificate for `ips` (its own CA bundle), for local webhooks."""
    openssl = _openssl("the serving certificate")
    san = ",".join([f"IP:{ip}" for ip in ips] + ["DNS:localhost"])
    argv = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", str(days),
        "-subj", "/CN=colo-webhook", "-addext", f"subjectAltName={san}",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InfrastructureError(f"openssl failed (req -x509): {done.stderr.strip()}")
    key.chmod(0o600)
