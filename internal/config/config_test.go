package config

import (
	"strings"
	"testing"
	"time"
)

func lookupFrom(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestDefaultsAreTheContracts(t *testing.T) {
	c, err := Parse(lookupFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"addr", c.InternalHTTPAddr, ":8096"},
		{"redis", c.RedisAddr, "127.0.0.1:6379"},
		{"network", c.DockerNetwork, "galaxy-net"},
		{"deployment", c.Deployment, "default"},
		{"runtime", c.Runtime, "docker"},
		{"state root", c.GameStateRoot, "/var/lib/galaxy/games"},
		{"pull", string(c.ImagePullPolicy), "if_missing"},
		{"cpu", c.DefaultLimits.NanoCPUs, int64(1e9)},
		{"memory", c.DefaultLimits.MemoryBytes, int64(512 << 20)},
		{"pids", c.DefaultLimits.PidsLimit, int64(512)},
		{"stop timeout", c.ContainerStopTimeout, 30 * time.Second},
		{"lease", c.GameLeaseTTL, 60 * time.Second},
		{"ready", c.EngineReadyTimeout, 30 * time.Second},
		{"address", c.EngineAddress, "endpoint"},
		{"start concurrency", c.DockerStartConcurrency, 4},
		{"job concurrency", c.JobConcurrency, 16},
		{"probe threshold", c.ProbeFailuresThreshold, 3},
		{"reconcile", c.ReconcileInterval, 5 * time.Minute},
		{"grace", c.ReconcileGrace, 30 * time.Second},
		{"cleanup", c.CleanupInterval, time.Hour},
		{"health stream", c.Streams.HealthEvents, "runtime:health_events"},
		{"intents stream", c.Streams.NotificationIntents, "notification:intents"},
		{"dead letters stream", c.Streams.DeadLetters, "rtmanager:dead_letters"},
		{"group", c.Streams.Group, "rtmanager"},
		{"max len", c.Streams.MaxLen, int64(100000)},
		{"claim idle", c.Streams.ClaimIdle, time.Minute},
		{"shutdown", c.ShutdownTimeout, 30 * time.Second},
		{"log", c.LogLevel + "/" + c.LogFormat, "info/json"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if c.GameStateDirMode != 0o750 {
		t.Errorf("mode: got %o", c.GameStateDirMode)
	}
	if len(c.AllowedImagePrefixes) != 0 || c.LobbyBaseURL != "" || c.InternalToken != "" {
		t.Error("optional settings must default to empty")
	}
}

func TestEachInvalidValueStopsBootWithOneLineNamingTheVariable(t *testing.T) {
	cases := []struct{ group, name, value string }{
		{"http", "INTERNAL_HTTP_ADDR", "8096"},
		{"postgres", "POSTGRES_PRIMARY_DSN", "mysql://x@y/z"},
		{"redis", "REDIS_MASTER_ADDR", "localhost"},
		{"redis", "REDIS_DB", "-1"},
		{"docker", "DOCKER_HOST", "ftp://docker"},
		{"docker", "DOCKER_NETWORK", " "},
		{"docker", "DOCKER_CALL_TIMEOUT", "soon"},
		{"docker", "IMAGE_PULL_TIMEOUT", "0s"},
		{"docker", "DOCKER_START_CONCURRENCY", "0"},
		{"state", "GAME_STATE_ROOT", "relative/dir"},
		{"state", "GAME_STATE_DIR_MODE", "0999"},
		{"state", "GAME_STATE_DIR_MODE", "0444"},
		{"state", "GAME_STATE_OWNER_UID", "root"},
		{"state", "GAME_STATE_OWNER_GID", "-5"},
		{"state", "ENGINE_STATE_MOUNT_PATH", "data"},
		{"state", "ENGINE_STATE_ENV_NAME", "1BAD-NAME"},
		{"image", "IMAGE_PULL_POLICY", "sometimes"},
		{"limits", "DEFAULT_CPU_QUOTA", "zero"},
		{"limits", "DEFAULT_MEMORY", "lots"},
		{"limits", "DEFAULT_PIDS_LIMIT", "0"},
		{"lobby", "LOBBY_INTERNAL_BASE_URL", "lobby:8080"},
		{"lobby", "LOBBY_INTERNAL_TIMEOUT", "-1s"},
		{"containers", "CONTAINER_STOP_TIMEOUT_SECONDS", "1m"},
		{"containers", "CONTAINER_RETENTION_DAYS", "0"},
		{"workers", "INSPECT_INTERVAL", "0s"},
		{"workers", "PROBE_INTERVAL", "fast"},
		{"workers", "PROBE_TIMEOUT", "2"},
		{"workers", "PROBE_FAILURES_THRESHOLD", "0"},
		{"workers", "PROBE_CONCURRENCY", "x"},
		{"workers", "RECONCILE_INTERVAL", ""},
		{"workers", "RECONCILE_GRACE", "-1s"},
		{"workers", "CLEANUP_INTERVAL", "1 hour"},
		{"lease", "GAME_LEASE_TTL_SECONDS", "0"},
		{"engine", "ENGINE_READY_TIMEOUT", "never"},
		{"engine", "ENGINE_ADDRESS", "dns"},
		{"runtime", "RUNTIME", "kubernetes"},
		{"runtime", "RUNTIME", "Swarm"},
		{"jobs", "JOB_CONCURRENCY", "0"},
		{"streams", "STREAM_START_JOBS", ""},
		{"streams", "STREAM_STOP_JOBS", ""},
		{"streams", "STREAM_JOB_RESULTS", ""},
		{"streams", "STREAM_HEALTH_EVENTS", ""},
		{"streams", "STREAM_NOTIFICATION_INTENTS", ""},
		{"streams", "STREAM_DEAD_LETTERS", " "},
		{"streams", "STREAM_GROUP", ""},
		{"streams", "STREAM_CLAIM_IDLE", "a minute"},
		{"streams", "STREAM_MAX_LEN", "0"},
		{"process", "LOG_LEVEL", "verbose"},
		{"process", "LOG_FORMAT", "xml"},
		{"process", "SHUTDOWN_TIMEOUT", "0"},
	}
	for _, tc := range cases {
		t.Run(tc.group+"/"+tc.name+"="+tc.value, func(t *testing.T) {
			_, err := Parse(lookupFrom(map[string]string{Prefix + tc.name: tc.value}))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, Prefix+tc.name+"=") || strings.Contains(msg, "\n") {
				t.Errorf("want one line naming %s%s, got %q", Prefix, tc.name, msg)
			}
		})
	}
}

func TestDeploymentIsALabelValue(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"default", true},
		{"eu-west.2_blue", true},
		{"Prod1", true},
		{"7", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{" prod", false},
		{"prod eu", false},
		{"-prod", false},
		{"prod.", false},
		{"prod=eu", false},
		{"prod/eu", false},
		{"prod,eu", false},
		{"prödukt", false},
		{strings.Repeat("a", 64), false},
	} {
		t.Run(tc.value, func(t *testing.T) {
			c, err := Parse(lookupFrom(map[string]string{Prefix + "DEPLOYMENT": tc.value}))
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.ok && c.Deployment != tc.value:
				t.Errorf("Deployment = %q, want %q", c.Deployment, tc.value)
			case !tc.ok && err == nil:
				t.Fatalf("accepted as %q", c.Deployment)
			case !tc.ok && (!strings.Contains(err.Error(), Prefix+"DEPLOYMENT=") || strings.Contains(err.Error(), "\n")):
				t.Errorf("want one line naming %sDEPLOYMENT, got %q", Prefix, err)
			}
		})
	}
}

