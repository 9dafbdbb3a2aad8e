package colocoordinator

import (
	v1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Resource names of colo's units that are not Kubernetes resource names of a request.
const podsResource = "pods"

// coloResources is the pod's effective request — what NodeResourcesFit fits: containers,
// init and sidecar containers, pod-level resources and overhead
// (component-helpers PodRequests) — in the coordinator's units:
//
//	cpu             millicores, rounded up
//	memory          bytes
//	pods            1 (the slot the pod takes)
//	anything else   the integer value, rounded up (extended resources such as
//	                colo.io/batch-cpu are integers already)
//
// Zero amounts are left out, as the coordinator ignores them.
func coloResources(pod *v1.Pod) map[string]int64 {
	// UseStatusResources: in-place resize is GA in 1.35 and the fit filter honours it.
	reqs := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{UseStatusResources: true})
	out := make(map[string]int64, len(reqs)+1)
	for name, q := range reqs {
		var v int64
		switch name {
		case v1.ResourcePods:
			continue // not a container request; the pod's own slot is added below
		case v1.ResourceCPU:
			v = q.MilliValue()
		default:
			v = q.Value()
		}
		if v > 0 {
			out[string(name)] = v
		}
	}
	out[podsResource] = 1
	return out
}

// podKey is how the coordinator names a pod: namespace/name.
func podKey(pod *v1.Pod) string {
	return pod.Namespace + "/" + pod.Name
}

func podPriority(pod *v1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}
