package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/galaxy/rtmanager/api/client"
)

// command is one verb of the CLI.
type command struct {
	args  []string                              // positional argument names, for the arity check and its message
	flags func(*options, *flag.FlagSet)         // the command's own flags, if any
	check func(args []string) error             // refuses bad arguments before any call, if set
	run   func(s *session, args []string) error // calls the API and prints the answer
}

var commands = map[string]command{
	"list": {flags: (*options).bindList, run: runList},
	"get": {args: []string{"GAME"}, run: func(s *session, a []string) error {
		return show(s, func(ctx context.Context) (*client.InternalGetRuntimeResponse, error) {
			return s.api.InternalGetRuntimeWithResponse(ctx, a[0], nil)
		}, printRecord)
	}},
	"start": {args: []string{"GAME", "IMAGE_REF"}, run: func(s *session, a []string) error {
		return show(s, func(ctx context.Context) (*client.InternalStartRuntimeResponse, error) {
			return s.api.InternalStartRuntimeWithResponse(ctx, a[0], nil, client.StartRequest{ImageRef: a[1]})
		}, printRecord)
	}},
	"stop": {args: []string{"GAME", "REASON"}, check: checkStop, run: func(s *session, a []string) error {
		return show(s, func(ctx context.Context) (*client.InternalStopRuntimeResponse, error) {
			return s.api.InternalStopRuntimeWithResponse(ctx, a[0], nil, client.StopRequest{Reason: client.StopReason(a[1])})
		}, printRecord)
	}},
	"restart": {args: []string{"GAME"}, run: func(s *session, a []string) error {
		return show(s, func(ctx context.Context) (*client.InternalRestartRuntimeResponse, error) {
			return s.api.InternalRestartRuntimeWithResponse(ctx, a[0], nil, client.RestartRequest{})
		}, printRecord)
	}},
	"patch": {args: []string{"GAME", "IMAGE_REF"}, run: func(s *session, a []string) error {
		return show(s, func(ctx context.Context) (*client.InternalPatchRuntimeResponse, error) {
			return s.api.InternalPatchRuntimeWithResponse(ctx, a[0], nil, client.PatchRequest{ImageRef: a[1]})
		}, printRecord)
	}},
	"cleanup": {args: []string{"GAME"}, run: func(s *session, a []string) error {
		return show(s, func(ctx context.Context) (*client.InternalCleanupRuntimeContainerResponse, error) {
			return s.api.InternalCleanupRuntimeContainerWithResponse(ctx, a[0], nil)
		}, printRecord)
	}},
	"ops": {args: []string{"GAME"}, flags: (*options).bindPaging, run: func(s *session, a []string) error {
		params := &client.InternalListRuntimeOperationsParams{Limit: s.opts.limit, Cursor: s.opts.cursor}
		return show(s, func(ctx context.Context) (*client.InternalListRuntimeOperationsResponse, error) {
			return s.api.InternalListRuntimeOperationsWithResponse(ctx, a[0], params)
		}, printOperations)
	}},
	"health": {args: []string{"GAME"}, run: func(s *session, a []string) error {
		return show(s, func(ctx context.Context) (*client.InternalGetRuntimeHealthResponse, error) {
			return s.api.InternalGetRuntimeHealthWithResponse(ctx, a[0], nil)
		}, printHealth)
	}},
}

func checkStop(a []string) error {
	if _, err := oneOf(a[1], stopReasons); err != nil {
		return fmt.Errorf("REASON %q: %v", a[1], err)
	}
	return nil
}

func runList(s *session, _ []string) error {
	params := client.InternalListRuntimesParams{Status: s.opts.status, Limit: s.opts.limit, Cursor: s.opts.cursor}
	page := func(ctx context.Context) (*client.InternalListRuntimesResponse, error) {
		return s.api.InternalListRuntimesWithResponse(ctx, &params)
	}
	if !s.opts.all {
		return show(s, page, printRuntimes)
	}

	// -o json still prints one document of the server's shape, with every
	// record exactly as served, so scripts read --all like a single page.
	merged := struct {
		Runtimes   []json.RawMessage `json:"runtimes"`
		NextCursor *string           `json:"next_cursor"`
	}{Runtimes: []json.RawMessage{}}
	var all client.RuntimeList
	seen := map[string]bool{}
	for {
		list, body, err := call(s, page)
		if err != nil {
			return err
		}
		var raw struct {
			Runtimes []json.RawMessage `json:"runtimes"`
		}
		_ = json.Unmarshal(body, &raw) // the client has decoded this body already
		merged.Runtimes = append(merged.Runtimes, raw.Runtimes...)
		all.Runtimes = append(all.Runtimes, list.Runtimes...)
		if list.NextCursor == nil {
			break
		}
		// A server handing out a cursor twice would have us page forever.
		if seen[*list.NextCursor] {
			return fmt.Errorf("malformed answer: next_cursor %q came twice", *list.NextCursor)
		}
		seen[*list.NextCursor] = true
		params.Cursor = list.NextCursor
	}
	body, _ := json.Marshal(merged) // raw messages of decoded bodies always encode
	emit(s, body, &all, printRuntimes)
	return nil
}

