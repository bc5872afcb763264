// Package contracttest makes tests check every answer of the REST API
// against api/openapi.yaml. Wrap the handler under test (Handler) or the
// client's transport (Transport); each request/response pair that passes is
// then validated with kin-openapi — the status must be declared for the
// operation, headers and body must match its schema — and a mismatch fails
// the test. On top of the document it checks the two rules the contract
// states in prose: JSON answers carry `application/json; charset=utf-8`, and
// a request's X-Request-Id is echoed.
//
// Requests are not validated: tests send malformed ones on purpose, and the
// answer to those is what must keep to the contract. A request that names no
// operation must get the error envelope with 400, 404 or 405.
//
// Import it from tests only.
package contracttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/galaxy/rtmanager/adapters/httpapi/internal/specroute"
	"github.com/galaxy/rtmanager/api"
)

// Handler serves h, validating each answer before passing it on to the
// caller. Answers are buffered, so h must not stream.
func Handler(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	c := newChecker(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		c.check(r, rec.Code, rec.Header(), rec.Body.Bytes())
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// Transport validates each answer rt (http.DefaultTransport when nil)
// receives, e.g. as the transport of the generated client.
func Transport(t testing.TB, rt http.RoundTripper) http.RoundTripper {
	t.Helper()
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &transport{c: newChecker(t), next: rt}
}

type transport struct {
	c    *checker
	next http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	tr.c.check(req, resp.StatusCode, resp.Header, body)
	return resp, nil
}

type checker struct {
	t        testing.TB
	router   *specroute.Router
	envelope *openapi3.Schema
}

func newChecker(t testing.TB) *checker {
	t.Helper()
	doc, err := api.Load()
	if err != nil {
		t.Fatalf("contracttest: %v", err)
	}
	router, err := specroute.New(doc)
	if err != nil {
		t.Fatalf("contracttest: %v", err)
	}
	envelope, ok := doc.Components.Schemas["ErrorResponse"]
	if !ok {
		t.Fatal("contracttest: the contract has no ErrorResponse schema")
	}
	return &checker{t: t, router: router, envelope: envelope.Value}
}

var responseOptions = openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}

func (c *checker) check(req *http.Request, status int, header http.Header, body []byte) {
	c.t.Helper()
	where := req.Method + " " + req.URL.RequestURI() + " → " + strconv.Itoa(status)
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt == "application/json" {
		if ct := header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			c.t.Errorf("contract: %s: Content-Type %q, want %q", where, ct, "application/json; charset=utf-8")
		}
	}
	if id := req.Header.Get("X-Request-Id"); id != "" && header.Get("X-Request-Id") != id {
		c.t.Errorf("contract: %s: X-Request-Id %q not echoed (got %q)", where, id, header.Get("X-Request-Id"))
	}

	route, params, err := c.router.Find(req)
	if err != nil {
		c.checkUnrouted(where, err, status, body)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &responseOptions,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		c.t.Errorf("contract: %s (%s): %v\nbody: %s", where, route.Operation.OperationID, err, body)
	}
}

// checkUnrouted: a request that names no operation is answered with the
// error envelope, with the status its routing failure implies.
func (c *checker) checkUnrouted(where string, routeErr error, status int, body []byte) {
	c.t.Helper()
	want := http.StatusBadRequest
	var notAllowed *specroute.MethodNotAllowedError
	switch {
	case errors.As(routeErr, &notAllowed):
		want = http.StatusMethodNotAllowed
	case errors.Is(routeErr, specroute.ErrNotFound):
		want = http.StatusNotFound
	}
	if status != want {
		c.t.Errorf("contract: %s: %v, so the status must be %d", where, routeErr, want)
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		c.t.Errorf("contract: %s: body is not JSON: %v\nbody: %s", where, err, body)
		return
	}
	if err := c.envelope.VisitJSON(value); err != nil {
		c.t.Errorf("contract: %s: body is not the error envelope: %v\nbody: %s", where, err, body)
	}
}
