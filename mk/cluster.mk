# Test control plane binaries (kube-apiserver, kube-scheduler,
# kube-controller-manager, etcd, kwok, helm, kubeconform, and colo-kube-scheduler: kube-scheduler with colo's
# Reserve plugin from build/scheduler-plugin) built from Go modules at the versions pinned
# in build/cluster/versions.env, cached under ~/.cache/colo.
#
#   make cluster-bins      build what is missing; a fast no-op when cached
#   make cluster-pin       regenerate build/cluster/*/go.mod,go.sum after editing
#                          versions.env (needs the Go module proxy); commit the result
#   make cluster-manifest  rewrite $(COLO_BIN_DIR)/manifest.json from what is built
#   make cluster-versions  print the pinned versions
#   make cluster-clean     delete the built binaries (keeps the Go caches)
#
# The manifest maps each binary to {"path", "version", "component"}; Python reads it
# from $COLO_BIN_DIR/manifest.json (COLO_BIN_DIR is exported to every recipe).
#
# Included from the top-level Makefile; paths are found from this file's location,
# so it also works with `make -C` or from another directory.

COLO_CLUSTER_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../build/cluster)

include $(COLO_CLUSTER_DIR)/versions.env

COLO_BIN_DIR ?= $(HOME)/.cache/colo/bin
COLO_BIN_MANIFEST ?= $(COLO_BIN_DIR)/manifest.json
export COLO_BIN_DIR

COLO_CLUSTER_BUILD := bash $(COLO_CLUSTER_DIR)/build.sh

.PHONY: cluster-bins cluster-pin cluster-manifest cluster-versions cluster-clean

cluster-bins:
	@$(COLO_CLUSTER_BUILD) build

cluster-pin:
	@$(COLO_CLUSTER_BUILD) pin

cluster-manifest:
	@$(COLO_CLUSTER_BUILD) manifest

cluster-versions:
	@echo "kubernetes $(COLO_K8S_VERSION)"
	@echo "etcd       $(COLO_ETCD_VERSION)"
	@echo "kwok       $(COLO_KWOK_VERSION)"
	@echo "colo-kube-scheduler (build/scheduler-plugin) on kubernetes $(COLO_K8S_VERSION)"
	@echo "helm       $(COLO_HELM_VERSION)"
	@echo "kubeconform $(COLO_KUBECONFORM_VERSION)"

cluster-clean:
	rm -rf $(COLO_BIN_DIR)/kubernetes-* $(COLO_BIN_DIR)/etcd-* $(COLO_BIN_DIR)/kwok-* \
		$(COLO_BIN_DIR)/colo-scheduler-plugin-* $(COLO_BIN_DIR)/helm-* $(COLO_BIN_DIR)/kubeconform-* \
		$(COLO_BIN_DIR)/.tmp-* $(COLO_BIN_MANIFEST)
