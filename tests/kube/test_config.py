"""kubeconfig and in-cluster configuration: what is read, and errors that name file and key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from colo.core.errors import InvalidInput
from colo.kube.config import in_cluster_config, load_config, load_kubeconfig


def write(path: Path, doc: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def kubeconfig(**user: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "dev",
        "clusters": [
            {
                "name": "c",
                "cluster": {"server": "https://127.0.0.1:6443/", "certificate-authority": "ca.crt"},
            }
        ],
        "users": [{"name": "u", "user": user or {"token": "t0k"}}],
        "contexts": [
            {"name": "dev", "context": {"cluster": "c", "user": "u"}},
            {"name": "other", "context": {"cluster": "missing", "user": "u"}},
        ],
    }


def test_token_server_and_ca_relative_to_the_file(tmp_path: Path) -> None:
    cfg = load_kubeconfig(write(tmp_path / "config", kubeconfig()))
    assert cfg.server == "https://127.0.0.1:6443"
    assert cfg.bearer_token() == "t0k"
    assert cfg.ca_file == str(tmp_path / "ca.crt")
    assert "context dev" in cfg.source


def test_token_file_is_reread_each_time(tmp_path: Path) -> None:
    tok = tmp_path / "token"
    tok.write_text("one\n")
    cfg = load_kubeconfig(write(tmp_path / "config", kubeconfig(tokenFile="token")))
    assert cfg.bearer_token() == "one"
    tok.write_text("two")
    assert cfg.bearer_token() == "two"


def test_embedded_client_certificate_is_written_to_private_files(tmp_path: Path) -> None:
    b64 = base64.b64encode(b"-----BEGIN X-----\n").decode()
    cfg = load_kubeconfig(
        write(
            tmp_path / "c", kubeconfig(**{"client-certificate-data": b64, "client-key-data": b64})
        )
    )
    assert cfg.client_cert_file and Path(cfg.client_cert_file).read_bytes().startswith(b"-----")
    assert Path(cfg.client_cert_file).stat().st_mode & 0o077 == 0


def test_kubeconfig_env_merges_files_first_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = kubeconfig()
    b = kubeconfig(token="second")
    b["current-context"] = "other"
    pa, pb = write(tmp_path / "a", a), write(tmp_path / "b", b)
    monkeypatch.setenv("KUBECONFIG", f"{pa}:{tmp_path / 'absent'}:{pb}")
    cfg = load_config()
    assert cfg.bearer_token() == "t0k"  # current-context and user from the first file


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.update({"current-context": "nope"}),
            r"context 'nope' not found.*expected one of \['dev', 'other'\]",
        ),
        (
            lambda d: d.update({"current-context": "other"}),
            r"field contexts\[name=other\].context.cluster: cluster 'missing' not found",
        ),
        (
            lambda d: d["clusters"][0]["cluster"].update({"server": "localhost"}),
            r"clusters\[name=c\].cluster.server: missing or not a URL",
        ),
        (
            lambda d: d["users"][0]["user"].update({"exec": {"command": "aws"}}),
            r"users\[name=u\].user.exec: exec credential plugins are not supported",
        ),
        (
            lambda d: d["users"][0]["user"].update({"client-certificate": "x.crt"}),
            r"client certificate needs its key",
        ),
        (
            lambda d: d["clusters"][0]["cluster"].update({"certificate-authority-data": "%%%"}),
            r"certificate-authority-data: not valid base64",
        ),
        (lambda d: d.update({"clusters": {"c": 1}}), r"field clusters: must be a list"),
        (lambda d: d.pop("current-context"), r"no current-context.*--context NAME"),
    ],
)
def test_bad_kubeconfigs_name_the_file_and_key(
    tmp_path: Path, change: object, message: str
) -> None:
    doc = kubeconfig()
    change(doc)  # type: ignore[operator]
    path = write(tmp_path / "config", doc)
    with pytest.raises(InvalidInput, match=message) as err:
        load_kubeconfig(path)
    assert str(path) in str(err.value)


def test_unreadable_or_missing_kubeconfig(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no kubeconfig found"):
        load_kubeconfig(tmp_path / "absent")
    bad = tmp_path / "bad"
    bad.write_text("clusters: [\n")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        load_kubeconfig(bad)


def test_in_cluster_config_from_the_service_account(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_text("x")
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    cfg = in_cluster_config(env, tmp_path)
    assert cfg is not None and cfg.server == "https://[fd00::1]:443"
    assert cfg.bearer_token() == "sa-token" and cfg.ca_file == str(tmp_path / "ca.crt")
    assert in_cluster_config({}, tmp_path) is None


def test_the_transport_rereads_a_token_file_only_after_its_refresh_period(tmp_path: Path) -> None:
    from colo.kube.transport import Transport

    tok = tmp_path / "token"
    tok.write_text("one")
    doc = kubeconfig(tokenFile="token")
    doc["clusters"][0]["cluster"] = {
        "server": "https://127.0.0.1:6443",
        "insecure-skip-tls-verify": True,
    }  # type: ignore[index]
    cfg = load_kubeconfig(write(tmp_path / "config", doc))
    cached = Transport.from_config(cfg, token_refresh_s=3600)
    fresh = Transport.from_config(cfg, token_refresh_s=0)
    assert cached._headers()["Authorization"] == fresh._headers()["Authorization"] == "Bearer one"
    tok.write_text("two")
    assert cached._headers()["Authorization"] == "Bearer one"  # no file read per request
    assert fresh._headers()["Authorization"] == "Bearer two"
