"""The node agent's engines (pure; time is a parameter, no I/O).

- `reporting`: the reporting loop, one sans-I/O object over N nodes (measure → peak →
  reclaim → publish → heartbeat), run by colo-agent (N = 1) and by the simulator.
- `report`: when to publish a node's batch figures and heartbeat; the heartbeat monitor.
- `options`: the reporting loop's options.
- `cpus`: CPU tiers — which cpus each pod may run on (LSE/LSR exclusive, LS pool, BE cpuset);
  `cpupods` holds its pods and the request rules, `cpupick` places an exclusive pod on
  cores, NUMA nodes and sockets, `kubeletcpu` reads the kubelet's CPU manager checkpoint so
  colo stays off the cpus it pinned.
"""
