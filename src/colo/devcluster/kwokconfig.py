"""kwok's configuration for the dev cluster: options plus the lifecycle Stages.

kwok 0.8 run on its own (not through kwokctl) has no built-in stages: without any it
exits with "no stages found". These stages give the behaviour of a fast, healthy kubelet:

- node-ready: a managed Node without ``Ready=True`` gets kwok's standard conditions
  (Ready, no pressure), addresses, nodeInfo and ``phase: Running``; capacity and
  allocatable stay what the node was created with. kwok renews each node's Lease
  (``--node-lease-duration-seconds``), which is what the node-lifecycle controller watches.
- node-heartbeat: every ~10 minutes refresh the conditions' heartbeat times.
- pod-running: a bound Pending pod becomes Running and Ready at once, with pod and host IPs.
- pod-job-done: a Running pod owned by a Job becomes Succeeded (exit code 0), after the
  duration in its annotation ``pod-complete.stage.kwok.x-k8s.io/delay`` (a Go duration
  such as ``30s``; kwok's own name for it), or at once without it. So Jobs complete.
- pod-deleted: a pod being deleted is removed (there is no kubelet to confirm it).

Pods not owned by a Job stay Running until deleted.
"""

from __future__ import annotations

#: Annotation on a Job's pod template: how long its pods stay Running before Succeeded.
JOB_POD_RUN_DURATION_ANNOTATION = "pod-complete.stage.kwok.x-k8s.io/delay"

_OPTIONS = """\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  nodePlayStageParallelism: {parallelism}
  podPlayStageParallelism: {parallelism}
  nodeLeaseParallelism: {parallelism}
"""

# The status both node stages write: every condition healthy, heartbeat now.
_NODE_CONDITIONS = r"""      {{ $now := Now }}
      {{ $since := or .metadata.creationTimestamp $now }}
      conditions:
      {{ range NodeConditions }}
      - type: {{ .type | Quote }}
        status: {{ .status | Quote }}
        reason: {{ .reason | Quote }}
        message: {{ .message | Quote }}
        lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $since | Quote }}
      {{ end }}"""

_STAGES_TEMPLATE = r"""
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-ready
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  next:
    statusTemplate: |
@NODE_CONDITIONS@
      addresses:
      {{ with NodeIP }}
      - type: InternalIP
        address: {{ . | Quote }}
      {{ end }}
      {{ with NodeName }}
      - type: Hostname
        address: {{ . | Quote }}
      {{ end }}
      {{ $kwok := printf "kwok-%s" Version }}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: {{ $kwok | Quote }}
        kubeProxyVersion: {{ $kwok | Quote }}
        kernelVersion: {{ $kwok | Quote }}
        containerRuntimeVersion: {{ $kwok | Quote }}
        osImage: "colo dev cluster (kwok)"
        machineID: ""
        bootID: ""
        systemUUID: ""
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-heartbeat
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
    - key: .status.phase
      operator: In
      values: [Running]
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: In
      values: ['True']
  delay:
    durationMilliseconds: 600000
    jitterDurationMilliseconds: 610000
  next:
    statusTemplate: |
@NODE_CONDITIONS@
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-running
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: DoesNotExist
    - key: .status.phase
      operator: In
      values: [Pending]
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Running
      startTime: {{ $now | Quote }}
      conditions:
      {{ range list "Initialized" "Ready" "ContainersReady" }}
      - type: {{ . | Quote }}
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      {{ end }}
      {{ range .spec.readinessGates }}
      - type: {{ .conditionType | Quote }}
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      {{ end }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        restartCount: 0
        {{ if eq .restartPolicy "Always" }}
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
        {{ else }}
        state:
          terminated:
            exitCode: 0
            reason: Completed
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
        {{ end }}
      {{ end }}
      {{ with NodeIPsWith .spec.nodeName }}
      hostIP: {{ index . 0 | Quote }}
      hostIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      {{ $hostNetwork := or .spec.hostNetwork false }}
      {{ $uid := or .metadata.uid "" }}
      {{ $name := or .metadata.name "" }}
      {{ $namespace := or .metadata.namespace "" }}
      {{ with PodIPsWith .spec.nodeName $hostNetwork $uid $name $namespace }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-job-done
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: DoesNotExist
    - key: .status.phase
      operator: In
      values: [Running]
    - key: '.metadata.ownerReferences.[].kind'
      operator: In
      values: [Job]
  delay:
    durationMilliseconds: 0
    durationFrom:
      expressionFrom: '.metadata.annotations["@JOB_POD_RUN_DURATION@"]'
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Succeeded
      conditions:
      {{ range list "Ready" "ContainersReady" }}
      - type: {{ . | Quote }}
        status: "False"
        reason: PodCompleted
        lastTransitionTime: {{ $now | Quote }}
      {{ end }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          terminated:
            exitCode: 0
            reason: Completed
            finishedAt: {{ $now | Quote }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-deleted
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: Exists
  next:
    delete: true
"""


_STAGES = _STAGES_TEMPLATE.replace("@NODE_CONDITIONS@", _NODE_CONDITIONS).replace(
    "@JOB_POD_RUN_DURATION@", JOB_POD_RUN_DURATION_ANNOTATION
)


def render_kwok_config(*, parallelism: int = 16) -> str:
    """The multi-document YAML for ``kwok --config``.

    `parallelism` is how many node/pod stage and lease workers kwok runs (kwok's default
    is 4, slow for a thousand nodes).
    """
    return _OPTIONS.format(parallelism=parallelism) + _STAGES
