package colocoordinator

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
)

func TestDecodeArgs(t *testing.T) {
	tests := []struct {
		name    string
		obj     runtime.Object
		wantErr string
		check   func(t *testing.T, a Args)
	}{
		{
			name: "only the address given: the rest defaults",
			obj:  &runtime.Unknown{Raw: []byte(`{"address": "127.0.0.1:7070"}`)},
			check: func(t *testing.T, a Args) {
				if a.Address != "127.0.0.1:7070" || a.Timeout.Duration != DefaultTimeout ||
					a.RetryAfter.Duration != DefaultRetryAfter || a.AvoidRefusedNodeFor.Duration != DefaultAvoidRefusedNodeFor {
					t.Errorf("got %+v", a)
				}
			},
		},
		{
			name: "durations are read as Go durations; avoidRefusedNodeFor 0 turns avoiding off",
			obj: &runtime.Unknown{Raw: []byte(
				`{"address": "c:1", "timeout": "250ms", "retryAfter": "3s", "avoidRefusedNodeFor": "0s"}`)},
			check: func(t *testing.T, a Args) {
				if a.Timeout.Duration != 250*time.Millisecond || a.RetryAfter.Duration != 3*time.Second ||
					a.AvoidRefusedNodeFor.Duration != 0 {
					t.Errorf("got %+v", a)
				}
			},
		},
		{
			name: "YAML args are read too",
			obj: &runtime.Unknown{ContentType: runtime.ContentTypeYAML,
				Raw: []byte("address: c:1\ntimeout: 1s\n")},
			check: func(t *testing.T, a Args) {
				if a.Address != "c:1" || a.Timeout.Duration != time.Second {
					t.Errorf("got %+v", a)
				}
			},
		},
		{name: "no args: the address is missing", obj: nil, wantErr: "address is required"},
		{name: "empty args: the address is missing", obj: &runtime.Unknown{}, wantErr: "address is required"},
		{
			name:    "a misspelt field is an error, not ignored",
			obj:     &runtime.Unknown{Raw: []byte(`{"address": "c:1", "timout": "1s"}`)},
			wantErr: `unknown field "timout"`,
		},
		{
			name:    "a negative timeout is an error",
			obj:     &runtime.Unknown{Raw: []byte(`{"address": "c:1", "timeout": "-1s"}`)},
			wantErr: "timeout must be > 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeArgs(tt.obj)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want an error with %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}
