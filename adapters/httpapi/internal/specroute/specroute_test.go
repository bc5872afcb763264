package specroute_test

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/galaxy/rtmanager/adapters/httpapi/internal/specroute"
	"github.com/galaxy/rtmanager/api"
)

func TestFind(t *testing.T) {
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := specroute.New(doc)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, target string
		operation      string
		params         map[string]string
		err            error
		allow          []string
	}{
		{method: "GET", target: "/healthz", operation: "internalHealthz", params: map[string]string{}},
		{method: "HEAD", target: "/readyz", operation: "internalReadyz", params: map[string]string{}},
		{method: "GET", target: "/metrics", operation: "", params: map[string]string{}},
		{method: "GET", target: "/api/v1/internal/runtimes?limit=5", operation: "internalListRuntimes", params: map[string]string{}},
		{method: "POST", target: "/api/v1/internal/runtimes/g-1/start", operation: "internalStartRuntime",
			params: map[string]string{"game_id": "g-1"}},
		// An escaped slash stays inside its segment, as with ServeMux.
		{method: "POST", target: "/api/v1/internal/runtimes/..%2Fx/start", operation: "internalStartRuntime",
			params: map[string]string{"game_id": "../x"}},
		{method: "GET", target: "/api/v1/internal/runtimes/a%20b", operation: "internalGetRuntime",
			params: map[string]string{"game_id": "a b"}},
		{method: "DELETE", target: "/api/v1/internal/runtimes/g/container", operation: "internalCleanupRuntimeContainer",
			params: map[string]string{"game_id": "g"}},
		{method: "GET", target: "/api/v1/internal/runtimes/g/start", allow: []string{"POST"}},
		{method: "OPTIONS", target: "/api/v1/internal/runtimes/g", allow: []string{"GET"}},
		{method: "GET", target: "/api/v1/internal/runtimes/g/nope", err: specroute.ErrNotFound},
		{method: "GET", target: "/api/v1/internal/runtimes/", err: specroute.ErrNotFound},
		{method: "GET", target: "/nope", err: specroute.ErrNotFound},
		{method: "POST", target: "/api/v1/internal/runtimes//start", err: specroute.ErrNotCanonical},
		{method: "GET", target: "/api/v1/internal/runtimes/./g", err: specroute.ErrNotCanonical},
		{method: "GET", target: "/api/v1/internal/x/../runtimes", err: specroute.ErrNotCanonical},
	}
	for _, c := range cases {
		route, params, err := rt.Find(httptest.NewRequest(c.method, c.target, nil))
		var notAllowed *specroute.MethodNotAllowedError
		switch {
		case c.allow != nil:
			if !errors.As(err, &notAllowed) || !reflect.DeepEqual(notAllowed.Allow, c.allow) {
				t.Errorf("%s %s: %v, want 405 allowing %v", c.method, c.target, err, c.allow)
			}
		case c.err != nil:
			if !errors.Is(err, c.err) {
				t.Errorf("%s %s: %v, want %v", c.method, c.target, err, c.err)
			}
		case err != nil:
			t.Errorf("%s %s: %v", c.method, c.target, err)
		case route.Operation.OperationID != c.operation || !reflect.DeepEqual(params, c.params):
			t.Errorf("%s %s: %s %v, want %s %v", c.method, c.target, route.Operation.OperationID, params, c.operation, c.params)
		}
	}
}
