package colocoordinator

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"colo/build/scheduler-plugin/rpc/coordv1"
)

// fakeCoordinator answers Reserve from `refuse` (node -> reason) and records every call.
type fakeCoordinator struct {
	coordv1.UnimplementedCoordinatorServer
	mu        sync.Mutex
	refuse    map[string]string
	reserves  []*coordv1.ReserveRequest
	unreserve [][]string
	bound     []*coordv1.PodBoundRequest
}

func (f *fakeCoordinator) Reserve(_ context.Context, req *coordv1.ReserveRequest) (*coordv1.ReserveResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reserves = append(f.reserves, req)
	resp := &coordv1.ReserveResponse{}
	for _, it := range req.Items {
		reason, refused := f.refuse[it.Node]
		resp.Replies = append(resp.Replies, &coordv1.ReserveReply{Pod: it.Pod, Node: it.Node, Ok: !refused, Reason: reason})
	}
	return resp, nil
}

func (f *fakeCoordinator) Unreserve(_ context.Context, req *coordv1.UnreserveRequest) (*coordv1.UnreserveResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unreserve = append(f.unreserve, req.Pods)
	return &coordv1.UnreserveResponse{}, nil
}

func (f *fakeCoordinator) PodBound(_ context.Context, req *coordv1.PodBoundRequest) (*coordv1.PodBoundResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bound = append(f.bound, req)
	return &coordv1.PodBoundResponse{}, nil
}

// serve starts `f` on a loopback port; returns its address.
func serve(t *testing.T, f *fakeCoordinator) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	coordv1.RegisterCoordinatorServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// closedAddress is a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// timers collects the plugin's retry timers so a test can fire them.
type timers struct {
	delays []time.Duration
	fns    []func()
}

func (tm *timers) afterFunc(d time.Duration, f func()) {
	tm.delays = append(tm.delays, d)
	tm.fns = append(tm.fns, f)
}

type harness struct {
	pl        *Plugin
	coord     *fakeCoordinator
	timers    *timers
	activated []string
	now       time.Time
}

func newHarness(t *testing.T, refuse map[string]string) *harness {
	t.Helper()
	h := &harness{coord: &fakeCoordinator{refuse: refuse}, timers: &timers{}, now: time.Unix(1000, 0)}
	args := Args{
		Address:             serve(t, h.coord),
		Timeout:             metav1.Duration{Duration: 5 * time.Second},
		RetryAfter:          metav1.Duration{Duration: time.Second},
		AvoidRefusedNodeFor: &metav1.Duration{Duration: 10 * time.Second},
	}
	h.pl = newPluginAt(t, args, func(p *v1.Pod) { h.activated = append(h.activated, podKey(p)) })
	h.pl.refusals.now = func() time.Time { return h.now }
	h.pl.refusals.afterFunc = h.timers.afterFunc
	return h
}

func newPluginAt(t *testing.T, args Args, activate func(*v1.Pod)) *Plugin {
	t.Helper()
	conn, err := Dial(args.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return newPlugin(args, "colo-coordinated", coordv1.NewCoordinatorClient(conn), activate)
}

func pod(name string) *v1.Pod {
	return st.MakePod().Namespace("ns").Name(name).UID(name).Priority(7).
		Req(map[v1.ResourceName]string{v1.ResourceCPU: "1500m", v1.ResourceMemory: "1Gi", "colo.io/batch-cpu": "2000"}).Obj()
}

func nodeInfo(name string) fwk.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(st.MakeNode().Name(name).Obj())
	return ni
}

