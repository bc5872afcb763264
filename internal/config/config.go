// Package config reads the RTMANAGER_* environment (contract §9) into one
// typed struct. Every invalid value is refused with one line naming the
// variable, so a misconfigured process stops at boot instead of misbehaving
// later.
package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/limits"
)

// Prefix of every variable.
const Prefix = "RTMANAGER_"

// Streams are the Redis stream keys (contract §6).
type Streams struct {
	StartJobs           string
	StopJobs            string
	JobResults          string
	HealthEvents        string
	NotificationIntents string
	DeadLetters         string // copies of malformed job entries (contract §12.3)
	Group               string
	ClaimIdle           time.Duration
	MaxLen              int64
}

// Values of RTMANAGER_RUNTIME.
const (
	RuntimeDocker = "docker"
	RuntimeSwarm  = "swarm"
)

// Config is the whole service configuration.
type Config struct {
	InternalHTTPAddr string
	PostgresDSN      string
	RedisAddr        string
	RedisPassword    string
	RedisDB          int

	DockerHost             string
	DockerNetwork          string
	DockerCallTimeout      time.Duration
	ImagePullTimeout       time.Duration
	DockerStartConcurrency int
	// Deployment is the com.galaxy.deployment label value: RTM's containers
	// are those carrying it beside the owner label (contract §3).
	Deployment string
	// Runtime says what runs engines: RuntimeDocker or RuntimeSwarm.
	Runtime string

	GameStateRoot        string
	GameStateDirMode     os.FileMode
	GameStateOwnerUID    int
	GameStateOwnerGID    int
	EngineStateMountPath string
	EngineStateEnvName   string

	ImagePullPolicy      domain.PullPolicy
	AllowedImagePrefixes []string
	DefaultLimits        limits.Limits

	LobbyBaseURL string
	LobbyTimeout time.Duration

	ContainerStopTimeout time.Duration
	RetentionDays        int

	InspectInterval        time.Duration
	ProbeInterval          time.Duration
	ProbeTimeout           time.Duration
	ProbeFailuresThreshold int
	ProbeConcurrency       int
	ReconcileInterval      time.Duration
	ReconcileGrace         time.Duration
	CleanupInterval        time.Duration

	GameLeaseTTL       time.Duration
	EngineReadyTimeout time.Duration
	EngineAddress      string // endpoint | container_ip
	JobConcurrency     int

	Streams Streams

	InternalToken   string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	// InstanceID names this process as a stream consumer; hostname-pid by default.
	InstanceID string
	// ExtraContainerLabels is not read from the environment: embedding
	// programs (the integration tests) set it to label what they create.
	ExtraContainerLabels map[string]string
}

// Var is one environment variable the service reads.
type Var struct {
	// Name is the variable's name without Prefix.
	Name string
	// Default is the value used when the variable is unset, written as an
	// operator would write it; "" is empty.
	Default string
	// Unit says what kind of value it takes.
	Unit string
	// Meaning says what it does, in one line.
	Meaning string
}

