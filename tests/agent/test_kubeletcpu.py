"""Reading the kubelet's CPU manager checkpoint (`/var/lib/kubelet/cpu_manager_state`)."""

from __future__ import annotations

import pytest

from colo.agent.kubeletcpu import (
    CPU_MANAGER_STATE_PATH,
    KubeletCPUOwner,
    describe_owner,
    parse_kubelet_cpu_state,
)
from colo.core.errors import InvalidInput

# As a kubelet 1.30 with the static policy and --reserved-cpus=0-1 writes it.
STATIC = (
    '{"policyName":"static","defaultCpuSet":"0-1,8-31",'
    '"entries":{"7c1f5a7e-0b7d-4b8e-9a43-2f3e6c1d9a10":{"app":"2-3","sidecar":"4-5"},'
    '"0a9e2c44-5b1e-4a7d-8f0a-1d2c3b4a5e6f":{"db":"6-7"}},"checksum":3221225472}'
)


def test_a_static_checkpoint_gives_each_pods_cpus_over_all_its_containers() -> None:
    state = parse_kubelet_cpu_state(STATIC)
    assert state.policy == "static"
    assert state.default_cpus == {0, 1, *range(8, 32)}
    assert [o.owner for o in state.owners] == [  # ascending, whatever the file's order
        "0a9e2c44-5b1e-4a7d-8f0a-1d2c3b4a5e6f",
        "7c1f5a7e-0b7d-4b8e-9a43-2f3e6c1d9a10",
    ]
    web = state.owner_of("7c1f5a7e-0b7d-4b8e-9a43-2f3e6c1d9a10")
    assert web is not None
    assert web.cpus == {2, 3, 4, 5} and web.pod_uid == web.owner
    assert web.containers == (("app", frozenset({2, 3})), ("sidecar", frozenset({4, 5})))
    assert state.owned_cpus == set(range(2, 8))
    assert state.owner_of("no-such-pod") is None


def test_the_none_policy_and_a_blank_file_own_nothing() -> None:
    none = parse_kubelet_cpu_state('{"policyName":"none","defaultCpuSet":"","checksum":1353318690}')
    assert none.policy == "none" and none.owners == () and none.owned_cpus == frozenset()
    assert parse_kubelet_cpu_state(" \n").policy == "none"


def test_a_v1_checkpoint_names_owners_by_container_id() -> None:
    state = parse_kubelet_cpu_state(
        '{"policyName":"static","defaultCpuSet":"0,3","entries":{"abc123":"1-2"}}'
    )
    (owner,) = state.owners
    assert owner.owner == "container:abc123" and owner.pod_uid is None
    assert describe_owner(owner, {}) == (
        "kubelet static CPU manager owns cpus 1-2 for container abc123"
    )


def test_owners_are_described_by_pod_name_when_colo_knows_the_pod() -> None:
    owner = KubeletCPUOwner("u1", frozenset({4, 5, 6, 7}), (("app", frozenset({4, 5, 6, 7})),))
    assert describe_owner(owner, {"u1": "default/web"}) == (
        "kubelet static CPU manager owns cpus 4-7 for pod default/web"
    )
    assert describe_owner(owner, {}).endswith("for pod uid u1")


def test_the_state_is_hashable_so_an_unchanged_one_is_recognised() -> None:
    assert hash(parse_kubelet_cpu_state(STATIC)) == hash(parse_kubelet_cpu_state(STATIC))
    assert parse_kubelet_cpu_state(STATIC) == parse_kubelet_cpu_state(STATIC)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        pytest.param("{not json", None, "not JSON", id="text that is not JSON"),
        pytest.param("[]", None, "a JSON object", id="a JSON list"),
        pytest.param('{"defaultCpuSet":"0"}', "policyName", "policy name", id="no policy"),
        pytest.param(
            '{"policyName":"static","defaultCpuSet":7}', "defaultCpuSet", "cpu list", id="number"
        ),
        pytest.param(
            '{"policyName":"static","defaultCpuSet":"3-1"}',
            "defaultCpuSet",
            "low-high",
            id="a backwards range",
        ),
        pytest.param(
            '{"policyName":"static","entries":[]}', "entries", "pod uid", id="entries as a list"
        ),
        pytest.param(
            '{"policyName":"static","entries":{"u1":{"app":"x"}}}',
            "entries.u1.app",
            "cpu list",
            id="a container's cpus that are not a cpu list",
        ),
        pytest.param(
            '{"policyName":"static","entries":{"u1":{"app":5}}}',
            "entries.u1.app",
            "cpu list",
            id="a container's cpus as a number",
        ),
        pytest.param(
            '{"policyName":"static","entries":{"u1":7}}',
            "entries.u1",
            "container name",
            id="a pod's entry as a number",
        ),
    ],
)
def test_a_malformed_checkpoint_is_refused_naming_the_field(
    text: str, field: str | None, words: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_kubelet_cpu_state(text)
    assert info.value.obj == CPU_MANAGER_STATE_PATH
    assert info.value.field == field
    assert words in str(info.value)
