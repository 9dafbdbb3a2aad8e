"""The informer's views after a change equal a view built from scratch, whichever way
the informer took to them (kept, moved, or built)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from kubefakes import FakeTransport, page, run_until

from colo.core.builders import PodBuilder
from colo.core.objects import Pod
from colo.kube.informer import Informer


def versions(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A pod and a few later versions of it, each changing some fields."""
    b = PodBuilder("a").req(cpu="100m").owner("Job", "j")
    if draw(st.booleans()):
        b = b.scheduler("colo-batch")
    obj = b.obj()
    out = []
    for rv in range(1, draw(st.integers(2, 6))):
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(rv)
        for change in draw(st.lists(st.sampled_from(["node", "phase", "label", "bad", "none"]))):
            if change == "node":
                obj["spec"]["nodeName"] = draw(st.sampled_from(["n1", "n2", ""]))
            elif change == "phase":
                obj.setdefault("status", {})["phase"] = draw(
                    st.sampled_from(["Pending", "Running", "Succeeded", ""])
                )
            elif change == "label":
                obj["metadata"].setdefault("labels", {})["colo.io/qos"] = "LS"
            elif change == "bad":
                obj["spec"]["nodeName"] = 7  # the whole build names it
        out.append(obj)
    return out


@given(st.data(), st.booleans())
@settings(max_examples=150, deadline=None)
def test_views_equal_a_fresh_build(data: st.DataObject, shaped: bool) -> None:
    objs = data.draw(st.composite(versions)())
    asyncio.run(_check(objs, shaped))


async def _check(objs: list[dict[str, Any]], shaped: bool) -> None:
    t = FakeTransport()
    t.lists = [[page([objs[0]], objs[0]["metadata"]["resourceVersion"])]]
    t.watches = [[{"type": "MODIFIED", "object": o} for o in objs[1:]]]
    inf = Informer(t, "pods", shaped=shaped)
    seen: list[Pod] = []
    inf.subscribe(lambda ev: seen.append(ev.pod) if ev.pod is not None else None)
    last = objs[-1]["metadata"]["resourceVersion"]
    await run_until(inf, lambda: rv_of(inf, "default/a") == last)
    want = Pod.from_k8s(objs[-1]) if objs[-1]["spec"].get("nodeName") != 7 else None
    assert inf.view("default/a") == want
    if want is not None and seen:
        assert seen[-1] == want  # the last event carried what a fresh build gives


def rv_of(inf: Informer, key: str) -> str | None:
    """The cached resourceVersion of `key`; None before the list brought it."""
    return inf.raw().get(key, {}).get("metadata", {}).get("resourceVersion")