// variables is the one list of what Parse reads: its names, defaults and
// meanings. Parse takes every default from here, `rtmanager --help` prints it
// and a test holds docs/configuration.md to it, so the three cannot disagree.
var variables = []Var{
	{"INTERNAL_HTTP_ADDR", ":8096", "host:port", "listener of the REST API, /healthz, /readyz and /metrics"},
	{"POSTGRES_PRIMARY_DSN", "postgres://rtmanagerservice:rtmanagerservice@127.0.0.1:5432/galaxy?search_path=rtmanager&sslmode=disable", "URL", "PostgreSQL, with search_path=rtmanager"},
	{"REDIS_MASTER_ADDR", "127.0.0.1:6379", "host:port", "Redis (leases and streams)"},
	{"REDIS_PASSWORD", "", "text", "Redis password; empty: none"},
	{"REDIS_DB", "0", "number", "Redis database"},

	{"DOCKER_HOST", "unix:///var/run/docker.sock", "URL", "Docker daemon: unix:///path or tcp://host:port"},
	{"DOCKER_NETWORK", "galaxy-net", "name", "user-defined network engines join; must exist, RTM never creates it"},
	{"DEPLOYMENT", "default", "label value", "com.galaxy.deployment of this deployment's engines; only containers carrying it and the owner label are RTM's"},
	{"RUNTIME", "docker", "docker, swarm", "what runs engines: plain containers, or Swarm services on the nodes labelled com.galaxy.engine-host=true"},
	{"DOCKER_CALL_TIMEOUT", "30s", "duration", "bound of every Docker call except pulls"},
	{"IMAGE_PULL_TIMEOUT", "10m", "duration", "bound of one image pull"},
	{"DOCKER_START_CONCURRENCY", "4", "count", "container create+start pairs in flight on the host; more wait"},

	{"GAME_STATE_ROOT", "/var/lib/galaxy/games", "path", "host directory holding each game's state directory"},
	{"GAME_STATE_DIR_MODE", "0750", "octal mode", "mode of a new state directory; must give the owner rwx"},
	{"GAME_STATE_OWNER_UID", "0", "uid", "owner of a new state directory"},
	{"GAME_STATE_OWNER_GID", "0", "gid", "group of a new state directory"},
	{"ENGINE_STATE_MOUNT_PATH", "/var/lib/galaxy-game", "path", "where the state directory is mounted in the engine"},
	{"ENGINE_STATE_ENV_NAME", "GAME_STATE_PATH", "name", "engine environment variable carrying the mount path"},

	{"IMAGE_PULL_POLICY", "if_missing", "if_missing, always, never", "when a start pulls the engine image"},
	{"ALLOWED_IMAGE_PREFIXES", "", "list", "comma-separated repository prefixes an image must fall under; empty: any"},
	{"DEFAULT_CPU_QUOTA", "1.0", "CPUs", "CPU limit of an image without com.galaxy.cpu_quota; at least 0.01"},
	{"DEFAULT_MEMORY", "512m", "bytes", "memory limit of an image without com.galaxy.memory (k, m, g suffixes)"},
	{"DEFAULT_PIDS_LIMIT", "512", "count", "process limit of an image without com.galaxy.pids_limit"},

	{"LOBBY_INTERNAL_BASE_URL", "", "URL", "Game Lobby's internal API, asked for diagnostics at start; empty: not asked"},
	{"LOBBY_INTERNAL_TIMEOUT", "2s", "duration", "bound of one Lobby call"},

	{"CONTAINER_STOP_TIMEOUT_SECONDS", "30", "seconds", "grace an engine gets to stop before it is killed"},
	{"CONTAINER_RETENTION_DAYS", "30", "days", "how long a stopped container is kept before the cleanup worker removes it"},

	{"INSPECT_INTERVAL", "30s", "duration", "period of the inspect worker"},
	{"PROBE_INTERVAL", "15s", "duration", "period of the probe worker"},
	{"PROBE_TIMEOUT", "2s", "duration", "bound of one engine probe"},
	{"PROBE_FAILURES_THRESHOLD", "3", "count", "consecutive probe failures that make probe_failed"},
	{"PROBE_CONCURRENCY", "16", "count", "engine probes in flight"},
	{"RECONCILE_INTERVAL", "5m", "duration", "period of the reconciler"},
	{"RECONCILE_GRACE", "30s", "duration", "age under which the reconciler leaves a container alone; 0s allowed"},
	{"CLEANUP_INTERVAL", "1h", "duration", "period of the cleanup worker"},

	{"GAME_LEASE_TTL_SECONDS", "60", "seconds", "lifetime of a game's lease; renewed every third of it while an operation runs"},
	{"ENGINE_READY_TIMEOUT", "30s", "duration", "how long a started engine has to answer /healthz 200"},
	{"ENGINE_ADDRESS", "endpoint", "endpoint, container_ip", "how RTM reaches engines: Docker DNS name, or container IP when RTM runs on the host"},
	{"JOB_CONCURRENCY", "16", "count", "stream jobs of different games in flight"},

	{"STREAM_START_JOBS", "runtime:start_jobs", "stream key", "start jobs from Game Lobby"},
	{"STREAM_STOP_JOBS", "runtime:stop_jobs", "stream key", "stop jobs from Game Lobby"},
	{"STREAM_JOB_RESULTS", "runtime:job_results", "stream key", "job results to Game Lobby"},
	{"STREAM_HEALTH_EVENTS", "runtime:health_events", "stream key", "health events to Game Master"},
	{"STREAM_NOTIFICATION_INTENTS", "notification:intents", "stream key", "notification intents to the Notification service"},
	{"STREAM_DEAD_LETTERS", "rtmanager:dead_letters", "stream key", "copies of malformed job entries, for operators"},
	{"STREAM_GROUP", "rtmanager", "name", "consumer group of the job streams"},
	{"STREAM_CLAIM_IDLE", "1m", "duration", "how long a job stays pending with a consumer before another may claim it"},
	{"STREAM_MAX_LEN", "100000", "entries", "approximate length every published stream is trimmed to"},

	{"INTERNAL_TOKEN", "", "text", "bearer token every /api/ call must carry; empty: no authentication"},
	{"LOG_LEVEL", "info", "debug, info, warn, error", "lowest level logged"},
	{"LOG_FORMAT", "json", "json, text", "log line format"},
	{"SHUTDOWN_TIMEOUT", "30s", "duration", "how long in-flight requests get to finish after SIGTERM"},
	{"INSTANCE_ID", "", "name", "this process's consumer name in the stream group; empty: <hostname>-<pid>"},
}

