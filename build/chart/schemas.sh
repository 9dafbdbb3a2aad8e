#!/usr/bin/env bash
# The JSON schemas and CRDs the chart is checked against, cached like the binaries.
#
#   schemas.sh PYTHON   make $COLO_SCHEMA_DIR if missing; print its path
#
# From the Go module proxy, at the versions in build/cluster/versions.env:
#   k8s.io/kubernetes          api/openapi-spec/swagger.json (the API of the test cluster)
#   cert-manager               deploy/crds/cert-manager.io_{issuers,certificates}.yaml
#   prometheus-operator        example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
# Output ($COLO_CACHE_DIR/schemas/<versions>/):
#   json/<group>/<version>/<kind>.json   what kubeconform reads (build/chart/jsonschemas.py)
#   crds/*.yaml                          the CRDs, which the e2e test installs in the dev cluster
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster/versions.env
source "$HERE/../cluster/versions.env"
PYTHON=${1:?usage: schemas.sh PYTHON}

COLO_CACHE_DIR=${COLO_CACHE_DIR:-$HOME/.cache/colo}
export GOMODCACHE=${COLO_GOMODCACHE:-$COLO_CACHE_DIR/gomod}
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=
KEY=k8s-$COLO_K8S_VERSION+cm-$COLO_CERT_MANAGER_VERSION+po-$COLO_PROMETHEUS_OPERATOR_VERSION+r$(sha256sum "$HERE/jsonschemas.py" | cut -c1-12)
OUT=${COLO_SCHEMA_DIR:-$COLO_CACHE_DIR/schemas/$KEY}

log() { printf 'chart-schemas: %s\n' "$*" >&2; }

if [[ -f $OUT/.done ]]; then
	echo "$OUT"
	exit 0
fi

# The module's directory in the cache, downloaded (and checksum-verified) if missing.
module_dir() {
	(cd /tmp && go mod download -json "$1") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

log "downloading modules into $GOMODCACHE"
k8s=$(module_dir "k8s.io/kubernetes@$COLO_K8S_VERSION")
cm=$(module_dir "github.com/cert-manager/cert-manager@$COLO_CERT_MANAGER_VERSION")
po=$(module_dir "github.com/prometheus-operator/prometheus-operator@$COLO_PROMETHEUS_OPERATOR_VERSION")
[[ -n $k8s && -n $cm && -n $po ]] || { log "error: a module did not download"; exit 1; }

mkdir -p "${OUT%/*}"
TMP=$(mktemp -d "${OUT%/*}/.tmp-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/crds"
cp "$cm/deploy/crds/cert-manager.io_issuers.yaml" "$cm/deploy/crds/cert-manager.io_certificates.yaml" \
	"$po/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$TMP/crds/"
chmod -R u+w "$TMP/crds"
"$PYTHON" "$HERE/jsonschemas.py" "$TMP/json" "$k8s/api/openapi-spec/swagger.json" "$TMP"/crds/*.yaml
touch "$TMP/.done"
rm -rf "$OUT"
mv "$TMP" "$OUT"
trap - EXIT
log "wrote $OUT"
echo "$OUT"
