"""The Go client of the coordinator (build/scheduler-plugin/rpc/coordv1, committed, made by
`make proto`) describes the same proto as proto/: the file descriptor protoc-gen-go
embedded in coordinator.pb.go equals the one protoc makes from the proto now. Needs no Go.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[2]
PROTO = "colo/rpc/coord/v1/coordinator.proto"
GO_FILE = ROOT / "build/scheduler-plugin/rpc/coordv1/coordinator.pb.go"

_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39, '"': 34}


def go_string_bytes(literal: str) -> bytes:
    """The bytes of one interpreted Go string literal's body (between the quotes)."""
    out = bytearray()
    i = 0
    while i < len(literal):
        c = literal[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        kind = literal[i + 1]
        if kind in _SIMPLE:
            out.append(_SIMPLE[kind])
            i += 2
        elif kind == "x":
            out.append(int(literal[i + 2 : i + 4], 16))
            i += 4
        elif kind in "01234567":
            out.append(int(literal[i + 1 : i + 4], 8))
            i += 4
        elif kind in "uU":
            width = 4 if kind == "u" else 8
            out += chr(int(literal[i + 2 : i + 2 + width], 16)).encode()
            i += 2 + width
        else:
            raise ValueError(f"unknown Go escape \\{kind}")
    return bytes(out)


def embedded_descriptor(go_source: str) -> bytes:
    match = re.search(r"_rawDesc = ((?:\"(?:[^\"\\]|\\.)*\"(?:\s*\+\s*)?)+)", go_source)
    assert match, "no rawDesc constant in the generated Go file"
    parts = re.findall(r"\"((?:[^\"\\]|\\.)*)\"", match.group(1))
    return b"".join(go_string_bytes(p) for p in parts)


def test_go_string_literals_decode_like_go() -> None:
    assert go_string_bytes(r"\n\x12\"a\\\v\001é") == b'\n\x12"a\\\x0b\x01' + "é".encode()


def test_the_committed_go_client_matches_the_proto(tmp_path: Path) -> None:
    out = tmp_path / "set.pb"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'proto'}",
         f"--descriptor_set_out={out}", str(ROOT / "proto" / PROTO)],
        check=True,
    )  # fmt: skip
    (fresh,) = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    committed = descriptor_pb2.FileDescriptorProto.FromString(
        embedded_descriptor(GO_FILE.read_text(encoding="utf-8"))
    )
    assert committed.name == PROTO
    assert committed == fresh, "build/scheduler-plugin/rpc/coordv1 is stale: run make proto"