// Variables returns every variable Parse reads, in a stable order.
func Variables() []Var { return slices.Clone(variables) }

// defaults maps each variable's name to its default.
var defaults = func() map[string]string {
	m := make(map[string]string, len(variables))
	for _, v := range variables {
		m[v.Name] = v.Default
	}
	return m
}()

// Load reads the configuration from the process environment.
func Load() (Config, error) { return Parse(os.LookupEnv) }

// Parse reads the configuration through lookup (os.LookupEnv in production).
func Parse(lookup func(string) (string, bool)) (Config, error) {
	p := parser{lookup: lookup}
	c := Config{
		InternalHTTPAddr: p.addr("INTERNAL_HTTP_ADDR"),
		PostgresDSN:      p.dsn("POSTGRES_PRIMARY_DSN"),
		RedisAddr:        p.addr("REDIS_MASTER_ADDR"),
		RedisPassword:    p.str("REDIS_PASSWORD"),
		RedisDB:          p.intRange("REDIS_DB", 0, 1<<20),

		DockerHost:             p.dockerHost("DOCKER_HOST"),
		DockerNetwork:          p.nonEmpty("DOCKER_NETWORK"),
		Deployment:             p.labelValue("DEPLOYMENT"),
		Runtime:                p.oneOf("RUNTIME", RuntimeDocker, RuntimeSwarm),
		DockerCallTimeout:      p.duration("DOCKER_CALL_TIMEOUT"),
		ImagePullTimeout:       p.duration("IMAGE_PULL_TIMEOUT"),
		DockerStartConcurrency: p.intRange("DOCKER_START_CONCURRENCY", 1, 1024),

		GameStateRoot:        p.absPath("GAME_STATE_ROOT"),
		GameStateDirMode:     p.fileMode("GAME_STATE_DIR_MODE"),
		GameStateOwnerUID:    p.intRange("GAME_STATE_OWNER_UID", 0, 1<<31-1),
		GameStateOwnerGID:    p.intRange("GAME_STATE_OWNER_GID", 0, 1<<31-1),
		EngineStateMountPath: p.absPath("ENGINE_STATE_MOUNT_PATH"),
		EngineStateEnvName:   p.envName("ENGINE_STATE_ENV_NAME"),

		ImagePullPolicy:      domain.PullPolicy(p.oneOf("IMAGE_PULL_POLICY", "if_missing", "always", "never")),
		AllowedImagePrefixes: p.list("ALLOWED_IMAGE_PREFIXES"),
		DefaultLimits: limits.Limits{
			NanoCPUs:    p.parsed("DEFAULT_CPU_QUOTA", limits.ParseCPU),
			MemoryBytes: p.parsed("DEFAULT_MEMORY", limits.ParseMemory),
			PidsLimit:   p.parsed("DEFAULT_PIDS_LIMIT", limits.ParsePids),
		},

		LobbyBaseURL: p.optionalURL("LOBBY_INTERNAL_BASE_URL"),
		LobbyTimeout: p.duration("LOBBY_INTERNAL_TIMEOUT"),

		ContainerStopTimeout: time.Duration(p.intRange("CONTAINER_STOP_TIMEOUT_SECONDS", 0, 3600)) * time.Second,
		RetentionDays:        p.intRange("CONTAINER_RETENTION_DAYS", 1, 36500),

		InspectInterval:        p.duration("INSPECT_INTERVAL"),
		ProbeInterval:          p.duration("PROBE_INTERVAL"),
		ProbeTimeout:           p.duration("PROBE_TIMEOUT"),
		ProbeFailuresThreshold: p.intRange("PROBE_FAILURES_THRESHOLD", 1, 1000),
		ProbeConcurrency:       p.intRange("PROBE_CONCURRENCY", 1, 1024),
		ReconcileInterval:      p.duration("RECONCILE_INTERVAL"),
		ReconcileGrace:         p.durationMin("RECONCILE_GRACE", 0),
		CleanupInterval:        p.duration("CLEANUP_INTERVAL"),

		GameLeaseTTL:       time.Duration(p.intRange("GAME_LEASE_TTL_SECONDS", 1, 86400)) * time.Second,
		EngineReadyTimeout: p.duration("ENGINE_READY_TIMEOUT"),
		EngineAddress:      p.oneOf("ENGINE_ADDRESS", "endpoint", "container_ip"),
		JobConcurrency:     p.intRange("JOB_CONCURRENCY", 1, 1024),

		Streams: Streams{
			StartJobs:           p.nonEmpty("STREAM_START_JOBS"),
			StopJobs:            p.nonEmpty("STREAM_STOP_JOBS"),
			JobResults:          p.nonEmpty("STREAM_JOB_RESULTS"),
			HealthEvents:        p.nonEmpty("STREAM_HEALTH_EVENTS"),
			NotificationIntents: p.nonEmpty("STREAM_NOTIFICATION_INTENTS"),
			DeadLetters:         p.nonEmpty("STREAM_DEAD_LETTERS"),
			Group:               p.nonEmpty("STREAM_GROUP"),
			ClaimIdle:           p.duration("STREAM_CLAIM_IDLE"),
			MaxLen:              int64(p.intRange("STREAM_MAX_LEN", 1, 1<<40)),
		},

		InternalToken:   p.str("INTERNAL_TOKEN"),
		LogLevel:        p.oneOf("LOG_LEVEL", "debug", "info", "warn", "error"),
		LogFormat:       p.oneOf("LOG_FORMAT", "json", "text"),
		ShutdownTimeout: p.duration("SHUTDOWN_TIMEOUT"),
		InstanceID:      p.str("INSTANCE_ID"),
	}
	if p.err != nil {
		return Config{}, p.err
	}
	if c.InstanceID == "" {
		c.InstanceID = defaultInstanceID()
	}
	return c, nil
}

