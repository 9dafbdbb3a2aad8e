package colocoordinator

import (
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// refusal is one node the coordinator refused for a pod: avoided until `until`.
type refusal struct {
	until  time.Time
	reason string
}

type refusedPod struct {
	pod   *v1.Pod
	nodes map[string]refusal
	// The pending retry: retryGen names the timer that may fire it, retryAt is when.
	retryGen uint64
	retryAt  time.Time
}

// refusals remembers, per pod, the nodes the coordinator refused it, and brings refused
// pods back to the scheduling queue on time.
//
// Why both: kube-scheduler does not see the coordinator's ledger, so (1) nothing it
// watches changes when the room it was refused frees up at the coordinator — the plugin
// has to requeue the pod itself (retry) — and (2) its next cycle would pick the same
// best-scored node again — Filter keeps the pod off the nodes in `avoiding` for a while
// (avoidFor), so the retry goes elsewhere. When the pod fits nowhere else, a retry is
// due when the earliest avoidance lapses.
//
// Safe for concurrent use: Reserve (scheduling goroutine), Filter (parallel) and the
// timers all come here.
type refusals struct {
	retryAfter time.Duration
	avoidFor   time.Duration
	now        func() time.Time
	afterFunc  func(time.Duration, func()) // time.AfterFunc; tests run timers by hand
	activate   func(*v1.Pod)               // move the pod to the active queue

	mu        sync.Mutex
	pods      map[types.UID]*refusedPod
	gen       uint64
	lastSweep time.Time
}

func newRefusals(retryAfter, avoidFor time.Duration, activate func(*v1.Pod)) *refusals {
	return &refusals{
		retryAfter: retryAfter,
		avoidFor:   avoidFor,
		now:        time.Now,
		afterFunc:  func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		activate:   activate,
		pods:       map[types.UID]*refusedPod{},
	}
}

// refuse records that the coordinator refused `pod` on `node` and schedules its retry.
func (r *refusals) refuse(pod *v1.Pod, node, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.sweepLocked(now)
	e := r.pods[pod.UID]
	if e == nil {
		e = &refusedPod{nodes: map[string]refusal{}}
		r.pods[pod.UID] = e
	}
	e.pod = pod
	if r.avoidFor > 0 {
		e.nodes[node] = refusal{until: now.Add(r.avoidFor), reason: reason}
	}
	r.retryLocked(e, now, now.Add(r.retryAfter))
}

// avoiding returns the nodes `pod` is kept off now (nil if none). While there are some,
// a retry is due at the latest when the first of them lapses.
func (r *refusals) avoiding(pod *v1.Pod) map[string]refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.pods[pod.UID]
	if e == nil {
		return nil
	}
	now := r.now()
	var out map[string]refusal
	var first time.Time
	for node, ref := range e.nodes {
		if !now.Before(ref.until) {
			delete(e.nodes, node)
			continue
		}
		if out == nil {
			out = map[string]refusal{}
		}
		out[node] = ref
		if first.IsZero() || ref.until.Before(first) {
			first = ref.until
		}
	}
	if out != nil {
		e.pod = pod
		r.retryLocked(e, now, first)
	}
	return out
}

// has tells whether `pod` is kept off any node now.
func (r *refusals) has(pod *v1.Pod) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.pods[pod.UID]; e != nil {
		now := r.now()
		for _, ref := range e.nodes {
			if now.Before(ref.until) {
				return true
			}
		}
	}
	return false
}

// forget drops what is known about `uid` (it got a reservation); a pending retry is void.
func (r *refusals) forget(uid types.UID) {
	r.mu.Lock()
	delete(r.pods, uid)
	r.mu.Unlock()
}

// retryLocked makes sure a retry of e's pod is due no later than `at`.
func (r *refusals) retryLocked(e *refusedPod, now, at time.Time) {
	if e.retryGen != 0 && !e.retryAt.After(at) {
		return // an earlier (or the same) retry is pending already
	}
	r.gen++
	gen, uid := r.gen, e.pod.UID
	e.retryGen, e.retryAt = gen, at
	r.afterFunc(at.Sub(now), func() { r.fire(uid, gen) })
}

func (r *refusals) fire(uid types.UID, gen uint64) {
	r.mu.Lock()
	e := r.pods[uid]
	if e == nil || e.retryGen != gen {
		r.mu.Unlock()
		return // reserved since, or superseded by an earlier retry
	}
	e.retryGen, e.retryAt = 0, time.Time{}
	pod := e.pod
	r.mu.Unlock()
	r.activate(pod)
}

// sweepLocked drops pods with nothing left to avoid and no retry pending (deleted or
// scheduled by other means), at most once per max(avoidFor, retryAfter).
func (r *refusals) sweepLocked(now time.Time) {
	every := max(r.avoidFor, r.retryAfter)
	if now.Sub(r.lastSweep) < every {
		return
	}
	r.lastSweep = now
	for uid, e := range r.pods {
		if e.retryGen != 0 {
			continue
		}
		for node, ref := range e.nodes {
			if !now.Before(ref.until) {
				delete(e.nodes, node)
			}
		}
		if len(e.nodes) == 0 {
			delete(r.pods, uid)
		}
	}
}

// size is how many pods are remembered (for tests).
func (r *refusals) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pods)
}
