// Package config reads the RTMANAGER_* environment (SPEC §9) into one typed
// struct. Every invalid value is refused with one line naming the variable, so
// a misconfigured process stops at boot instead of misbehaving later.
package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/limits"
)

// Prefix of every variable.
const Prefix = "RTMANAGER_"

// Streams are the Redis stream keys (SPEC §6).
type Streams struct {
	StartJobs           string
	StopJobs            string
	JobResults          string
	HealthEvents        string
	NotificationIntents string
	Group               string
	ClaimIdle           time.Duration
	MaxLen              int64
}

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

// Load reads the configuration from the process environment.
func Load() (Config, error) { return Parse(os.LookupEnv) }

// Parse reads the configuration through lookup (os.LookupEnv in production).
func Parse(lookup func(string) (string, bool)) (Config, error) {
	p := parser{lookup: lookup}
	c := Config{
		InternalHTTPAddr: p.addr("INTERNAL_HTTP_ADDR", ":8096"),
		PostgresDSN:      p.dsn("POSTGRES_PRIMARY_DSN", "postgres://rtmanagerservice:rtmanagerservice@127.0.0.1:5432/galaxy?search_path=rtmanager&sslmode=disable"),
		RedisAddr:        p.addr("REDIS_MASTER_ADDR", "127.0.0.1:6379"),
		RedisPassword:    p.str("REDIS_PASSWORD", ""),
		RedisDB:          p.intRange("REDIS_DB", 0, 0, 1<<20),

		DockerHost:             p.dockerHost("DOCKER_HOST", "unix:///var/run/docker.sock"),
		DockerNetwork:          p.nonEmpty("DOCKER_NETWORK", "galaxy-net"),
		DockerCallTimeout:      p.duration("DOCKER_CALL_TIMEOUT", 30*time.Second),
		ImagePullTimeout:       p.duration("IMAGE_PULL_TIMEOUT", 10*time.Minute),
		DockerStartConcurrency: p.intRange("DOCKER_START_CONCURRENCY", 4, 1, 1024),

		GameStateRoot:        p.absPath("GAME_STATE_ROOT", "/var/lib/galaxy/games"),
		GameStateDirMode:     p.fileMode("GAME_STATE_DIR_MODE", 0o750),
		GameStateOwnerUID:    p.intRange("GAME_STATE_OWNER_UID", 0, 0, 1<<31-1),
		GameStateOwnerGID:    p.intRange("GAME_STATE_OWNER_GID", 0, 0, 1<<31-1),
		EngineStateMountPath: p.absPath("ENGINE_STATE_MOUNT_PATH", "/var/lib/galaxy-game"),
		EngineStateEnvName:   p.envName("ENGINE_STATE_ENV_NAME", "GAME_STATE_PATH"),

		ImagePullPolicy:      domain.PullPolicy(p.oneOf("IMAGE_PULL_POLICY", "if_missing", "if_missing", "always", "never")),
		AllowedImagePrefixes: p.list("ALLOWED_IMAGE_PREFIXES"),
		DefaultLimits: limits.Limits{
			NanoCPUs:    p.parsed("DEFAULT_CPU_QUOTA", "1.0", limits.ParseCPU),
			MemoryBytes: p.parsed("DEFAULT_MEMORY", "512m", limits.ParseMemory),
			PidsLimit:   p.parsed("DEFAULT_PIDS_LIMIT", "512", limits.ParsePids),
		},

		LobbyBaseURL: p.optionalURL("LOBBY_INTERNAL_BASE_URL"),
		LobbyTimeout: p.duration("LOBBY_INTERNAL_TIMEOUT", 2*time.Second),

		ContainerStopTimeout: time.Duration(p.intRange("CONTAINER_STOP_TIMEOUT_SECONDS", 30, 0, 3600)) * time.Second,
		RetentionDays:        p.intRange("CONTAINER_RETENTION_DAYS", 30, 1, 36500),

		InspectInterval:        p.duration("INSPECT_INTERVAL", 30*time.Second),
		ProbeInterval:          p.duration("PROBE_INTERVAL", 15*time.Second),
		ProbeTimeout:           p.duration("PROBE_TIMEOUT", 2*time.Second),
		ProbeFailuresThreshold: p.intRange("PROBE_FAILURES_THRESHOLD", 3, 1, 1000),
		ProbeConcurrency:       p.intRange("PROBE_CONCURRENCY", 16, 1, 1024),
		ReconcileInterval:      p.duration("RECONCILE_INTERVAL", 5*time.Minute),
		ReconcileGrace:         p.durationMin("RECONCILE_GRACE", 30*time.Second, 0),
		CleanupInterval:        p.duration("CLEANUP_INTERVAL", time.Hour),

		GameLeaseTTL:       time.Duration(p.intRange("GAME_LEASE_TTL_SECONDS", 60, 1, 86400)) * time.Second,
		EngineReadyTimeout: p.duration("ENGINE_READY_TIMEOUT", 30*time.Second),
		EngineAddress:      p.oneOf("ENGINE_ADDRESS", "endpoint", "endpoint", "container_ip"),
		JobConcurrency:     p.intRange("JOB_CONCURRENCY", 16, 1, 1024),

		Streams: Streams{
			StartJobs:           p.nonEmpty("STREAM_START_JOBS", "runtime:start_jobs"),
			StopJobs:            p.nonEmpty("STREAM_STOP_JOBS", "runtime:stop_jobs"),
			JobResults:          p.nonEmpty("STREAM_JOB_RESULTS", "runtime:job_results"),
			HealthEvents:        p.nonEmpty("STREAM_HEALTH_EVENTS", "runtime:health_events"),
			NotificationIntents: p.nonEmpty("STREAM_NOTIFICATION_INTENTS", "notification:intents"),
			Group:               p.nonEmpty("STREAM_GROUP", "rtmanager"),
			ClaimIdle:           p.duration("STREAM_CLAIM_IDLE", time.Minute),
			MaxLen:              int64(p.intRange("STREAM_MAX_LEN", 100000, 1, 1<<40)),
		},

		InternalToken:   p.str("INTERNAL_TOKEN", ""),
		LogLevel:        p.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		LogFormat:       p.oneOf("LOG_FORMAT", "json", "json", "text"),
		ShutdownTimeout: p.duration("SHUTDOWN_TIMEOUT", 30*time.Second),
		InstanceID:      p.str("INSTANCE_ID", defaultInstanceID()),
	}
	if p.err != nil {
		return Config{}, p.err
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

// get returns the raw value or the default; ok is false after an error.
func (p *parser) get(name, def string) (string, bool) {
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

func (p *parser) str(name, def string) string {
	v, _ := p.get(name, def)
	return v
}

func (p *parser) nonEmpty(name, def string) string {
	v, ok := p.get(name, def)
	if ok && strings.TrimSpace(v) == "" {
		p.fail(name, v, "must not be empty")
	}
	return v
}

func (p *parser) intRange(name string, def, lo, hi int) int {
	v, ok := p.get(name, strconv.Itoa(def))
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		p.fail(name, v, fmt.Sprintf("want an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

func (p *parser) durationMin(name string, def, lo time.Duration) time.Duration {
	v, ok := p.get(name, def.String())
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < lo {
		p.fail(name, v, fmt.Sprintf("want a Go duration such as 30s, at least %s", lo))
		return def
	}
	return d
}

// duration reads a strictly positive duration.
func (p *parser) duration(name string, def time.Duration) time.Duration {
	return p.durationMin(name, def, time.Millisecond)
}

func (p *parser) oneOf(name, def string, allowed ...string) string {
	v, ok := p.get(name, def)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(name, v, "want one of "+strings.Join(allowed, ", "))
	return def
}

func (p *parser) parsed(name, def string, parse func(string) (int64, error)) int64 {
	v, ok := p.get(name, def)
	if !ok {
		return 0
	}
	n, err := parse(v)
	if err != nil {
		p.fail(name, v, err.Error())
	}
	return n
}

func (p *parser) addr(name, def string) string {
	v, ok := p.get(name, def)
	if !ok {
		return def
	}
	host, port, err := net.SplitHostPort(v)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, " /") {
		p.fail(name, v, "want host:port")
	}
	return v
}

func (p *parser) dsn(name, def string) string {
	v, ok := p.get(name, def)
	if !ok {
		return def
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

func (p *parser) dockerHost(name, def string) string {
	v, ok := p.get(name, def)
	if !ok {
		return def
	}
	u, err := url.Parse(v)
	if err != nil || !(u.Scheme == "unix" && u.Path != "" || (u.Scheme == "tcp" || u.Scheme == "http" || u.Scheme == "https") && u.Host != "") {
		p.fail(name, v, "want unix:///path/to/docker.sock or tcp://host:port")
	}
	return v
}

func (p *parser) absPath(name, def string) string {
	v, ok := p.get(name, def)
	if ok && (!strings.HasPrefix(v, "/") || strings.Contains(v, "\x00")) {
		p.fail(name, v, "want an absolute path")
	}
	return v
}

func (p *parser) fileMode(name string, def os.FileMode) os.FileMode {
	v, ok := p.get(name, fmt.Sprintf("%04o", def))
	if !ok {
		return def
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
	if err != nil || n > 0o777 || n&0o700 != 0o700 {
		p.fail(name, v, "want an octal mode such as 0750 that gives the owner rwx")
		return def
	}
	return os.FileMode(n)
}

func (p *parser) envName(name, def string) string {
	v, ok := p.get(name, def)
	if !ok {
		return def
	}
	for i, r := range v {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			p.fail(name, v, "want an environment variable name")
			return def
		}
	}
	if v == "" {
		p.fail(name, v, "want an environment variable name")
	}
	return v
}

func (p *parser) list(name string) []string {
	v, _ := p.get(name, "")
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (p *parser) optionalURL(name string) string {
	v, ok := p.get(name, "")
	if !ok || v == "" {
		return v
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail(name, v, "want an http(s) base URL or empty")
	}
	return strings.TrimSuffix(v, "/")
}