func TestOnlyTheFirstInvalidVariableIsReported(t *testing.T) {
	_, err := Parse(lookupFrom(map[string]string{
		Prefix + "INTERNAL_HTTP_ADDR": "nope",
		Prefix + "LOG_LEVEL":          "loud",
	}))
	if err == nil || strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Fatalf("want only the first error, got %v", err)
	}
}

func TestDSNPasswordIsNotEchoedInTheError(t *testing.T) {
	_, err := Parse(lookupFrom(map[string]string{Prefix + "POSTGRES_PRIMARY_DSN": "mysql://u:secret@h/db"}))
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("got %v", err)
	}
}

func TestListsAndOverridesAreParsed(t *testing.T) {
	c, err := Parse(lookupFrom(map[string]string{
		Prefix + "ALLOWED_IMAGE_PREFIXES":  " galaxy/game , registry.local/galaxy ,,",
		Prefix + "GAME_STATE_DIR_MODE":     "0700",
		Prefix + "ENGINE_ADDRESS":          "container_ip",
		Prefix + "LOBBY_INTERNAL_BASE_URL": "http://lobby:8080/",
		Prefix + "DEFAULT_MEMORY":          "1g",
		Prefix + "RUNTIME":                 "swarm",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AllowedImagePrefixes) != 2 || c.AllowedImagePrefixes[1] != "registry.local/galaxy" {
		t.Errorf("prefixes: %q", c.AllowedImagePrefixes)
	}
	if c.GameStateDirMode != 0o700 || c.EngineAddress != "container_ip" || c.Runtime != RuntimeSwarm || c.LobbyBaseURL != "http://lobby:8080" || c.DefaultLimits.MemoryBytes != 1<<30 {
		t.Errorf("overrides not applied: %+v", c)
	}
}