func defaultInstanceID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "rtmanager"
	}
	return h + "-" + strconv.Itoa(os.Getpid())
}

// parser keeps the first error; later reads are skipped once one failed, so
// the process reports exactly one line.
type parser struct {
	lookup func(string) (string, bool)
	err    error
}

// get returns the raw value or the variable's default; ok is false after an
// error. A name missing from variables is a bug in Parse, caught by its tests.
func (p *parser) get(name string) (string, bool) {
	def, known := defaults[name]
	if !known {
		panic("config: " + Prefix + name + " is not in the variables list")
	}
	if p.err != nil {
		return def, false
	}
	if v, ok := p.lookup(Prefix + name); ok {
		return v, true
	}
	return def, true
}

func (p *parser) fail(name, value, why string) {
	if p.err == nil {
		p.err = fmt.Errorf("invalid %s%s=%q: %s", Prefix, name, value, why)
	}
}

func (p *parser) str(name string) string {
	v, _ := p.get(name)
	return v
}

func (p *parser) nonEmpty(name string) string {
	v, ok := p.get(name)
	if ok && strings.TrimSpace(v) == "" {
		p.fail(name, v, "must not be empty")
	}
	return v
}

func (p *parser) intRange(name string, lo, hi int) int {
	v, ok := p.get(name)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		p.fail(name, v, fmt.Sprintf("want an integer from %d to %d", lo, hi))
		return 0
	}
	return n
}

