#!/usr/bin/env bash
# Build the pinned test control plane from Go modules, with a cache.
#
#   build.sh [build] [k8s|etcd|kwok ...]  build what is missing (default: all three),
#                                         then rewrite manifest.json
#   build.sh pin [k8s|etcd|kwok ...]      regenerate the wrapper go.mod/go.sum from
#                                         versions.env (needs the Go module proxy)
#   build.sh manifest                     only rewrite manifest.json
#
# Components and the binaries they give:
#   k8s   kube-apiserver, kube-scheduler, kube-controller-manager, kubectl
#                                                                  (k8s.io/kubernetes)
#   etcd  etcd                                                     (go.etcd.io/etcd/server/v3)
#   kwok  kwok                                                     (sigs.k8s.io/kwok)
#   scheduler-plugin  colo-kube-scheduler: kube-scheduler with colo's ColoCoordinator
#                     Reserve plugin (build/scheduler-plugin, against k8s.io/kubernetes)
#   helm         helm                                          (helm.sh/helm/v4)
#   kubeconform  kubeconform: validates the chart's objects against schemas made from
#                k8s.io/kubernetes's own OpenAPI document      (github.com/yannh/kubeconform)
#
# Each component is its own wrapper module under build/cluster/<component>/ (the plugin's
# is build/scheduler-plugin/, which holds its Go sources too) so that minimal version
# selection never mixes their dependencies.
#
# Outputs (override with the environment):
#   COLO_CACHE_DIR  default ~/.cache/colo
#   COLO_BIN_DIR    default $COLO_CACHE_DIR/bin; binaries land in
#                   $COLO_BIN_DIR/<component>-<version>/, with a .stamp file holding a
#                   hash of everything that went into them (go.mod, go.sum, go version,
#                   flags, and the plugin's Go sources); a component whose stamp matches
#                   is not rebuilt.
#   $COLO_BIN_DIR/manifest.json  {"<binary>": {"path": ..., "version": ..., "component": ...}}
#   GOMODCACHE=$COLO_CACHE_DIR/gomod, GOCACHE=$COLO_CACHE_DIR/gocache
#   COLO_BUILD_NICE (default 10): niceness of the go commands.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"

COLO_CACHE_DIR=${COLO_CACHE_DIR:-$HOME/.cache/colo}
COLO_BIN_DIR=${COLO_BIN_DIR:-$COLO_CACHE_DIR/bin}
export GOMODCACHE=${COLO_GOMODCACHE:-$COLO_CACHE_DIR/gomod}
export GOCACHE=${COLO_GOCACHE:-$COLO_CACHE_DIR/gocache}
# A dependency asking for a newer go must fail here, not fetch a toolchain.
export GOTOOLCHAIN=local
export GOWORK=off
export CGO_ENABLED=0
# Flags are given explicitly below; don't let a caller's GOFLAGS change the result.
export GOFLAGS=
NICE=${COLO_BUILD_NICE:-10}
# Bump when the way binaries are built changes, to invalidate every stamp.
RECIPE=1

ALL_COMPONENTS=(k8s etcd kwok scheduler-plugin helm kubeconform)

log() { printf 'cluster-bins: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go not found in PATH"

# --- component definitions -------------------------------------------------
# Each sets: C_DIR (wrapper module), C_NAME, C_VERSION, C_MODULE (required module),
# C_BINS (name=package ...), C_TAGS, C_LDFLAGS, C_SOURCES (1 when C_DIR holds Go
# sources of our own, which then go into the stamp).
component() {
	C_DIR=$HERE/$1
	C_SOURCES=
	case $1 in
	k8s)
		C_NAME=kubernetes C_VERSION=$COLO_K8S_VERSION C_MODULE=k8s.io/kubernetes
		C_BINS=(
			kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
			kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
			kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
			kubectl=k8s.io/kubernetes/cmd/kubectl
		)
		C_TAGS=selinux,notest,grpcnotrace
		k8s_ldflags
		;;
	scheduler-plugin)
		# Same flags as k8s's kube-scheduler, so the k8s packages come from GOCACHE.
		C_DIR=$HERE/../scheduler-plugin C_SOURCES=1
		C_NAME=colo-scheduler-plugin C_VERSION=$COLO_K8S_VERSION C_MODULE=k8s.io/kubernetes
		C_BINS=(colo-kube-scheduler=colo/build/scheduler-plugin)
		C_TAGS=selinux,notest,grpcnotrace
		k8s_ldflags
		;;
	etcd)
		C_NAME=etcd C_VERSION=$COLO_ETCD_VERSION C_MODULE=go.etcd.io/etcd/server/v3
		C_BINS=(etcd=go.etcd.io/etcd/server/v3)
		C_TAGS=
		C_LDFLAGS="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=go-module"
		;;
	kwok)
		C_NAME=kwok C_VERSION=$COLO_KWOK_VERSION C_MODULE=sigs.k8s.io/kwok
		C_BINS=(kwok=sigs.k8s.io/kwok/cmd/kwok)
		C_TAGS=
		C_LDFLAGS="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$COLO_KWOK_VERSION"
		;;
	helm)
		C_NAME=helm C_VERSION=$COLO_HELM_VERSION C_MODULE=helm.sh/helm/v4
		C_BINS=(helm=helm.sh/helm/v4/cmd/helm)
		C_TAGS=
		# `helm version` prints major.minor from the source unless told the whole version.
		C_LDFLAGS="-s -w -X helm.sh/helm/v4/internal/version.version=$COLO_HELM_VERSION"
		;;
	kubeconform)
		C_NAME=kubeconform C_VERSION=$COLO_KUBECONFORM_VERSION C_MODULE=github.com/yannh/kubeconform
		C_BINS=(kubeconform=github.com/yannh/kubeconform/cmd/kubeconform)
		C_TAGS=
		C_LDFLAGS="-s -w"
		;;
	*) die "unknown component '$1' (known: ${ALL_COMPONENTS[*]})" ;;
	esac
	C_OUT=$COLO_BIN_DIR/$C_NAME-$C_VERSION
}

