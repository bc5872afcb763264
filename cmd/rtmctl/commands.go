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
	"github.com/galaxy/rtmanager/core/domain"
)

// command is one verb of the CLI.
type command struct {
	args  []string                              // positional argument names: arity check, argChecks, messages
	flags func(*options, *flag.FlagSet)         // the command's own flags, if any
	run   func(s *session, args []string) error // calls the API and prints the answer
}

// Each command calls one operation of the generated client: do sends the
// request, the client's Parse function decodes the answer. They are kept
// apart so that call sees the answer's headers too (X-Galaxy-Outcome).
var commands = map[string]command{
	"list": {flags: (*options).bindList, run: runList},
	"get": {args: []string{"GAME"}, run: func(s *session, a []string) error {
		return show(s, func(ctx context.Context) (*http.Response, error) {
			return s.api.InternalGetRuntime(ctx, a[0], nil)
		}, client.ParseInternalGetRuntimeResponse, printRecord)
	}},
	"start": {args: []string{"GAME", "IMAGE_REF"}, run: func(s *session, a []string) error {
		return act(s, func(ctx context.Context) (*http.Response, error) {
			return s.api.InternalStartRuntime(ctx, a[0], nil, client.StartRequest{ImageRef: a[1]})
		}, client.ParseInternalStartRuntimeResponse, alreadyAs)
	}},
	"stop": {args: []string{"GAME", "REASON"}, run: func(s *session, a []string) error {
		return act(s, func(ctx context.Context) (*http.Response, error) {
			return s.api.InternalStopRuntime(ctx, a[0], nil, client.StopRequest{Reason: client.StopReason(a[1])})
		}, client.ParseInternalStopRuntimeResponse, alreadyAs)
	}},
	"restart": {args: []string{"GAME"}, run: func(s *session, a []string) error {
		return act(s, func(ctx context.Context) (*http.Response, error) {
			return s.api.InternalRestartRuntime(ctx, a[0], nil, client.RestartRequest{})
		}, client.ParseInternalRestartRuntimeResponse, alreadyAs)
	}},
	"patch": {args: []string{"GAME", "IMAGE_REF"}, run: func(s *session, a []string) error {
		return act(s, func(ctx context.Context) (*http.Response, error) {
			return s.api.InternalPatchRuntime(ctx, a[0], nil, client.PatchRequest{ImageRef: a[1]})
		}, client.ParseInternalPatchRuntimeResponse, alreadyOn)
	}},
	"cleanup": {args: []string{"GAME"}, run: func(s *session, a []string) error {
		return act(s, func(ctx context.Context) (*http.Response, error) {
			return s.api.InternalCleanupRuntimeContainer(ctx, a[0], nil)
		}, client.ParseInternalCleanupRuntimeContainerResponse, alreadyAs)
	}},
	"ops": {args: []string{"GAME"}, flags: (*options).bindPaging, run: func(s *session, a []string) error {
		params := &client.InternalListRuntimeOperationsParams{Limit: s.opts.limit, Cursor: s.opts.cursor}
		return show(s, func(ctx context.Context) (*http.Response, error) {
			return s.api.InternalListRuntimeOperations(ctx, a[0], params)
		}, client.ParseInternalListRuntimeOperationsResponse, printOperations)
	}},
	"health": {args: []string{"GAME"}, run: func(s *session, a []string) error {
		return show(s, func(ctx context.Context) (*http.Response, error) {
			return s.api.InternalGetRuntimeHealth(ctx, a[0], nil)
		}, client.ParseInternalGetRuntimeHealthResponse, printHealth)
	}},
}

// argChecks refuse a bad positional argument, by its name, before any call:
// the server would refuse it too, less clearly.
var argChecks = map[string]func(string) error{
	"GAME": func(v string) error {
		if domain.ValidateGameID(v) != nil {
			return errors.New("must be " + domain.GameIDRule)
		}
		return nil
	},
	"REASON": func(v string) error {
		_, err := oneOf(v, stopReasons)
		return err
	},
}

