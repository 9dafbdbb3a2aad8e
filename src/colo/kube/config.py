"""Where the API server is and how to authenticate: kubeconfig files and in-cluster config.

Written here rather than borrowed: the asyncio clients' loaders come welded to their own
HTTP stacks and models (kubernetes_asyncio, lightkube/httpx), and colo talks raw JSON
over aiohttp. This is the subset colo supports, with errors that name the file and key:

- `$KUBECONFIG` (colon-separated; like kubectl, the first file to define a name wins) or
  `~/.kube/config`, or an explicit path; `--context` or the file's current-context.
- cluster: `server`, `certificate-authority` / `-data`, `insecure-skip-tls-verify`.
- user: `token`, `tokenFile`, `client-certificate` / `-data` with `client-key` / `-data`.
  `exec` and `auth-provider` plugins are refused with a clear message.
- in cluster: the service account token and CA under
  /var/run/secrets/kubernetes.io/serviceaccount and `KUBERNETES_SERVICE_HOST/PORT`.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import os
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from colo.core.errors import InvalidInput

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class ClientConfig:
    """Everything a `Transport` needs to reach and authenticate to one API server."""

    server: str
    token: str | None = None
    token_file: str | None = None
    ca_file: str | None = None
    ca_data: bytes | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    insecure_skip_verify: bool = False
    source: str = ""

    def bearer_token(self) -> str | None:
        """The token, read from `token_file` when there is one (the transport caches it)."""
        if self.token_file:
            try:
                return Path(self.token_file).read_text().strip()
            except OSError as e:
                raise InvalidInput(
                    f"cannot read the token file: {e.strerror}",
                    obj=self.source or "client config",
                    field="tokenFile",
                    value=self.token_file,
                ) from e
        return self.token

    def ssl_context(self) -> ssl.SSLContext | bool:
        """A TLS context for the server (False: do not verify, for `insecure-skip-tls-verify`)."""
        if self.insecure_skip_verify and not self.client_cert_file:
            return False
        ctx = ssl.create_default_context(
            cafile=self.ca_file,
            cadata=self.ca_data.decode("ascii") if self.ca_data else None,
        )
        if self.insecure_skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.client_cert_file:
            ctx.load_cert_chain(self.client_cert_file, self.client_key_file)
        return ctx


Named = dict[str, tuple[dict[str, Any], str]]


def _named(doc: Mapping[str, Any], section: str, origin: str) -> Named:
    """`{name: (body, file)}` for `clusters`, `users` or `contexts` of one file."""
    out: Named = {}
    entries = doc.get(section) or []
    if not isinstance(entries, list):
        raise InvalidInput("must be a list", obj=f"kubeconfig {origin}", field=section)
    inner = section[:-1]  # clusters -> cluster
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InvalidInput(
                "each entry needs a string name",
                obj=f"kubeconfig {origin}",
                field=f"{section}[{i}].name",
            )
        body = entry.get(inner)
        if not isinstance(body, dict):
            raise InvalidInput(
                f"missing the {inner!r} mapping",
                obj=f"kubeconfig {origin}",
                field=f"{section}[name={entry['name']}]",
            )
        out.setdefault(entry["name"], (body, origin))
    return out


def _read_doc(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as e:
        raise InvalidInput(f"cannot read it: {e.strerror}", obj=f"kubeconfig {path}") from e
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise InvalidInput(f"not valid YAML: {e}", obj=f"kubeconfig {path}") from e
    if not isinstance(doc, dict):
        raise InvalidInput("expected a mapping at the top", obj=f"kubeconfig {path}")
    return doc


def _b64(data: str, *, origin: str, field: str, what: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidInput(
            "not valid base64", obj=f"kubeconfig {origin}", field=field, expected=what
        ) from e


def _materialize(data: str, *, what: str, origin: str, field: str) -> str:
    """Write base64 `data` to a private temp file (ssl wants files), removed at exit."""
    raw = _b64(data, origin=origin, field=field, what=what)
    fd, name = tempfile.mkstemp(prefix="colo-kube-", suffix=".pem")
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    atexit.register(_remove, name)
    return name


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _relative(value: str, origin: str) -> str:
    """Paths in a kubeconfig are relative to the file that holds them."""
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else Path(origin).parent / p)


def kubeconfig_paths(explicit: str | os.PathLike[str] | None = None) -> list[Path]:
    if explicit:
        return [Path(explicit)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def load_kubeconfig(
    path: str | os.PathLike[str] | None = None, *, context: str | None = None
) -> ClientConfig:
    """The client config of `context` (default: current-context) from kubeconfig files."""
    paths = kubeconfig_paths(path)
    existing = [p for p in paths if p.exists()]
    if not existing:
        raise InvalidInput(
            "no kubeconfig found",
            obj="kubeconfig",
            value=os.pathsep.join(str(p) for p in paths),
            expected="--kubeconfig PATH, $KUBECONFIG, ~/.kube/config, or running in a pod",
        )
    clusters: Named = {}
    users: Named = {}
    contexts: Named = {}
    current = ""
    for p in existing:
        doc = _read_doc(p)
        origin = str(p)
        for k, v in _named(doc, "clusters", origin).items():
            clusters.setdefault(k, v)
        for k, v in _named(doc, "users", origin).items():
            users.setdefault(k, v)
        for k, v in _named(doc, "contexts", origin).items():
            contexts.setdefault(k, v)
        current = current or str(doc.get("current-context") or "")
    where = ", ".join(str(p) for p in existing)
    name = context or current
    if not name:
        raise InvalidInput(
            "no current-context", obj=f"kubeconfig {where}", expected="--context NAME"
        )
    if name not in contexts:
        raise InvalidInput(
            f"context {name!r} not found",
            obj=f"kubeconfig {where}",
            field="contexts",
            expected=f"one of {sorted(contexts)}",
        )
    ctx, ctx_origin = contexts[name]
    cluster_name = str(ctx.get("cluster") or "")
    if cluster_name not in clusters:
        raise InvalidInput(
            f"cluster {cluster_name!r} not found",
            obj=f"kubeconfig {ctx_origin}",
            field=f"contexts[name={name}].context.cluster",
        )
    cluster, c_origin = clusters[cluster_name]
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise InvalidInput(
            "missing or not a URL",
            obj=f"kubeconfig {c_origin}",
            field=f"clusters[name={cluster_name}].cluster.server",
            value=server,
            expected="https://host:port",
        )
    ca_file = ca_data = None
    if cluster.get("certificate-authority-data"):
        ca_data = _b64(
            str(cluster["certificate-authority-data"]),
            origin=c_origin,
            field=f"clusters[name={cluster_name}].cluster.certificate-authority-data",
            what="a PEM bundle",
        )
    elif cluster.get("certificate-authority"):
        ca_file = _relative(str(cluster["certificate-authority"]), c_origin)
    insecure = bool(cluster.get("insecure-skip-tls-verify", False))

    user_name = str(ctx.get("user") or "")
    user: dict[str, Any] = {}
    u_origin = ctx_origin
    if user_name:
        if user_name not in users:
            raise InvalidInput(
                f"user {user_name!r} not found",
                obj=f"kubeconfig {ctx_origin}",
                field=f"contexts[name={name}].context.user",
            )
        user, u_origin = users[user_name]
    field = f"users[name={user_name}].user"
    for plugin in ("exec", "auth-provider"):
        if user.get(plugin):
            raise InvalidInput(
                f"{plugin} credential plugins are not supported",
                obj=f"kubeconfig {u_origin}",
                field=f"{field}.{plugin}",
                expected="a token, tokenFile or client certificate",
            )

    def pem_file(name: str, what: str) -> str | None:
        """`<name>-data` (embedded, base64) or `<name>` (a path), as a file path."""
        if user.get(f"{name}-data"):
            data = str(user[f"{name}-data"])
            return _materialize(data, what=what, origin=u_origin, field=f"{field}.{name}-data")
        if user.get(name):
            return _relative(str(user[name]), u_origin)
        return None

    cert = pem_file("client-certificate", "a PEM certificate")
    key = pem_file("client-key", "a PEM key")
    if (cert is None) != (key is None):
        raise InvalidInput(
            "a client certificate needs its key and the other way round",
            obj=f"kubeconfig {u_origin}",
            field=field,
        )
    token_file = user.get("tokenFile")
    return ClientConfig(
        server=server.rstrip("/"),
        token=str(user["token"]) if user.get("token") else None,
        token_file=_relative(str(token_file), u_origin) if token_file else None,
        ca_file=ca_file,
        ca_data=ca_data,
        client_cert_file=cert,
        client_key_file=key,
        insecure_skip_verify=insecure,
        source=f"kubeconfig {ctx_origin} context {name}",
    )


def in_cluster_config(
    env: Mapping[str, str] | None = None, sa_dir: Path = SERVICE_ACCOUNT_DIR
) -> ClientConfig | None:
    """The pod's service-account config, or None when not running in a pod."""
    env = os.environ if env is None else env
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    token = sa_dir / "token"
    if not host or not port or not token.exists():
        return None
    if ":" in host:
        host = f"[{host}]"
    ca = sa_dir / "ca.crt"
    return ClientConfig(
        server=f"https://{host}:{port}",
        token_file=str(token),
        ca_file=str(ca) if ca.exists() else None,
        source="in-cluster service account",
    )


def load_config(
    kubeconfig: str | os.PathLike[str] | None = None, *, context: str | None = None
) -> ClientConfig:
    """kubectl's order: an explicit kubeconfig, $KUBECONFIG, in-cluster, ~/.kube/config."""
    if kubeconfig is None and not os.environ.get("KUBECONFIG"):
        found = in_cluster_config()
        if found is not None:
            return found
    return load_kubeconfig(kubeconfig, context=context)
