#!/usr/bin/env bash
# Regenerate the Go gRPC client of the coordinator (rpc/coordv1/*.go, committed) from
# proto/colo/rpc/coord/v1/coordinator.proto. Called by `make proto`.
#
#   genproto.sh PYTHON     PYTHON: a Python with grpcio-tools (its bundled protoc is used)
#
# protoc-gen-go is built at the google.golang.org/protobuf version this module already
# requires (so the generated code matches the runtime it links); protoc-gen-go-grpc at
# PROTOC_GEN_GO_GRPC_VERSION, whose generated code needs grpc-go >= 1.64 (k8s pins 1.72).
# Both are installed once into $COLO_CACHE_DIR/tools/<name>-<version>/.
set -Eeuo pipefail

PROTOC_GEN_GO_GRPC_VERSION=v1.5.1

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${1:?usage: genproto.sh PYTHON}
MODULE=colo/build/scheduler-plugin
PROTO=colo/rpc/coord/v1/coordinator.proto
GO_PACKAGE=$MODULE/rpc/coordv1

COLO_CACHE_DIR=${COLO_CACHE_DIR:-$HOME/.cache/colo}
export GOMODCACHE=${COLO_GOMODCACHE:-$COLO_CACHE_DIR/gomod}
export GOCACHE=${COLO_GOCACHE:-$COLO_CACHE_DIR/gocache}
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=
TOOLS=$COLO_CACHE_DIR/tools

command -v go >/dev/null || { echo "genproto: go not found in PATH" >&2; exit 1; }

# Install module's package at version into TOOLS/<name>-<version>/ (once).
tool() {
	local name=$1 pkg=$2 version=$3 dir=$TOOLS/$1-$3
	if [[ ! -x $dir/$name ]]; then
		echo "genproto: installing $pkg@$version" >&2
		GOBIN=$dir go install -trimpath "$pkg@$version"
	fi
	echo "$dir/$name"
}

pb_version=$(cd "$HERE" && go list -m -f '{{.Version}}' google.golang.org/protobuf)
gen_go=$(tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$pb_version")
gen_grpc=$(tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc \
	"$PROTOC_GEN_GO_GRPC_VERSION")

# The proto has no go_package option (it is shared with Python); map it here instead.
"$PYTHON" -m grpc_tools.protoc -I"$ROOT/proto" \
	--plugin=protoc-gen-go="$gen_go" --plugin=protoc-gen-go-grpc="$gen_grpc" \
	--go_out="$HERE" --go_opt=module=$MODULE --go_opt="M$PROTO=$GO_PACKAGE;coordv1" \
	--go-grpc_out="$HERE" --go-grpc_opt=module=$MODULE --go-grpc_opt="M$PROTO=$GO_PACKAGE;coordv1" \
	"$ROOT/proto/$PROTO"
echo "genproto: wrote $HERE/rpc/coordv1 (protoc-gen-go $pb_version, protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION)" >&2
