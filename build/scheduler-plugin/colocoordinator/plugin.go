// Package colocoordinator is a kube-scheduler plugin that reserves every placement at
// colo-coordinator, the ledger that all of a cluster's schedulers share (Omega style),
// before the pod is bound.
//
// Extension points:
//
//	Reserve    one Reserve call for (pod, node, effective requests in colo units,
//	           priority). ok: go on to bind. Refused: Unschedulable with the
//	           coordinator's reason — the pod is not bound and goes back to the queue,
//	           the node is avoided for a while and the pod is retried on time.
//	           Unreachable or failed call: Error — the pod goes back with backoff. The
//	           pod is never bound without a reservation.
//	Unreserve  one Unreserve call (binding failed, a later plugin refused, or our own
//	           Reserve failed). Idempotent at the coordinator; on failure the
//	           reservation lapses after the coordinator's TTL.
//	PostBind   one PodBound call, so the coordinator turns the reservation into a bound
//	           entry without waiting for its watch (optional: it watches pods anyway).
//	PreFilter  Skip unless the coordinator refused this pod somewhere lately.
//	Filter     UnschedulableAndUnresolvable on those nodes, until avoidRefusedNodeFor
//	           has passed.
//	EnqueueExtensions  a refused pod is worth retrying when room may have freed up
//	           (a pod deleted or scaled down, a node added or resized); the plugin's
//	           own timer covers changes only the coordinator sees.
//	SignPod    keeps kube-scheduler's opportunistic batching (KEP-5598, on by default
//	           in 1.35) for pods the coordinator has not refused lately.
package colocoordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"colo/build/scheduler-plugin/rpc/coordv1"
)

// Name is the plugin's name in KubeSchedulerConfiguration.
const Name = "ColoCoordinator"

// stateKey holds, per scheduling cycle, the nodes this pod is kept off (PreFilter → Filter).
const stateKey fwk.StateKey = Name + "/avoid"

// Plugin reserves placements at colo-coordinator.
type Plugin struct {
	args      Args
	scheduler string // who asks, in the coordinator's logs and metrics: the profile
	client    coordv1.CoordinatorClient
	refusals  *refusals
}

var (
	_ fwk.PreFilterPlugin   = (*Plugin)(nil)
	_ fwk.FilterPlugin      = (*Plugin)(nil)
	_ fwk.ReservePlugin     = (*Plugin)(nil)
	_ fwk.PostBindPlugin    = (*Plugin)(nil)
	_ fwk.EnqueueExtensions = (*Plugin)(nil)
	_ fwk.SignPlugin        = (*Plugin)(nil)
)

// New is the plugin's factory (app.WithPlugin(Name, New)). The connection is made
// lazily: a coordinator that is down at start fails pods' Reserve, not the scheduler.
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	args, err := decodeArgs(obj)
	if err != nil {
		return nil, err
	}
	conn, err := Dial(args.Address)
	if err != nil {
		return nil, fmt.Errorf("%s: coordinator address %q: %w", Name, args.Address, err)
	}
	logger := klog.FromContext(ctx).WithValues("plugin", Name)
	activate := func(pod *v1.Pod) {
		logger.V(4).Info("Retrying a pod the coordinator refused", "pod", klog.KObj(pod))
		h.Activate(logger, map[string]*v1.Pod{podKey(pod): pod})
	}
	logger.Info("Reserving at colo-coordinator", "address", args.Address,
		"timeout", args.Timeout.Duration, "retryAfter", args.RetryAfter.Duration,
		"avoidRefusedNodeFor", args.AvoidRefusedNodeFor.Duration)
	return newPlugin(args, h.ProfileName(), coordv1.NewCoordinatorClient(conn), activate), nil
}

func newPlugin(args Args, scheduler string, client coordv1.CoordinatorClient, activate func(*v1.Pod)) *Plugin {
	return &Plugin{
		args:      args,
		scheduler: scheduler,
		client:    client,
		refusals:  newRefusals(args.RetryAfter.Duration, args.AvoidRefusedNodeFor.Duration, activate),
	}
}

// Dial makes a lazy client connection to the coordinator. Reconnection backs off to at
// most 2s (grpc's default is 120s), so scheduling resumes soon after a coordinator
// restart; calls fail fast while it is down instead of waiting for it.
func Dial(address string) (*grpc.ClientConn, error) {
	reconnect := backoff.DefaultConfig
	reconnect.MaxDelay = 2 * time.Second
	return grpc.NewClient(address,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnect}))
}

func (pl *Plugin) Name() string { return Name }

