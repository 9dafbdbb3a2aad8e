{{/* The prefix of every object's name: the release's name, with "-colo" unless it says colo already. */}}
{{- define "colo.fullname" -}}
{{- if contains "colo" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-colo" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one process's objects: colo.name (dict "root" $ "component" "agent"). */}}
{{- define "colo.name" -}}
{{- printf "%s-%s" (include "colo.fullname" .root) .component -}}
{{- end -}}

{{/* Labels of every object of one process. */}}
{{- define "colo.labels" -}}
{{ include "colo.selectorLabels" . }}
app.kubernetes.io/part-of: colo
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The labels a process's selector matches. */}}
{{- define "colo.selectorLabels" -}}
app.kubernetes.io/name: colo-{{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "colo.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The coordinator's gRPC address inside the cluster. */}}
{{- define "colo.coordinatorAddress" -}}
{{- printf "%s.%s.svc:%d" (include "colo.name" (dict "root" . "component" "coordinator")) .Release.Namespace (int .Values.coordinator.port) -}}
{{- end -}}

{{/* Whether an optional API is used: "auto" follows the cluster, true/false choose. */}}
{{- define "colo.wants" -}}
{{- if eq (toString .setting) "auto" -}}
{{- if .root.Capabilities.APIVersions.Has .api -}}true{{- end -}}
{{- else if eq (toString .setting) "true" -}}true
{{- end -}}
{{- end -}}

{{/* Pod-level settings every Deployment shares: account, pull secrets, placement. */}}
{{- define "colo.podPlacement" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The hardening every container but the agent's gets. */}}
{{- define "colo.restrictedContainer" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Probes on /healthz at a named port: startup (slow first sync), liveness, readiness. */}}
{{- define "colo.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
    {{- with .scheme }}
    scheme: {{ . }}
    {{- end }}
  periodSeconds: 5
  failureThreshold: 60
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
    {{- with .scheme }}
    scheme: {{ . }}
    {{- end }}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
    {{- with .scheme }}
    scheme: {{ . }}
    {{- end }}
  periodSeconds: 10
  timeoutSeconds: 5
{{- end -}}

{{/* The Role and RoleBinding that let a leader-elected process hold its Lease. */}}
{{- define "colo.leaseRole" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ include "colo.name" . }}-lease
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "colo.labels" . | nindent 4 }}
rules:
  # Leader election (colo.kube.leader): read and renew its own Lease by read-modify-write;
  # create cannot be narrowed to a name, so it is granted in this namespace only.
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [create]
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    resourceNames: [{{ .lease | quote }}]
    verbs: [get, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ include "colo.name" . }}-lease
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "colo.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "colo.name" . }}-lease
subjects:
  - kind: ServiceAccount
    name: {{ include "colo.name" . }}
    namespace: {{ .root.Release.Namespace }}
{{- end -}}

{{/* A ClusterRoleBinding of the process's ClusterRole to its ServiceAccount, and the account. */}}
{{- define "colo.accountAndBinding" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "colo.name" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "colo.labels" . | nindent 4 }}
{{- if .noToken }}
automountServiceAccountToken: false
{{- end }}
{{- if not .noToken }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ include "colo.name" . }}
  labels:
    {{- include "colo.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ include "colo.name" . }}
subjects:
  - kind: ServiceAccount
    name: {{ include "colo.name" . }}
    namespace: {{ .root.Release.Namespace }}
{{- end }}
{{- end -}}

{{/* A metrics Service for one process: selects its pods, names the port "metrics". */}}
{{- define "colo.metricsService" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "colo.name" . }}-metrics
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "colo.labels" . | nindent 4 }}
    colo.io/metrics: "true"
spec:
  selector:
    {{- include "colo.selectorLabels" . | nindent 4 }}
  ports:
    - name: metrics
      port: {{ .port }}
      targetPort: metrics
      protocol: TCP
{{- end -}}

{{/* A PodDisruptionBudget keeping one pod of a replicated process up. */}}
{{- define "colo.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "colo.name" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "colo.labels" . | nindent 4 }}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      {{- include "colo.selectorLabels" . | nindent 6 }}
{{- end -}}
