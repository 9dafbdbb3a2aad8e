package colocoordinator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Defaults of Args.
const (
	DefaultTimeout             = 2 * time.Second
	DefaultRetryAfter          = time.Second
	DefaultAvoidRefusedNodeFor = 10 * time.Second
)

// Args are the plugin's arguments, from the profile's pluginConfig:
//
//	pluginConfig:
//	- name: ColoCoordinator
//	  args:
//	    address: 127.0.0.1:7070
//	    timeout: 2s
//	    retryAfter: 1s
//	    avoidRefusedNodeFor: 10s
type Args struct {
	// Address of colo-coordinator's gRPC service (host:port, or any gRPC target). Required.
	Address string `json:"address"`
	// Timeout of one call to the coordinator. Reserve runs inside the scheduling cycle,
	// which is serial, so this bounds how long one pod can hold up all the others when the
	// coordinator hangs. Default 2s.
	Timeout metav1.Duration `json:"timeout"`
	// RetryAfter is when a pod the coordinator refused is tried again if no cluster event
	// has moved it back to the queue by then: the coordinator's ledger changes (another
	// scheduler's reservation expires or is released) are invisible to kube-scheduler.
	// Default 1s.
	RetryAfter metav1.Duration `json:"retryAfter"`
	// AvoidRefusedNodeFor is how long Filter keeps a pod off a node whose coordinator
	// refused it, so the retry goes elsewhere instead of to the same best-scored node
	// (kube-scheduler does not see the reservations that filled it). 0 turns it off.
	// Default 10s; a pod that fits nowhere else is tried again when it lapses.
	AvoidRefusedNodeFor *metav1.Duration `json:"avoidRefusedNodeFor,omitempty"`
}

// decodeArgs reads the profile's args for the plugin (a *runtime.Unknown holding JSON or
// YAML), rejecting unknown fields, and fills in the defaults.
func decodeArgs(obj runtime.Object) (Args, error) {
	var args Args
	if obj != nil {
		raw, ok := obj.(*runtime.Unknown)
		if !ok {
			return args, fmt.Errorf("%s: want args of type runtime.Unknown, got %T", Name, obj)
		}
		data := raw.Raw
		switch raw.ContentType {
		case runtime.ContentTypeJSON, "":
		case runtime.ContentTypeYAML:
			var err error
			if data, err = yaml.YAMLToJSON(data); err != nil {
				return args, fmt.Errorf("%s args: %w", Name, err)
			}
		default:
			return args, fmt.Errorf("%s args: unsupported content type %q", Name, raw.ContentType)
		}
		if len(bytes.TrimSpace(data)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&args); err != nil {
				return args, fmt.Errorf("%s args: %w", Name, err)
			}
		}
	}
	if args.Timeout.Duration == 0 {
		args.Timeout.Duration = DefaultTimeout
	}
	if args.RetryAfter.Duration == 0 {
		args.RetryAfter.Duration = DefaultRetryAfter
	}
	if args.AvoidRefusedNodeFor == nil {
		args.AvoidRefusedNodeFor = &metav1.Duration{Duration: DefaultAvoidRefusedNodeFor}
	}
	return args, args.validate()
}

func (a Args) validate() error {
	switch {
	case a.Address == "":
		return fmt.Errorf("%s args: address is required (the coordinator's host:port)", Name)
	case a.Timeout.Duration < 0:
		return fmt.Errorf("%s args: timeout must be > 0, got %s", Name, a.Timeout.Duration)
	case a.RetryAfter.Duration < 0:
		return fmt.Errorf("%s args: retryAfter must be > 0, got %s", Name, a.RetryAfter.Duration)
	case a.AvoidRefusedNodeFor.Duration < 0:
		return fmt.Errorf("%s args: avoidRefusedNodeFor must be >= 0, got %s", Name,
			a.AvoidRefusedNodeFor.Duration)
	}
	return nil
}