# Version ldflags of the Kubernetes binaries.
k8s_ldflags() {
	local minor=${COLO_K8S_VERSION#v1.}
	minor=${minor%%.*}
	local x
	C_LDFLAGS="-s -w"
	# Both packages carry the version: component-base for --version and /version,
	# client-go for the default user agent.
	for x in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		C_LDFLAGS+=" -X $x.gitVersion=$COLO_K8S_VERSION -X $x.gitMajor=1 -X $x.gitMinor=$minor -X $x.gitTreeState=clean"
	done
}

# Version of C_MODULE that the committed go.mod requires.
pinned_in_gomod() {
	awk -v m="$C_MODULE" '$1 == "require" && $2 == m { print $3; exit }
		$1 == m && $2 ~ /^v/ { print $2; exit }' "$C_DIR/go.mod"
}

# Everything that determines the binaries' content.
stamp_of() {
	{
		echo "recipe=$RECIPE"
		go version
		echo "tags=$C_TAGS"
		echo "ldflags=$C_LDFLAGS"
		printf '%s\n' "${C_BINS[@]}"
		cat "$C_DIR/go.mod" "$C_DIR/go.sum"
		if [[ -n $C_SOURCES ]]; then
			(cd "$C_DIR" && find . -name '*.go' ! -name '*_test.go' -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
		fi
	} | sha256sum | cut -d' ' -f1
}

is_cached() {
	[[ -f $C_OUT/.stamp && $(cat "$C_OUT/.stamp") == "$1" ]] || return 1
	local b
	for b in "${C_BINS[@]}"; do
		[[ -x $C_OUT/${b%%=*} ]] || return 1
	done
}

now() { date +%s; }

CURRENT=
STARTED=
TMP_OUT=
on_exit() {
	local rc=$?
	[[ -n $TMP_OUT && -d $TMP_OUT ]] && rm -rf "$TMP_OUT"
	if ((rc != 0)) && [[ -n $CURRENT ]]; then
		log "FAILED: $CURRENT (exit $rc) after $(($(now) - STARTED))s; see the go output above"
	fi
}
trap on_exit EXIT

build_component() {
	component "$1"
	[[ -f $C_DIR/go.mod && -f $C_DIR/go.sum ]] ||
		die "$C_DIR/go.mod or go.sum missing; run '$0 pin $1'"
	local pinned
	pinned=$(pinned_in_gomod)
	[[ $pinned == "$C_VERSION" ]] ||
		die "$1: versions.env says $C_VERSION but $C_DIR/go.mod requires ${pinned:-nothing}; run 'make cluster-pin'"

	local stamp
	stamp=$(stamp_of)
	if is_cached "$stamp"; then
		log "$1 $C_VERSION: cached in $C_OUT"
		return 0
	fi

	CURRENT="$1 $C_VERSION"
	STARTED=$(now)
	local t0 t
	t0=$(now)
	log "$1 $C_VERSION: downloading modules into $GOMODCACHE"
	(cd "$C_DIR" && go mod download)
	log "$1 $C_VERSION: modules ready in $(($(now) - t0))s"

	mkdir -p "$COLO_BIN_DIR"
	TMP_OUT=$(mktemp -d "$COLO_BIN_DIR/.tmp-$C_NAME-XXXXXX")
	local b name pkg
	for b in "${C_BINS[@]}"; do
		name=${b%%=*} pkg=${b#*=}
		CURRENT="$1 $C_VERSION ($name)"
		log "$1 $C_VERSION: building $name from $pkg"
		t=$(now)
		(cd "$C_DIR" && nice -n "$NICE" go build -mod=readonly -trimpath \
			-tags "$C_TAGS" -ldflags "$C_LDFLAGS" -o "$TMP_OUT/$name" "$pkg")
		log "$1 $C_VERSION: built $name in $(($(now) - t))s ($(du -h "$TMP_OUT/$name" | cut -f1))"
	done
	echo "$stamp" >"$TMP_OUT/.stamp"
	rm -rf "$C_OUT"
	mv "$TMP_OUT" "$C_OUT"
	TMP_OUT=
	log "$1 $C_VERSION: done in $(($(now) - t0))s -> $C_OUT"
	CURRENT=
}

json_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

write_manifest() {
	mkdir -p "$COLO_BIN_DIR"
	local tmp=$COLO_BIN_DIR/.manifest.json.$$ sep= c b name n=0
	{
		printf '{'
		for c in "${ALL_COMPONENTS[@]}"; do
			component "$c"
			is_cached "$(stamp_of)" || continue
			for b in "${C_BINS[@]}"; do
				name=${b%%=*}
				printf '%s\n  %s: {"path": %s, "version": %s, "component": %s}' "$sep" \
					"$(json_str "$name")" "$(json_str "$C_OUT/$name")" \
					"$(json_str "$C_VERSION")" "$(json_str "$c")"
				sep=,
				n=$((n + 1))
			done
		done
		printf '\n}\n'
	} >"$tmp"
	mv "$tmp" "$COLO_BIN_DIR/manifest.json"
	log "manifest: $COLO_BIN_DIR/manifest.json ($n binaries)"
}

# --- pin: regenerate the wrapper modules from versions.env -----------------

# Path of the go.mod file of module@version in the module cache (downloads it).
module_gomod() {
	go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'
}

# k8s.io/kubernetes requires its staging modules at v0.0.0 and points them at ./staging
# with replace lines, which do not apply to a dependency: a consumer replaces each with
# its published tag v0.<minor>.<patch>. The list of them, from upstream's go.mod.
k8s_staging() {
	local upstream staging
	upstream=$(module_gomod "k8s.io/kubernetes@$COLO_K8S_VERSION")
	[[ -f $upstream ]] || die "could not fetch go.mod of k8s.io/kubernetes@$COLO_K8S_VERSION"
	staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/.*#\1#p' "$upstream" | sort -u)
	[[ -n $staging ]] || die "no staging replace lines found in $upstream"
	echo "$staging"
}

# The plugin's go.mod is written by hand (it lists the plugin's own requirements); only
# the Kubernetes requirement and the staging replace lines follow versions.env.
pin_plugin() {
	local staging m args=("-require=$C_MODULE@$C_VERSION")
	staging=$(k8s_staging)
	for m in $staging; do args+=("-replace=$m=$m@v0.${C_VERSION#v1.}"); done
	(cd "$C_DIR" && go mod edit "${args[@]}" && go mod tidy)
	log "pin $1: $C_MODULE $C_VERSION, $(wc -w <<<"$staging") staging modules replaced with v0.${C_VERSION#v1.}"
}

pin_component() {
	component "$1"
	log "pin $1: $C_MODULE $C_VERSION"
	if [[ -n $C_SOURCES ]]; then
		pin_plugin "$1"
		return
	fi
	mkdir -p "$C_DIR"
	local b
	{
		echo "// Generated by build/cluster/build.sh pin from versions.env; edit versions.env instead."
		echo "module colo/build/cluster/$1"
		echo
		echo "go 1.24.0"
		echo
		echo "tool ("
		for b in "${C_BINS[@]}"; do printf '\t%s\n' "${b#*=}"; done
		echo ")"
		echo
		echo "require $C_MODULE $C_VERSION"
	} >"$C_DIR/go.mod.new"
	if [[ $1 == k8s ]]; then
		local staging
		staging=$(k8s_staging)
		{
			echo
			echo "replace ("
			local m
			for m in $staging; do printf '\t%s => %s v0.%s\n' "$m" "$m" "${C_VERSION#v1.}"; done
			echo ")"
		} >>"$C_DIR/go.mod.new"
		log "pin $1: replacing $(wc -w <<<"$staging") staging modules with v0.${C_VERSION#v1.}"
	fi
	mv "$C_DIR/go.mod.new" "$C_DIR/go.mod"
	rm -f "$C_DIR/go.sum"
	(cd "$C_DIR" && go mod tidy)
	log "pin $1: wrote $C_DIR/go.mod and go.sum ($(grep -E '^go ' "$C_DIR/go.mod"))"
}

# --- main ------------------------------------------------------------------

cmd=build
case ${1:-} in
build | pin | manifest) cmd=$1 && shift ;;
-h | --help) sed -n '2,/^set -/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' && exit 0 ;;
esac
comps=("$@")
((${#comps[@]})) || comps=("${ALL_COMPONENTS[@]}")
for c in "${comps[@]}"; do component "$c"; done # validate names early

case $cmd in
pin)
	for c in "${comps[@]}"; do pin_component "$c"; done
	;;
build)
	mkdir -p "$COLO_BIN_DIR"
	# One build at a time per bin dir (parallel make, CI and a developer).
	if command -v flock >/dev/null; then
		exec 9>"$COLO_BIN_DIR/.build.lock"
		if ! flock -n 9; then
			log "waiting for another build holding $COLO_BIN_DIR/.build.lock"
			flock 9
		fi
	fi
	total=$(now)
	for c in "${comps[@]}"; do build_component "$c"; done
	write_manifest
	log "all done in $(($(now) - total))s"
	;;
manifest)
	write_manifest
	;;
esac
