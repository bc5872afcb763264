// Command rtmctl is the operator CLI of Runtime Manager. It calls the
// internal REST API (api/openapi.yaml) through the generated client in
// api/client, prints tables for people and the server's JSON for scripts.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/galaxy/rtmanager/adapters/randid"
	"github.com/galaxy/rtmanager/api/client"
	"github.com/galaxy/rtmanager/api/paging"
	"github.com/galaxy/rtmanager/core/domain"
)

// Exit statuses. 1 is kept for answers carrying an error code, so a script
// that sees it knows stderr (and stdout with -o json) names the code; 3 means
// the server gave no usable answer at all.
const (
	exitOK        = 0
	exitAPI       = 1
	exitUsage     = 2
	exitTransport = 3
)

const (
	defaultServer  = "http://127.0.0.1:8096"
	defaultTimeout = 2 * time.Minute
)

// The enums the CLI checks before calling, in the contract's order so help
// and error messages list them the way the contract does.
var (
	runtimeStatuses = []client.RuntimeStatus{client.RuntimeStatusRunning, client.RuntimeStatusStopped, client.RuntimeStatusRemoved}
	stopReasons     = []client.StopReason{
		client.StopReasonOrphanCleanup, client.StopReasonCancelled, client.StopReasonFinished,
		client.StopReasonAdminRequest, client.StopReasonTimeout,
	}
)

