"""How virtual (serverless) nodes are marked, as virtual-kubelet providers mark them."""

from __future__ import annotations

VIRTUAL_NODE_LABEL_KEY = "type"
VIRTUAL_NODE_LABEL_VALUE = "virtual-kubelet"
VIRTUAL_TAINT_KEY = "virtual-kubelet.io/provider"