// Reserve asks the coordinator for (pod, node). Refused → Unschedulable with its reason;
// no answer → Error. Either way the framework then calls Unreserve and the pod goes back
// to the queue.
func (pl *Plugin) Reserve(ctx context.Context, _ fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	ctx, cancel := context.WithTimeout(ctx, pl.args.Timeout.Duration)
	defer cancel()
	key := podKey(pod)
	resp, err := pl.client.Reserve(ctx, &coordv1.ReserveRequest{
		Scheduler: pl.scheduler,
		Items: []*coordv1.ReserveItem{{
			Pod:       key,
			Node:      nodeName,
			Resources: coloResources(pod),
			Priority:  podPriority(pod),
		}},
	})
	if err != nil {
		return fwk.AsStatus(fmt.Errorf("colo-coordinator at %s: reserving %s on %s: %w",
			pl.args.Address, key, nodeName, err))
	}
	replies := resp.GetReplies()
	if len(replies) != 1 {
		return fwk.AsStatus(fmt.Errorf("colo-coordinator at %s: reserving %s on %s: %d replies to 1 item",
			pl.args.Address, key, nodeName, len(replies)))
	}
	if reply := replies[0]; !reply.GetOk() {
		reason := reply.GetReason()
		if reason == "" {
			reason = "refused"
		}
		pl.refusals.refuse(pod, nodeName, reason)
		return fwk.NewStatus(fwk.Unschedulable, "colo-coordinator: "+reason)
	}
	pl.refusals.forget(pod.UID)
	return nil
}

// Unreserve releases the pod's reservation. It must be idempotent and may run without a
// Reserve before it; the coordinator's Unreserve is both (unknown or bound pods are left
// alone), so it is always called. A failure is only logged: the reservation lapses after
// the coordinator's TTL.
func (pl *Plugin) Unreserve(ctx context.Context, _ fwk.CycleState, pod *v1.Pod, nodeName string) {
	ctx, cancel := context.WithTimeout(ctx, pl.args.Timeout.Duration)
	defer cancel()
	if _, err := pl.client.Unreserve(ctx, &coordv1.UnreserveRequest{Pods: []string{podKey(pod)}}); err != nil {
		klog.FromContext(ctx).Error(err, "Releasing a reservation at colo-coordinator failed; it lapses after the coordinator's TTL",
			"plugin", Name, "pod", klog.KObj(pod), "node", nodeName)
	}
}

// PostBind tells the coordinator the pod is bound (it would also see it on its watch).
func (pl *Plugin) PostBind(ctx context.Context, _ fwk.CycleState, pod *v1.Pod, nodeName string) {
	ctx, cancel := context.WithTimeout(ctx, pl.args.Timeout.Duration)
	defer cancel()
	_, err := pl.client.PodBound(ctx, &coordv1.PodBoundRequest{
		Pod: podKey(pod), Node: nodeName, Resources: coloResources(pod),
	})
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Telling colo-coordinator about a binding failed; its watch will",
			"plugin", Name, "pod", klog.KObj(pod), "node", nodeName, "err", err)
	}
}

// avoidState is the nodes a pod is kept off in this cycle, read by Filter.
type avoidState map[string]refusal

func (s avoidState) Clone() fwk.StateData { return s }

// PreFilter looks up, once per cycle, the nodes the coordinator refused this pod lately;
// with none (the usual case) it returns Skip and Filter is not run at all.
func (pl *Plugin) PreFilter(_ context.Context, state fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	avoid := pl.refusals.avoiding(pod)
	if len(avoid) == 0 {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	state.Write(stateKey, avoidState(avoid))
	return nil, nil
}

func (pl *Plugin) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// Filter keeps the pod off nodes the coordinator refused it lately. Preemption would not
// help there (the room went to reservations kube-scheduler cannot see), hence
// UnschedulableAndUnresolvable.
func (pl *Plugin) Filter(_ context.Context, state fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	node := nodeInfo.Node()
	if node == nil {
		return fwk.NewStatus(fwk.Error, "node not found")
	}
	var avoid avoidState
	if data, err := state.Read(stateKey); err == nil {
		avoid, _ = data.(avoidState)
	} else if errors.Is(err, fwk.ErrNotFound) {
		// Filter enabled without PreFilter (or PreFilter skipped): look it up here.
		avoid = pl.refusals.avoiding(pod)
	}
	if ref, ok := avoid[node.Name]; ok {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable,
			"colo-coordinator refused this node lately: "+strings.TrimSpace(ref.reason))
	}
	return nil
}

// EventsToRegister: after a refusal, room can come back when a pod on a node goes away or
// shrinks, or a node is added or grows (the same events as NodeResourcesFit's).
func (pl *Plugin) EventsToRegister(context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: fwk.Pod, ActionType: fwk.Delete | fwk.UpdatePodScaleDown}},
		{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeAllocatable}},
	}, nil
}

// SignPod: pods with equal signatures may share filtering and scoring results. Filter's
// answer depends only on the pod's own refusals, so a pod without any adds nothing to
// the signature; a pod with some must not share (Unschedulable: not signed).
func (pl *Plugin) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	if pl.refusals.has(pod) {
		return nil, fwk.NewStatus(fwk.Unschedulable, "the coordinator refused this pod lately")
	}
	return nil, nil
}