var usage = `Usage: rtmctl [FLAGS] COMMAND [ARGS] [FLAGS]

Operate Runtime Manager through its internal REST API.

Commands:
  list                    list runtime records, ordered by game id
      --status S          only records in status S (` + joinEnum(runtimeStatuses) + `)
      --limit N           page size, 1 to ` + strconv.Itoa(paging.MaxSize) + ` (default ` + strconv.Itoa(paging.DefaultSize) + `)
      --cursor C          start at page C (a previous next_cursor)
      --all               follow next_cursor through every page
  get GAME                show a game's runtime record
  start GAME IMAGE_REF    start the game's engine container on IMAGE_REF
  stop GAME REASON        stop the game's container; REASON is one of
                          ` + joinEnum(stopReasons) + `
  restart GAME            replace the container with a fresh one on the current image
  patch GAME IMAGE_REF    replace the container with one on a patch-level newer image
  cleanup GAME            remove a stopped game's container (its state directory stays)
  ops GAME                show a game's operation log, newest first
      --limit N, --cursor C  as for list
  health GAME             show a game's latest health observation
  help                    show this help

GAME is a game id: ` + domain.GameIDRule + `.
rtmctl refuses any other id, a --limit out of range or an unknown REASON or
--status before calling the server.

A lifecycle command (start, stop, restart, patch, cleanup) prints the record
after it; when the call changed nothing because the game already was as asked
(the server's X-Galaxy-Outcome is replay_no_op), it also says so on stderr,
e.g. "rtmctl: already stopped: nothing to do". -o json prints the record as
served either way.

Flags (before or after the command):
  --server URL            Runtime Manager address (env RTMCTL_SERVER, default ` + defaultServer + `)
  --token T               bearer token (env RTMCTL_TOKEN; prefer it, flags show in ps)
  -o table|json           output format (default table); json prints the server's answer
  --timeout D             how long to wait for each answer (default ` + defaultTimeout.String() + `); a
                          lifecycle call the server has begun still completes after it
  --request-id ID         X-Request-Id, stored as the operation's source_ref (default random)

Exit status: 0 done; 1 the server refused (its error code is printed on stderr,
and with -o json its error body on stdout); 2 usage error; 3 no usable answer
(connection refused, timeout, malformed answer).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// options is everything the command line sets. Command flags that were not
// given stay nil so the server applies its own defaults.
type options struct {
	server    string
	token     string
	output    outputFormat
	timeout   time.Duration
	requestID string

	status *client.RuntimeStatus
	limit  *int
	cursor *string
	all    bool
}

// bindGlobal defines the global flags on fs with the values already in o as
// defaults: the command's flag set binds them again, and must keep what was
// given before the command.
func (o *options) bindGlobal(fs *flag.FlagSet) {
	fs.StringVar(&o.server, "server", o.server, "")
	fs.StringVar(&o.token, "token", o.token, "")
	fs.Var(&o.output, "o", "")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "")
	fs.StringVar(&o.requestID, "request-id", o.requestID, "")
}

func (o *options) bindPaging(fs *flag.FlagSet) {
	fs.Func("limit", "", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > paging.MaxSize {
			return fmt.Errorf("must be an integer from 1 to %d", paging.MaxSize)
		}
		o.limit = &n
		return nil
	})
	fs.Func("cursor", "", func(v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		o.cursor = &v
		return nil
	})
}

func (o *options) bindList(fs *flag.FlagSet) {
	o.bindPaging(fs)
	fs.Func("status", "", func(v string) error {
		s, err := oneOf(v, runtimeStatuses)
		if err != nil {
			return err
		}
		o.status = &s
		return nil
	})
	fs.BoolVar(&o.all, "all", false, "")
}

// outputFormat is the -o flag; Set refuses anything but the two formats so
// a typo is a usage error before any call is made.
type outputFormat string

const (
	outputTable outputFormat = "table"
	outputJSON  outputFormat = "json"
)

func (f *outputFormat) String() string {
	if f == nil { // the flag package may ask a zero value
		return ""
	}
	return string(*f)
}

func (f *outputFormat) Set(v string) error {
	switch format := outputFormat(v); format {
	case outputTable, outputJSON:
		*f = format
		return nil
	}
	return errors.New("must be table or json")
}

func run(args []string, stdout, stderr io.Writer, env func(string) string) int {
	o := options{
		server:  cmp.Or(env("RTMCTL_SERVER"), defaultServer),
		token:   env("RTMCTL_TOKEN"),
		output:  outputTable,
		timeout: defaultTimeout,
		// A stable prefix makes the CLI's calls easy to spot in source_ref.
		requestID: "rtmctl-" + randid.New(),
	}
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "rtmctl: "+format+"\nRun 'rtmctl help' for usage.\n", a...)
		return exitUsage
	}

	global := newFlagSet("rtmctl")
	o.bindGlobal(global)
	if err := global.Parse(args); err != nil {
		return flagError(err, stdout, usageError)
	}
	if global.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	name := global.Arg(0)
	if name == "help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	cmd, ok := commands[name]
	if !ok {
		return usageError("unknown command %q", name)
	}

	fs := newFlagSet("rtmctl " + name)
	o.bindGlobal(fs)
	if cmd.flags != nil {
		cmd.flags(&o, fs)
	}
	positional, err := parseInterspersed(fs, global.Args()[1:])
	if err != nil {
		return flagError(err, stdout, usageError)
	}
	if len(positional) != len(cmd.args) {
		return usageError("usage: rtmctl %s", strings.Join(append([]string{name}, cmd.args...), " "))
	}
	for i, arg := range positional {
		name := cmd.args[i]
		if arg == "" {
			return usageError("%s must not be empty", name)
		}
		if check := argChecks[name]; check != nil {
			if err := check(arg); err != nil {
				return usageError("%s %q: %v", name, arg, err)
			}
		}
	}
	if err := o.check(); err != nil {
		return usageError("%v", err)
	}

	s, err := newSession(o, stdout, stderr)
	if err != nil {
		return usageError("%v", err)
	}
	if err := cmd.run(s, positional); err != nil {
		return s.fail(err)
	}
	return exitOK
}

// check validates what the flag package cannot: values whose mistakes
// would otherwise surface as a confusing transport error or a server 400.
func (o *options) check() error {
	u, err := url.Parse(o.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--server %q: want an http:// or https:// URL", o.server)
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	if !validRequestID(o.requestID) {
		return fmt.Errorf("--request-id %q: want 1 to 128 printable ASCII characters without spaces", o.requestID)
	}
	return nil
}

// validRequestID mirrors the contract's X-Request-Id schema (^[!-~]+$, at
// most 128): the server would refuse anything else, and some values (a
// newline) never even leave the HTTP client.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		if id[i] < '!' || id[i] > '~' {
			return false
		}
	}
	return true
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// run reports flag errors itself, in the CLI's one-line format.
	fs.SetOutput(io.Discard)
	return fs
}

// flagError turns a flag parsing error into the exit status: -h/--help
// prints the usage and succeeds, anything else is a usage error.
func flagError(err error, stdout io.Writer, usageError func(string, ...any) int) int {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	return usageError("%v", err)
}

// parseInterspersed parses fs from args, letting flags follow positional
// arguments (`rtmctl get game-42 -o json`), which the flag package alone
// stops at. No positional argument can begin with "-" (game ids, image
// references and reasons never do), so no "--" handling is needed beyond
// what the flag package does.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// oneOf returns v as an E if it is one of allowed, for enum arguments.
func oneOf[E ~string](v string, allowed []E) (E, error) {
	for _, a := range allowed {
		if string(a) == v {
			return a, nil
		}
	}
	return "", fmt.Errorf("must be one of %s", joinEnum(allowed))
}

func joinEnum[E ~string](values []E) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
