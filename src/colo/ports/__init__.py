"""Ports: the Protocols engines need from the outside world.

`colo.kube` implements them against a real API server, `colo.sim` against a simulated
cluster, `colo.linux` (the cgroup port and the usage reader) against the node's cgroup
tree. Reads come
from a local cache and are synchronous (an informer's store or the simulator's state);
writes are coroutines because against a real cluster they are network calls. A
simulated write completes without ever suspending.
"""

# No re-exports: importing a package runs its __init__, and every process that reads one
# port (colo-batch: the API's) paid for all of them (the cgroup port's dataclasses,
# ~11 ms of colo-batch's start). Import each Protocol from its module.
