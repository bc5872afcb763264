package integration

import (
	"net/http"
	"testing"

	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/test/harness"
)

// TestRedisRestartIsSurvived: while Redis is down lifecycle calls answer
// service_unavailable and create nothing; once it is back (empty: Redis holds
// no durable truth) they work again without restarting the service.
func TestRedisRestartIsSurvived(t *testing.T) {
	rds := testenv.StartPrivateRedis(t)
	s := harness.Start(t, harness.Options{Env: map[string]string{"REDIS_MASTER_ADDR": rds.Addr}})
	before, during, after := s.GameID("redis"), s.GameID("redis"), s.GameID("redis")
	expect(t, start(t, s, before, "galaxy/game:1.0.0"), 200, "")

	rds.Stop()
	expect(t, start(t, s, during, "galaxy/game:1.0.0"), 503, "service_unavailable")
	if n := len(s.Containers(during)); n != 0 {
		t.Errorf("%d containers created while Redis was down", n)
	}
	// Reads come from PostgreSQL and keep working.
	if r := call(t, s, http.MethodGet, rt(before), nil); r.Status != 200 || str(r.Body, "status") != "running" {
		t.Errorf("read while Redis is down: %d %s", r.Status, r.Raw)
	}

	rds.Start(t)
	expect(t, start(t, s, after, "galaxy/game:1.0.0"), 200, "")
	expect(t, stop(t, s, before, "finished"), 200, "")
}

// TestPostgresRestartIsSurvived: while PostgreSQL is down, /readyz names it,
// lifecycle calls answer service_unavailable and leave no container running
// unrecorded; once it is back the service works again, and what was recorded
// before is still there.
func TestPostgresRestartIsSurvived(t *testing.T) {
	pg := testenv.StartPrivatePostgres(t)
	s := harness.Start(t, harness.Options{Env: map[string]string{"POSTGRES_PRIMARY_DSN": pg.DSN}})
	before, during, after := s.GameID("pg"), s.GameID("pg"), s.GameID("pg")
	expect(t, start(t, s, before, "galaxy/game:1.0.0"), 200, "")

	pg.Stop()
	r := call(t, s, http.MethodGet, "/readyz", nil)
	if checks, _ := r.Body["checks"].(map[string]any); r.Status != 503 || checks["postgres"] == "ok" || checks["redis"] != "ok" {
		t.Errorf("/readyz with PostgreSQL down: %d %s", r.Status, r.Raw)
	}
	expect(t, start(t, s, during, "galaxy/game:1.0.0"), 503, "service_unavailable")
	if n := len(s.Containers(during)); n != 0 {
		t.Errorf("%d containers created while PostgreSQL was down", n)
	}

	pg.Start(t)
	expect(t, call(t, s, http.MethodGet, "/readyz", nil), 200, "")
	if r := call(t, s, http.MethodGet, rt(before), nil); r.Status != 200 || str(r.Body, "status") != "running" {
		t.Errorf("record from before the restart: %d %s", r.Status, r.Raw)
	}
	expect(t, start(t, s, after, "galaxy/game:1.0.0"), 200, "")
}