func TestReserve(t *testing.T) {
	ctx := context.Background()

	t.Run("a granted reservation carries the pod's requests in colo units and lets it bind", func(t *testing.T) {
		h := newHarness(t, nil)
		if status := h.pl.Reserve(ctx, framework.NewCycleState(), pod("a"), "n1"); !status.IsSuccess() {
			t.Fatalf("Reserve: %v", status)
		}
		if len(h.coord.reserves) != 1 || len(h.coord.reserves[0].Items) != 1 {
			t.Fatalf("want one call with one item, got %v", h.coord.reserves)
		}
		req := h.coord.reserves[0]
		it := req.Items[0]
		want := map[string]int64{"cpu": 1500, "memory": 1 << 30, "pods": 1, "colo.io/batch-cpu": 2000}
		if req.Scheduler != "colo-coordinated" || it.Pod != "ns/a" || it.Node != "n1" || it.Priority != 7 || !equal(it.Resources, want) {
			t.Errorf("got %v, want scheduler colo-coordinated, ns/a on n1, priority 7, %v", req, want)
		}
		if len(h.timers.fns) != 0 {
			t.Errorf("no retry is due after a grant, got %v", h.timers.delays)
		}
	})

	t.Run("a refusal is Unschedulable with the coordinator's reason and a retry is due", func(t *testing.T) {
		h := newHarness(t, map[string]string{"n1": "insufficient cpu: 1500 wanted, 0 free"})
		status := h.pl.Reserve(ctx, framework.NewCycleState(), pod("a"), "n1")
		if status.Code() != fwk.Unschedulable || !strings.Contains(status.Message(), "insufficient cpu: 1500 wanted, 0 free") {
			t.Fatalf("want Unschedulable with the reason, got %v", status)
		}
		if len(h.timers.delays) != 1 || h.timers.delays[0] != time.Second {
			t.Fatalf("want one retry after 1s, got %v", h.timers.delays)
		}
		h.timers.fns[0]()
		if len(h.activated) != 1 || h.activated[0] != "ns/a" {
			t.Errorf("the retry should activate ns/a, got %v", h.activated)
		}
	})

	t.Run("an unreachable coordinator fails the cycle with an error, never a success", func(t *testing.T) {
		args := Args{Address: closedAddress(t), Timeout: metav1.Duration{Duration: 2 * time.Second},
			RetryAfter: metav1.Duration{Duration: time.Second}, AvoidRefusedNodeFor: &metav1.Duration{}}
		pl := newPluginAt(t, args, func(*v1.Pod) {})
		status := pl.Reserve(ctx, framework.NewCycleState(), pod("a"), "n1")
		if status.Code() != fwk.Error || !strings.Contains(status.Message(), "reserving ns/a on n1") {
			t.Fatalf("want Error naming the pod and node, got %v", status)
		}
	})

	t.Run("a coordinator that does not answer within the timeout fails the cycle with an error", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never speaks HTTP/2
		if err != nil {
			t.Fatal(err)
		}
		defer lis.Close()
		args := Args{Address: lis.Addr().String(), Timeout: metav1.Duration{Duration: 200 * time.Millisecond},
			RetryAfter: metav1.Duration{Duration: time.Second}, AvoidRefusedNodeFor: &metav1.Duration{}}
		pl := newPluginAt(t, args, func(*v1.Pod) {})
		start := time.Now()
		status := pl.Reserve(ctx, framework.NewCycleState(), pod("a"), "n1")
		if status.Code() != fwk.Error {
			t.Fatalf("want Error, got %v", status)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("Reserve took %s, the timeout is 200ms", took)
		}
	})
}

func TestUnreserveAndPostBind(t *testing.T) {
	ctx := context.Background()

	t.Run("unreserve releases the pod by its key, and again when called twice", func(t *testing.T) {
		h := newHarness(t, nil)
		h.pl.Unreserve(ctx, framework.NewCycleState(), pod("a"), "n1")
		h.pl.Unreserve(ctx, framework.NewCycleState(), pod("a"), "n1")
		if len(h.coord.unreserve) != 2 || h.coord.unreserve[1][0] != "ns/a" {
			t.Errorf("want two calls for ns/a, got %v", h.coord.unreserve)
		}
	})

	t.Run("unreserve against an unreachable coordinator returns (the TTL releases it)", func(t *testing.T) {
		args := Args{Address: closedAddress(t), Timeout: metav1.Duration{Duration: time.Second},
			RetryAfter: metav1.Duration{Duration: time.Second}, AvoidRefusedNodeFor: &metav1.Duration{}}
		newPluginAt(t, args, func(*v1.Pod) {}).Unreserve(ctx, framework.NewCycleState(), pod("a"), "n1")
	})

	t.Run("post-bind reports the binding with the pod's requests", func(t *testing.T) {
		h := newHarness(t, nil)
		h.pl.PostBind(ctx, framework.NewCycleState(), pod("a"), "n1")
		if len(h.coord.bound) != 1 || h.coord.bound[0].Pod != "ns/a" || h.coord.bound[0].Node != "n1" ||
			h.coord.bound[0].Resources["cpu"] != 1500 {
			t.Errorf("got %v", h.coord.bound)
		}
	})
}

