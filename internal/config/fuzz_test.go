package config

import (
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// readNames lists every variable Parse reads, in its order, by asking Parse
// itself: a list kept by hand here would silently miss new variables.
func readNames() []string {
	var names []string
	_, _ = Parse(func(name string) (string, bool) {
		names = append(names, name)
		return "", false
	})
	return names
}

// FuzzParse sets up to two variables, each picked by an index byte, to
// arbitrary values. Parse must either refuse with one line naming a variable
// that was set (the defaults are valid, so nothing else can be at fault) or
// return a configuration the rest of the service can rely on without
// checking again.
func FuzzParse(f *testing.F) {
	names := readNames()
	index := func(name string) byte {
		for i, n := range names {
			if n == Prefix+name {
				return byte(i)
			}
		}
		f.Fatalf("Parse does not read %s%s", Prefix, name)
		return 0
	}
	for _, s := range []struct{ name, value, name2, value2 string }{
		{"INTERNAL_HTTP_ADDR", ":8096", "REDIS_MASTER_ADDR", "[::1]:6379"},
		{"INTERNAL_HTTP_ADDR", ":-1", "REDIS_MASTER_ADDR", "host:99999"},
		{"INTERNAL_HTTP_ADDR", "a b:1", "REDIS_MASTER_ADDR", "localhost"},
		{"POSTGRES_PRIMARY_DSN", "postgres://u:secret@h:5432/db", "DOCKER_HOST", "tcp://10.0.0.1:2375"},
		{"POSTGRES_PRIMARY_DSN", "postgres://u:p@h/db\n", "DOCKER_HOST", "unix://"},
		{"DOCKER_NETWORK", " \t", "STREAM_GROUP", "\u00a0"},
		{"DEPLOYMENT", "eu-west.2_blue", "DOCKER_NETWORK", "galaxy-net"},
		{"DEPLOYMENT", "prod\n", "STREAM_GROUP", "-x"},
		{"DOCKER_CALL_TIMEOUT", "1ns", "ENGINE_READY_TIMEOUT", "9223372036854775807ns"},
		{"RECONCILE_GRACE", "0s", "SHUTDOWN_TIMEOUT", "-0s"},
		{"STREAM_CLAIM_IDLE", "1e3s", "PROBE_TIMEOUT", "2562047h48m"},
		{"DOCKER_START_CONCURRENCY", "0", "JOB_CONCURRENCY", " 16 "},
		{"PROBE_CONCURRENCY", "+1", "STREAM_MAX_LEN", "1099511627776"},
		{"CONTAINER_STOP_TIMEOUT_SECONDS", "0", "GAME_LEASE_TTL_SECONDS", "86401"},
		{"GAME_STATE_ROOT", "relative", "ENGINE_STATE_MOUNT_PATH", "/a\x00b"},
		{"GAME_STATE_DIR_MODE", "0700", "GAME_STATE_OWNER_UID", "2147483648"},
		{"GAME_STATE_DIR_MODE", "1777", "GAME_STATE_OWNER_GID", "-0"},
		{"GAME_STATE_DIR_MODE", "0o750", "ENGINE_STATE_ENV_NAME", "ÄNAME"},
		{"IMAGE_PULL_POLICY", "Always", "ENGINE_ADDRESS", "container_ip"},
		{"DEFAULT_CPU_QUOTA", "1e-9", "DEFAULT_MEMORY", "6m"},
		{"DEFAULT_CPU_QUOTA", "NaN", "DEFAULT_MEMORY", "1.5e3g"},
		{"DEFAULT_PIDS_LIMIT", "9223372036854775808", "ALLOWED_IMAGE_PREFIXES", " , ,galaxy/"},
		{"LOBBY_INTERNAL_BASE_URL", "http://lobby:8080/", "LOBBY_INTERNAL_TIMEOUT", "2s"},
		{"LOBBY_INTERNAL_BASE_URL", "lobby:8080", "INTERNAL_TOKEN", "\xff"},
		{"LOG_LEVEL", "INFO", "LOG_FORMAT", "text\r\nRTMANAGER_X=1"},
		{"STREAM_START_JOBS", "", "STREAM_STOP_JOBS", "runtime:stop_jobs"},
	} {
		f.Add(index(s.name), s.value, index(s.name2), s.value2)
	}
	f.Fuzz(func(t *testing.T, i byte, value string, j byte, value2 string) {
		env := map[string]string{names[int(i)%len(names)]: value}
		env[names[int(j)%len(names)]] = value2 // the same variable twice: the second value wins
		c, err := Parse(lookupFrom(env))
		if err != nil {
			checkOneLine(t, err.Error(), env)
			return
		}
		checkInvariants(t, c)
	})
}

// checkOneLine: contract §9 asks for one clear line naming the variable.
func checkOneLine(t *testing.T, msg string, env map[string]string) {
	t.Helper()
	if strings.ContainsAny(msg, "\r\n") || !utf8.ValidString(msg) {
		t.Fatalf("the error is not one clean line: %q", msg)
	}
	for name := range env {
		if strings.Contains(msg, name+"=") {
			return
		}
	}
	t.Fatalf("the error names none of the variables set (%v): %q", env, msg)
}

// checkInvariants: what an accepted configuration promises its users.
func checkInvariants(t *testing.T, c Config) {
	t.Helper()
	for name, d := range map[string]time.Duration{
		"DockerCallTimeout": c.DockerCallTimeout, "LobbyTimeout": c.LobbyTimeout,
		"InspectInterval": c.InspectInterval, "ProbeInterval": c.ProbeInterval, "ProbeTimeout": c.ProbeTimeout,
		"ReconcileInterval": c.ReconcileInterval, "CleanupInterval": c.CleanupInterval,
		"GameLeaseTTL": c.GameLeaseTTL, "EngineReadyTimeout": c.EngineReadyTimeout,
		"Streams.ClaimIdle": c.Streams.ClaimIdle, "ShutdownTimeout": c.ShutdownTimeout,
	} {
		// Tickers and timeouts panic or fire at once on a zero or negative value.
		if d <= 0 {
			t.Errorf("%s = %v, want positive", name, d)
		}
	}
	if c.ReconcileGrace < 0 || c.ContainerStopTimeout < 0 {
		t.Errorf("ReconcileGrace %v, ContainerStopTimeout %v: want at least 0", c.ReconcileGrace, c.ContainerStopTimeout)
	}
	for name, n := range map[string]int64{
		"DockerStartConcurrency": int64(c.DockerStartConcurrency), "ProbeConcurrency": int64(c.ProbeConcurrency),
		"JobConcurrency": int64(c.JobConcurrency), "ProbeFailuresThreshold": int64(c.ProbeFailuresThreshold),
		"RetentionDays": int64(c.RetentionDays), "Streams.MaxLen": c.Streams.MaxLen,
		"DefaultLimits.MemoryBytes": c.DefaultLimits.MemoryBytes, "DefaultLimits.PidsLimit": c.DefaultLimits.PidsLimit,
	} {
		// A semaphore of 0 deadlocks; a threshold or limit of 0 means "never" or "unlimited".
		if n < 1 {
			t.Errorf("%s = %d, want at least 1", name, n)
		}
	}
	// 0 nano-CPUs would be Docker's "no limit": a quota must stay a limit.
	if c.DefaultLimits.NanoCPUs < 1e7 {
		t.Errorf("DefaultLimits.NanoCPUs = %d, want at least 0.01 CPU", c.DefaultLimits.NanoCPUs)
	}
	for name, s := range map[string]string{
		"DockerNetwork": c.DockerNetwork, "Streams.StartJobs": c.Streams.StartJobs, "Streams.StopJobs": c.Streams.StopJobs,
		"Streams.JobResults": c.Streams.JobResults, "Streams.HealthEvents": c.Streams.HealthEvents,
		"Streams.NotificationIntents": c.Streams.NotificationIntents, "Streams.DeadLetters": c.Streams.DeadLetters,
		"Streams.Group": c.Streams.Group,
	} {
		if strings.TrimSpace(s) == "" {
			t.Errorf("%s = %q, want a name", name, s)
		}
	}
	// The deployment goes into label filters and `docker ps --filter` lines.
	const labelChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
	if c.Deployment == "" || len(c.Deployment) > 63 || strings.Trim(c.Deployment, labelChars) != "" {
		t.Errorf("Deployment = %q, want a label value", c.Deployment)
	}
	if !c.ImagePullPolicy.IsKnown() {
		t.Errorf("ImagePullPolicy = %q", c.ImagePullPolicy)
	}
	// The service creates every game's state dir and must be able to enter
	// and fill it; anything beyond permission bits would reach os.MkdirAll.
	if c.GameStateDirMode&0o700 != 0o700 || c.GameStateDirMode != c.GameStateDirMode.Perm() {
		t.Errorf("GameStateDirMode = %v", c.GameStateDirMode)
	}
	if c.GameStateOwnerUID < 0 || c.GameStateOwnerGID < 0 {
		t.Errorf("state owner %d:%d", c.GameStateOwnerUID, c.GameStateOwnerGID)
	}
	for name, p := range map[string]string{"GameStateRoot": c.GameStateRoot, "EngineStateMountPath": c.EngineStateMountPath} {
		if !filepath.IsAbs(p) || strings.Contains(p, "\x00") {
			t.Errorf("%s = %q, want an absolute path", name, p)
		}
	}
	for name, addr := range map[string]string{"InternalHTTPAddr": c.InternalHTTPAddr, "RedisAddr": c.RedisAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			t.Errorf("%s = %q: %v", name, addr, err)
		}
	}
	if c.EngineStateEnvName == "" || strings.ContainsAny(c.EngineStateEnvName, "= \x00") {
		t.Errorf("EngineStateEnvName = %q", c.EngineStateEnvName)
	}
	if c.EngineAddress != "endpoint" && c.EngineAddress != "container_ip" {
		t.Errorf("EngineAddress = %q", c.EngineAddress)
	}
	if c.LobbyBaseURL != "" {
		// Callers append "/api/…" to it.
		if u, err := url.Parse(c.LobbyBaseURL); err != nil || u.Host == "" || strings.HasSuffix(c.LobbyBaseURL, "/") {
			t.Errorf("LobbyBaseURL = %q", c.LobbyBaseURL)
		}
	}
	for _, p := range c.AllowedImagePrefixes {
		if p == "" || p != strings.TrimSpace(p) {
			t.Errorf("AllowedImagePrefixes holds %q", p)
		}
	}
}
