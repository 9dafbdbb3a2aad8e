"""A local Kubernetes control plane with fake nodes, for development and end-to-end tests.

etcd, kube-apiserver, kube-controller-manager, optionally kube-scheduler, and kwok run
as ordinary processes on 127.0.0.1, from the binaries `make cluster-bins` builds;
kwok makes thousands of fake nodes behave like healthy kubelets. See docs/dev-cluster.md.

    cluster = DevCluster(tmp_dir)
    state = cluster.up(ClusterOptions(nodes=50, virtual_nodes=5, with_scheduler=True))
    ... KUBECONFIG=state.kubeconfig, or state.client() for raw JSON requests ...
    cluster.down()
"""

from colo.devcluster.apiclient import ApiClient, ApiError
from colo.devcluster.binaries import Binaries, load_binaries
from colo.devcluster.cluster import DevCluster
from colo.devcluster.errors import (
    BinariesMissing,
    ClusterAlreadyRunning,
    ClusterNotRunning,
    ComponentFailed,
    NodesFailed,
)
from colo.devcluster.kwokconfig import JOB_POD_RUN_DURATION_ANNOTATION
from colo.devcluster.layout import default_state_dir
from colo.devcluster.nodes import KWOK_TAINT, VIRTUAL_TAINT
from colo.devcluster.options import ClusterOptions
from colo.devcluster.processes import ProcessRecord, is_running
from colo.devcluster.state import ClusterState

__all__ = [
    "JOB_POD_RUN_DURATION_ANNOTATION",
    "KWOK_TAINT",
    "VIRTUAL_TAINT",
    "ApiClient",
    "ApiError",
    "Binaries",
    "BinariesMissing",
    "ClusterAlreadyRunning",
    "ClusterNotRunning",
    "ClusterOptions",
    "ClusterState",
    "ComponentFailed",
    "DevCluster",
    "NodesFailed",
    "ProcessRecord",
    "default_state_dir",
    "is_running",
    "load_binaries",
]