func TestRefusedNodesAreAvoided(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, map[string]string{"n1": "insufficient cpu"})
	p := pod("a")

	state := framework.NewCycleState()
	if _, status := h.pl.PreFilter(ctx, state, p, nil); status.Code() != fwk.Skip {
		t.Fatalf("a pod never refused skips Filter, got %v", status)
	}
	if _, status := h.pl.SignPod(ctx, p); !status.IsSuccess() {
		t.Errorf("a pod never refused can be batched with others, got %v", status)
	}

	h.pl.Reserve(ctx, framework.NewCycleState(), p, "n1")
	state = framework.NewCycleState()
	if _, status := h.pl.PreFilter(ctx, state, p, nil); !status.IsSuccess() {
		t.Fatalf("a refused pod is filtered, got %v", status)
	}
	if status := h.pl.Filter(ctx, state, p, nodeInfo("n1")); status.Code() != fwk.UnschedulableAndUnresolvable ||
		!strings.Contains(status.Message(), "insufficient cpu") {
		t.Errorf("the refusing node is avoided with the reason, got %v", status)
	}
	if _, status := h.pl.SignPod(ctx, p); status.IsSuccess() {
		t.Errorf("a refused pod must not share another pod's filtering results")
	}
	if status := h.pl.Filter(ctx, state, p, nodeInfo("n2")); !status.IsSuccess() {
		t.Errorf("other nodes pass, got %v", status)
	}
	if status := h.pl.Filter(ctx, framework.NewCycleState(), pod("other"), nodeInfo("n1")); !status.IsSuccess() {
		t.Errorf("other pods are not kept off n1, got %v", status)
	}
	// Filter enabled without PreFilter looks the refusal up itself.
	if status := h.pl.Filter(ctx, framework.NewCycleState(), p, nodeInfo("n1")); status.IsSuccess() {
		t.Errorf("without PreFilter's state n1 is still avoided")
	}

	h.now = h.now.Add(10 * time.Second)
	if _, status := h.pl.PreFilter(ctx, framework.NewCycleState(), p, nil); status.Code() != fwk.Skip {
		t.Errorf("after avoidRefusedNodeFor the node is tried again, got %v", status)
	}
	if _, status := h.pl.SignPod(ctx, p); !status.IsSuccess() {
		t.Errorf("after avoidRefusedNodeFor the pod can be batched again, got %v", status)
	}

	h.pl.Reserve(ctx, framework.NewCycleState(), p, "n2") // granted
	if h.pl.refusals.size() != 0 {
		t.Errorf("a granted pod is forgotten")
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()

	t.Run("a pod kept off every node it fits is retried when the first avoidance lapses", func(t *testing.T) {
		h := newHarness(t, map[string]string{"n1": "full"})
		p := pod("a")
		h.pl.Reserve(ctx, framework.NewCycleState(), p, "n1") // retry due in 1s, n1 avoided for 10s
		h.timers.fns[0]()                                     // the retry: PreFilter finds n1 avoided
		h.now = h.now.Add(time.Second)
		h.pl.PreFilter(ctx, framework.NewCycleState(), p, nil)
		if got := h.timers.delays; len(got) != 2 || got[1] != 9*time.Second {
			t.Fatalf("want a second retry when n1's avoidance lapses (9s), got %v", got)
		}
		h.timers.fns[1]()
		if len(h.activated) != 2 {
			t.Errorf("want two activations, got %v", h.activated)
		}
	})

	t.Run("a retry pending for a pod that got a reservation since does nothing", func(t *testing.T) {
		h := newHarness(t, map[string]string{"n1": "full"})
		p := pod("a")
		h.pl.Reserve(ctx, framework.NewCycleState(), p, "n1")
		h.pl.Reserve(ctx, framework.NewCycleState(), p, "n2")
		h.timers.fns[0]()
		if len(h.activated) != 0 {
			t.Errorf("got %v", h.activated)
		}
	})

	t.Run("refusals of many pods are swept once nothing is pending for them", func(t *testing.T) {
		h := newHarness(t, map[string]string{"n1": "full"})
		h.pl.Reserve(ctx, framework.NewCycleState(), pod("a"), "n1")
		h.timers.fns[0]()
		h.now = h.now.Add(11 * time.Second)
		h.pl.Reserve(ctx, framework.NewCycleState(), pod("b"), "n1")
		if got := h.pl.refusals.size(); got != 1 {
			t.Errorf("want only b remembered, got %d", got)
		}
	})
}

func TestColoResources(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	tests := []struct {
		name string
		pod  *v1.Pod
		want map[string]int64
	}{
		{
			name: "a pod without requests takes its slot only",
			pod:  st.MakePod().Name("p").Container("c").Obj(),
			want: map[string]int64{"pods": 1},
		},
		{
			name: "cpu is rounded up to whole millicores",
			pod:  st.MakePod().Req(map[v1.ResourceName]string{v1.ResourceCPU: "100u"}).Obj(),
			want: map[string]int64{"cpu": 1, "pods": 1},
		},
		{
			name: "containers add up; an init container bigger than them sets the request",
			pod: st.MakePod().
				Req(map[v1.ResourceName]string{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}).
				Req(map[v1.ResourceName]string{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}).
				InitReq(map[v1.ResourceName]string{v1.ResourceCPU: "3", v1.ResourceMemory: "1Gi"}).Obj(),
			want: map[string]int64{"cpu": 3000, "memory": 2 << 30, "pods": 1},
		},
		{
			name: "a sidecar adds to the containers, overhead to everything",
			pod: func() *v1.Pod {
				p := st.MakePod().Req(map[v1.ResourceName]string{v1.ResourceCPU: "1"}).
					Overhead(v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m")}).Obj()
				p.Spec.InitContainers = []v1.Container{{Name: "side", RestartPolicy: &always,
					Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m")}}}}
				return p
			}(),
			want: map[string]int64{"cpu": 1750, "pods": 1},
		},
		{
			name: "extended resources are integers under their own names",
			pod: st.MakePod().Req(map[v1.ResourceName]string{
				"colo.io/batch-cpu": "4000", "colo.io/batch-memory": "8589934592"}).Obj(),
			want: map[string]int64{"colo.io/batch-cpu": 4000, "colo.io/batch-memory": 8 << 30, "pods": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := coloResources(tt.pod); !equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
