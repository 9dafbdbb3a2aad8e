"""Decode only what colo reads of pods and nodes.

A listing of 10,000 pods is about 25 MB of JSON, most of it `managedFields`, container
images and environments, and status conditions that colo never looks at. Decoding all of
it into dicts cost colo-batch more CPU than deciding where the pods go, and keeping it
cost more memory than the rest of its state. The shapes below name the fields that
`colo.core.objects.Pod.from_k8s` and `Node.from_k8s` read (plus `resourceVersion`, which
the informer needs); msgspec skips everything else while it parses, without building it.

The result is plain dicts and lists, as `json.loads` would give for those fields, so
the views are built exactly as before (`tests/kube/test_shapes.py` holds the views of
full and of shaped objects equal). Leaves are `Any`: a field of the wrong type is still
found and named by `Pod.from_k8s`, object by object. Only a structure that no API server
sends (a `metadata` that is not an object, say) fails the shaped decode; then the body
is decoded whole, so the informer treats that object as it always has.

Why msgspec: it parses straight into these shapes in C, several times faster than
`json.loads` and without the intermediate objects; no other maintained library decodes
a JSON subset by schema.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

import msgspec


class _Owner(TypedDict, total=False):
    kind: Any
    name: Any
    controller: Any


class _Meta(TypedDict, total=False):
    name: Any
    generateName: Any
    namespace: Any
    uid: Any
    resourceVersion: Any
    creationTimestamp: Any
    labels: Any
    annotations: Any
    ownerReferences: list[_Owner]


class _Container(TypedDict, total=False):
    name: Any
    restartPolicy: Any
    resources: Any


class _PodSpec(TypedDict, total=False):
    nodeName: Any
    schedulerName: Any
    priority: Any
    tolerations: Any
    nodeSelector: Any
    affinity: Any
    containers: list[_Container]
    initContainers: list[_Container]
    overhead: Any
    resources: Any


class _PodStatus(TypedDict, total=False):
    phase: Any
    qosClass: Any


class _Pod(TypedDict, total=False):
    metadata: _Meta
    spec: _PodSpec
    status: _PodStatus


class _Condition(TypedDict, total=False):
    type: Any
    status: Any


class _NodeSpec(TypedDict, total=False):
    taints: Any
    unschedulable: Any


class _NodeStatus(TypedDict, total=False):
    capacity: Any
    allocatable: Any
    conditions: list[_Condition]


class _Node(TypedDict, total=False):
    metadata: _Meta
    spec: _NodeSpec
    status: _NodeStatus


class _PodList(TypedDict, total=False):
    metadata: Any  # resourceVersion, continue
    items: list[_Pod]


class _NodeList(TypedDict, total=False):
    metadata: Any
    items: list[_Node]


class _Event(msgspec.Struct):
    type: Any = None
    object: msgspec.Raw = msgspec.Raw()  # decoded once its type is known


OBJECT_EVENTS = frozenset({"ADDED", "MODIFIED", "DELETED"})
#: What the API server puts before a Protobuf body (k8s.io/apimachinery's serializer).
PROTOBUF_MAGIC = b"k8s\x00"
#: Ask for Protobuf, take JSON from a server (or a proxy) that cannot give it.
PROTOBUF_OR_JSON = "application/vnd.kubernetes.protobuf, application/json"


class Shape:
    """How to decode a list page and a watch line of one resource, keeping its shape.

    `protobuf`: ask for list pages in Kubernetes' Protobuf encoding (pods and nodes:
    `colo.kube.protolist`, which decodes them to the same dicts); a JSON answer is
    still taken."""

    def __init__(self, resource: str, item: type, page: type, *, protobuf: bool = False) -> None:
        self.resource = resource
        self._list: msgspec.json.Decoder[Any] = msgspec.json.Decoder(page)
        self._object: msgspec.json.Decoder[Any] = msgspec.json.Decoder(item)
        self._event = msgspec.json.Decoder(_Event)
        self._protobuf = protobuf
        #: the Accept header of a list request in this shape
        self.list_accept = PROTOBUF_OR_JSON if protobuf else "application/json"

    def decode_list(self, body: bytes) -> Any:
        """A list page: `metadata` whole (resourceVersion, continue), items shaped."""
        if self._protobuf and body[:4] == PROTOBUF_MAGIC:
            # Imported at the first such page (protobuf's runtime and colo's messages:
            # ~8 ms compiled, beside aiohttp's and numpy's imports), so that a process
            # that lists neither pods nor nodes never loads them.
            from colo.kube.protolist import DECODERS

            return DECODERS[self.resource](body)
        try:
            return self._list.decode(body)
        except msgspec.ValidationError:
            return json.loads(body)  # an odd object: decoded whole (module docstring)

    def decode_event(self, line: bytes) -> dict[str, Any]:
        """A watch line: an object event's object shaped; ERROR and BOOKMARK whole."""
        try:
            event = self._event.decode(line)
        except msgspec.ValidationError:
            return dict(json.loads(line))
        if event.type not in OBJECT_EVENTS or not event.object:
            return dict(json.loads(line))
        try:
            obj = self._object.decode(event.object)
        except msgspec.ValidationError:
            obj = json.loads(bytes(event.object))
        return {"type": event.type, "object": obj}


POD = Shape("pods", _Pod, _PodList, protobuf=True)
NODE = Shape("nodes", _Node, _NodeList, protobuf=True)
SHAPES: dict[str, Shape] = {"pods": POD, "nodes": NODE}
