# The Helm chart deploy/helm/colo. tests/deploy lints, renders and validates it with helm
# and kubeconform (built by `make cluster-bins`, pinned in build/cluster/versions.env)
# against schemas made here from the pinned Kubernetes' own OpenAPI document and the CRDs
# of cert-manager and the Prometheus operator (all from the Go module proxy, cached).
#
#   make chart-schemas   make the schemas if missing (~/.cache/colo/schemas); a fast no-op
#                        when cached
#
# Included from the top-level Makefile after STAMP_TEST is defined.

COLO_CHART_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../build/chart)

.PHONY: chart-schemas
chart-schemas: $(STAMP_TEST)
	@bash $(COLO_CHART_DIR)/schemas.sh $(abspath $(PY)) >/dev/null