// session is one invocation's client and output settings.
type session struct {
	api    *client.ClientWithResponses
	opts   options
	stdout io.Writer
	stderr io.Writer
}

func newSession(o options, stdout, stderr io.Writer) (*session, error) {
	api, err := client.NewClientWithResponses(o.server, client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		// Operators act as the admin caller, so the operation log records
		// admin_rest with our request id as the source_ref.
		r.Header.Set("X-Galaxy-Caller", "admin")
		r.Header.Set("X-Request-Id", o.requestID)
		if o.token != "" {
			r.Header.Set("Authorization", "Bearer "+o.token)
		}
		return nil
	}))
	if err != nil {
		return nil, err
	}
	return &session{api: api, opts: o, stdout: stdout, stderr: stderr}, nil
}

// response is what every generated response type offers; T is the payload
// of its 200 answer.
type response[T any] interface {
	Status() string
	GetBody() []byte
	GetJSON200() *T
}

// apiError is an answer carrying the contract's error envelope.
type apiError struct {
	body   []byte
	detail client.ErrorDetail
}

func (e *apiError) Error() string {
	return string(e.detail.Code) + ": " + e.detail.Message
}

// call performs one request, bounded by --timeout, and returns the 200
// payload with the body it was decoded from. Any other answer is an
// *apiError when it carries the error envelope, else a plain error.
func call[T any, R response[T]](s *session, do func(context.Context) (R, error)) (*T, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.timeout)
	defer cancel()
	resp, err := do(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// Lifecycle calls run to completion even when the caller goes away
		// (api/openapi.yaml), so giving up here does not undo anything.
		return nil, nil, fmt.Errorf("no answer within %s; an operation the server has begun still completes, check it with 'rtmctl get' or 'rtmctl ops'", s.opts.timeout)
	}
	if err != nil {
		if _, ok := errors.AsType[*url.Error](err); ok {
			return nil, nil, err
		}
		// The client decodes every declared JSON answer; failing that,
		// whatever answered does not speak the contract.
		return nil, nil, fmt.Errorf("malformed answer: %w", err)
	}
	if v := resp.GetJSON200(); v != nil {
		return v, resp.GetBody(), nil
	}
	var envelope client.ErrorResponse
	if json.Unmarshal(resp.GetBody(), &envelope) == nil && envelope.Error.Code != "" {
		return nil, nil, &apiError{body: resp.GetBody(), detail: envelope.Error}
	}
	return nil, nil, fmt.Errorf("unexpected answer: %s", resp.Status())
}

// show performs one call and prints its answer.
func show[T any, R response[T]](s *session, do func(context.Context) (R, error), table func(*session, *T)) error {
	v, body, err := call(s, do)
	if err != nil {
		return err
	}
	emit(s, body, v, table)
	return nil
}

// emit prints a successful answer: the body itself for scripts, a table for
// people.
func emit[T any](s *session, body []byte, v *T, table func(*session, *T)) {
	if s.opts.output == outputJSON {
		printJSON(s.stdout, body)
		return
	}
	table(s, v)
}

// fail reports err and returns the exit status: the error code on stderr
// (and the envelope on stdout for -o json) for a refusal, the cause for no
// usable answer.
func (s *session) fail(err error) int {
	fmt.Fprintf(s.stderr, "rtmctl: %v\n", err)
	apiErr, ok := errors.AsType[*apiError](err)
	if !ok {
		return exitTransport
	}
	if s.opts.output == outputJSON {
		printJSON(s.stdout, apiErr.body)
	}
	return exitAPI
}

// printJSON pretty-prints a body that has been decoded already, so Indent
// cannot fail on it.
func printJSON(w io.Writer, body []byte) {
	var buf bytes.Buffer
	// Trimmed: Indent keeps trailing space, and servers end bodies with "\n".
	_ = json.Indent(&buf, bytes.TrimSpace(body), "", "  ")
	buf.WriteByte('\n')
	_, _ = w.Write(buf.Bytes())
}