func (p *parser) durationMin(name string, lo time.Duration) time.Duration {
	v, ok := p.get(name)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < lo {
		p.fail(name, v, fmt.Sprintf("want a Go duration such as 30s, at least %s", lo))
		return 0
	}
	return d
}

// duration reads a strictly positive duration.
func (p *parser) duration(name string) time.Duration {
	return p.durationMin(name, time.Millisecond)
}

func (p *parser) oneOf(name string, allowed ...string) string {
	v, ok := p.get(name)
	if !ok {
		return ""
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(name, v, "want one of "+strings.Join(allowed, ", "))
	return ""
}

func (p *parser) parsed(name string, parse func(string) (int64, error)) int64 {
	v, ok := p.get(name)
	if !ok {
		return 0
	}
	n, err := parse(v)
	if err != nil {
		p.fail(name, v, err.Error())
	}
	return n
}

func (p *parser) addr(name string) string {
	v, ok := p.get(name)
	if !ok {
		return ""
	}
	host, port, err := net.SplitHostPort(v)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, " /") {
		p.fail(name, v, "want host:port")
	}
	return v
}

func (p *parser) dsn(name string) string {
	v, ok := p.get(name)
	if !ok {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		p.fail(name, redactURL(v), "want postgres://user:password@host:port/db?…")
	}
	return v
}

func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return "<unparsable>"
	}
	return u.Redacted()
}

func (p *parser) dockerHost(name string) string {
	v, ok := p.get(name)
	if !ok {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || !(u.Scheme == "unix" && u.Path != "" || (u.Scheme == "tcp" || u.Scheme == "http" || u.Scheme == "https") && u.Host != "") {
		p.fail(name, v, "want unix:///path/to/docker.sock or tcp://host:port")
	}
	return v
}

func (p *parser) absPath(name string) string {
	v, ok := p.get(name)
	if ok && (!strings.HasPrefix(v, "/") || strings.Contains(v, "\x00")) {
		p.fail(name, v, "want an absolute path")
	}
	return v
}

func (p *parser) fileMode(name string) os.FileMode {
	v, ok := p.get(name)
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
	if err != nil || n > 0o777 || n&0o700 != 0o700 {
		p.fail(name, v, "want an octal mode such as 0750 that gives the owner rwx")
		return 0
	}
	return os.FileMode(n)
}

func (p *parser) envName(name string) string {
	v, ok := p.get(name)
	if !ok {
		return ""
	}
	for i, r := range v {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			p.fail(name, v, "want an environment variable name")
			return ""
		}
	}
	if v == "" {
		p.fail(name, v, "want an environment variable name")
	}
	return v
}

// maxLabelValue is the longest label value accepted, as in Kubernetes: a
// deployment name that fits there fits wherever engines run later.
const maxLabelValue = 63

// labelValue reads a Docker label value that also reads well in filters,
// logs and `docker ps --filter`: 1 to 63 ASCII letters, digits, '.', '_'
// or '-', beginning and ending with a letter or digit.
func (p *parser) labelValue(name string) string {
	v, ok := p.get(name)
	if !ok {
		return ""
	}
	alnum := func(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' }
	valid := v != "" && len(v) <= maxLabelValue && alnum(v[0]) && alnum(v[len(v)-1])
	for i := 0; valid && i < len(v); i++ {
		valid = alnum(v[i]) || v[i] == '.' || v[i] == '_' || v[i] == '-'
	}
	if !valid {
		p.fail(name, v, fmt.Sprintf("want 1 to %d letters, digits, '.', '_' or '-', beginning and ending with a letter or digit", maxLabelValue))
		return ""
	}
	return v
}

func (p *parser) list(name string) []string {
	v, _ := p.get(name)
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (p *parser) optionalURL(name string) string {
	v, ok := p.get(name)
	if !ok || v == "" {
		return v
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail(name, v, "want an http(s) base URL or empty")
	}
	// Callers append "/api/…": every trailing slash goes, not just one.
	return strings.TrimRight(v, "/")
}