func runList(s *session, _ []string) error {
	params := client.InternalListRuntimesParams{Status: s.opts.status, Limit: s.opts.limit, Cursor: s.opts.cursor}
	page := func(ctx context.Context) (*http.Response, error) {
		return s.api.InternalListRuntimes(ctx, &params)
	}
	parse := client.ParseInternalListRuntimesResponse
	if !s.opts.all {
		return show(s, page, parse, printRuntimes)
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
		list, body, _, err := call(s, page, parse)
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
// payload with the body it was decoded from and the answer's headers. Any
// other answer is an *apiError when it carries the error envelope, else a
// plain error.
func call[T any, R response[T]](s *session, do func(context.Context) (*http.Response, error),
	parse func(*http.Response) (R, error)) (v *T, body []byte, header http.Header, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.timeout)
	defer cancel()
	rsp, err := do(ctx)
	var resp R
	if err == nil {
		resp, err = parse(rsp)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// Lifecycle calls run to completion even when the caller goes away
		// (api/openapi.yaml), so giving up here does not undo anything.
		return nil, nil, nil, fmt.Errorf("no answer within %s; an operation the server has begun still completes, check it with 'rtmctl get' or 'rtmctl ops'", s.opts.timeout)
	}
	if err != nil {
		if _, ok := errors.AsType[*url.Error](err); ok {
			return nil, nil, nil, err
		}
		// The client decodes every declared JSON answer; failing that,
		// whatever answered does not speak the contract.
		return nil, nil, nil, fmt.Errorf("malformed answer: %w", err)
	}
	if v := resp.GetJSON200(); v != nil {
		return v, resp.GetBody(), rsp.Header, nil
	}
	var envelope client.ErrorResponse
	if json.Unmarshal(resp.GetBody(), &envelope) == nil && envelope.Error.Code != "" {
		return nil, nil, nil, &apiError{body: resp.GetBody(), detail: envelope.Error}
	}
	return nil, nil, nil, fmt.Errorf("unexpected answer: %s", resp.Status())
}

// show performs one call and prints its answer.
func show[T any, R response[T]](s *session, do func(context.Context) (*http.Response, error),
	parse func(*http.Response) (R, error), table func(*session, *T)) error {
	v, body, _, err := call(s, do, parse)
	if err != nil {
		return err
	}
	emit(s, body, v, table)
	return nil
}

// outcomeHeader is the contract's header saying what a lifecycle call did.
const outcomeHeader = "X-Galaxy-Outcome"

// act performs a lifecycle call and prints the record after it. A record
// after a replay looks just as after work done, so a replay is also said
// in words, "<replay(record)>: nothing to do", on stderr (like every note
// of rtmctl) whatever the format: stdout stays the record, which -o json
// prints exactly as served.
func act[R response[client.RuntimeRecord]](s *session, do func(context.Context) (*http.Response, error),
	parse func(*http.Response) (R, error), replay func(*client.RuntimeRecord) string) error {
	rec, body, header, err := call(s, do, parse)
	if err != nil {
		return err
	}
	emit(s, body, rec, printRecord)
	if client.LifecycleOutcome(header.Get(outcomeHeader)) == client.LifecycleOutcomeReplayNoOp {
		fmt.Fprintf(s.stderr, "rtmctl: %s: nothing to do\n", replay(rec))
	}
	return nil
}

// alreadyAs words a replay by the state the runtime was found in: a start
// finds it running the image asked for, a stop stopped (or removed), a
// cleanup removed.
func alreadyAs(r *client.RuntimeRecord) string {
	if r.Status == client.RuntimeStatusRunning {
		return "already running " + text(r.CurrentImageRef)
	}
	return "already " + string(r.Status)
}

// alreadyOn words a patch replay: the runtime is on the image asked for
// already, running or stopped.
func alreadyOn(r *client.RuntimeRecord) string {
	return "already on " + text(r.CurrentImageRef)
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
