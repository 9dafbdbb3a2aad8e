"""Typed reads from raw Kubernetes JSON with errors that name the object and the field path.

Every reader takes the parent mapping, the key, `obj` (e.g. `pod default/web`) and the path
of the parent (e.g. `spec.containers[0]`); on a wrong type it raises InvalidInput naming
`<path>.<key>`, the offending value and what was expected. JSON `null` reads as absent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from colo.core.errors import InvalidInput

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_SHOWN_CHARS = 60


def field_path(base: str, key: str) -> str:
    """`base.key` for identifier-like keys, else `base["key"]` (e.g. `labels["colo.io/qos"]`)."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{base}.{key}" if base else key
    return f'{base}["{key}"]'


class _Shown:
    """A value shortened for an error message (its repr is at most ~60 characters)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def shown(value: object) -> object:
    """`value` itself when short, else a stand-in whose repr is truncated."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = repr(value)
    if len(text) <= _SHOWN_CHARS:
        return value
    return _Shown(text[: _SHOWN_CHARS - 3] + "...")


def wrong_type(obj: str, path: str, value: object, expected: str) -> InvalidInput:
    if value is None:
        return InvalidInput("missing required field", obj=obj, field=path, expected=expected)
    return InvalidInput("wrong type", obj=obj, field=path, value=shown(value), expected=expected)


# `type(x) is dict` first: JSON objects are dicts, and the ABC isinstance check is slow.


def as_mapping(value: object, obj: str, path: str) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, Mapping):
        return value
    raise wrong_type(obj, path, value, "an object")


def opt_mapping(
    parent: Mapping[str, Any], key: str, obj: str, path: str
) -> Mapping[str, Any] | None:
    value = parent.get(key)
    if value is None or type(value) is dict or isinstance(value, Mapping):
        return value
    raise wrong_type(obj, field_path(path, key), value, "an object")


def opt_list(parent: Mapping[str, Any], key: str, obj: str, path: str) -> Sequence[Any]:
    value = parent.get(key)
    if value is None:
        return ()
    if type(value) is list or isinstance(value, list | tuple):
        return value
    raise wrong_type(obj, field_path(path, key), value, "a list")


def opt_str(parent: Mapping[str, Any], key: str, obj: str, path: str, default: str = "") -> str:
    value = parent.get(key)
    if value is None:
        return default
    if type(value) is str or isinstance(value, str):
        return value
    raise wrong_type(obj, field_path(path, key), value, "a string")


def opt_int(
    parent: Mapping[str, Any], key: str, obj: str, path: str, default: int | None = None
) -> int | None:
    value = parent.get(key)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # JSON decoders may hand whole numbers over as floats
    raise wrong_type(obj, field_path(path, key), value, "an integer")


def opt_bool(
    parent: Mapping[str, Any], key: str, obj: str, path: str, default: bool = False
) -> bool:
    value = parent.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    raise wrong_type(obj, field_path(path, key), value, "true or false")


def str_map(parent: Mapping[str, Any], key: str, obj: str, path: str) -> dict[str, str]:
    """A string → string map (labels, annotations, nodeSelector), copied."""
    value = parent.get(key)
    if value is None:
        return {}
    if not (type(value) is dict or isinstance(value, Mapping)):
        raise wrong_type(obj, field_path(path, key), value, "an object of string values")
    out = dict(value)
    for k, v in out.items():
        if type(k) is not str or type(v) is not str:
            here = field_path(path, key)
            if not isinstance(k, str):
                raise InvalidInput(
                    "invalid key", obj=obj, field=here, value=shown(k), expected="string keys"
                )
            if not isinstance(v, str):
                raise wrong_type(obj, field_path(here, k), v, "a string")
    return out
