package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/reconcile"
	"github.com/galaxy/rtmanager/internal/testenv/dockertest"
	"github.com/galaxy/rtmanager/ports"
	"github.com/galaxy/rtmanager/test/harness"
)

// noGrace lets the reconciler judge containers made a moment ago: a test's
// drift is younger than the default grace of 30 s.
var noGrace = map[string]string{"RECONCILE_GRACE": "0s"}

// reconcilePass runs one reconcile pass of s and returns what it did.
func reconcilePass(t *testing.T, s *harness.Service) reconcile.Report {
	t.Helper()
	rep, err := s.App.Reconciler.Pass(t.Context())
	if err != nil {
		t.Fatalf("reconcile pass: %v", err)
	}
	return rep
}

// settledPass runs reconcile passes of s until one finds no game busy and
// returns their repairs together: the events listener may hold a game's
// lease for its own repair of the very drift a pass is after, and a pass
// skips a busy game for the next one (contract §7).
func settledPass(t *testing.T, s *harness.Service) reconcile.Report {
	t.Helper()
	total := reconcile.Report{Repaired: map[domain.OpKind]int{}}
	dockertest.Eventually(t, 30*time.Second, func() error {
		rep := reconcilePass(t, s)
		for kind, n := range rep.Repaired {
			total.Repaired[kind] += n
		}
		total.Young += rep.Young
		total.Failed += rep.Failed
		if rep.Busy != 0 {
			return fmt.Errorf("a pass found a game busy: %+v", rep)
		}
		return nil
	})
	return total
}

// runtime is the game's record as the API serves it.
func runtime(t *testing.T, s *harness.Service, id string) map[string]any {
	t.Helper()
	r := call(t, s, http.MethodGet, rt(id), nil)
	expect(t, r, http.StatusOK, "")
	return r.Body
}

// started starts the game through the API and returns its container id.
func started(t *testing.T, s *harness.Service, id string) string {
	t.Helper()
	return startRunning(t, s, id, dockertest.Image100)
}

// removeBehindRTMsBack is `docker rm -f`.
func removeBehindRTMsBack(t *testing.T, s *harness.Service, cid string) {
	t.Helper()
	if err := s.Docker.ContainerRemove(t.Context(), cid, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
}

// killBehindRTMsBack is `docker kill`, returning once the container has exited.
func killBehindRTMsBack(t *testing.T, s *harness.Service, cid string) {
	t.Helper()
	waitC, errC := s.Docker.ContainerWait(t.Context(), cid, container.WaitConditionNotRunning)
	if err := s.Docker.ContainerKill(t.Context(), cid, "KILL"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
}

// eventsOf returns the game's health events of one type, details decoded.
func eventsOf(t *testing.T, s *harness.Service, id string, typ domain.HealthEventType) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ev := range healthEvents(t, s, id) {
		if ev["event_type"] != string(typ) {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(ev["details"].(string)), &d); err != nil {
			t.Fatal(err)
		}
		ev["details"] = d
		out = append(out, ev)
	}
	return out
}

// opsOf returns the game's operation rows of one kind, newest first.
func opsOf(t *testing.T, s *harness.Service, id string, kind domain.OpKind) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, o := range operations(t, s, id) {
		if o["op_kind"] == string(kind) {
			out = append(out, o)
		}
	}
	return out
}

// wantOneRepair fails unless the game's log holds exactly one row of kind,
// a success from source, about container cid.
func wantOneRepair(t *testing.T, s *harness.Service, id string, kind domain.OpKind, source domain.OpSource, cid string) {
	t.Helper()
	rows := opsOf(t, s, id, kind)
	if len(rows) != 1 || rows[0]["op_source"] != string(source) || rows[0]["outcome"] != "success" ||
		rows[0]["container_id"] != cid {
		t.Errorf("%s: %s rows %v, want one success from %s on %s", id, kind, rows, source, cid)
	}
}

// wantOnlyEvent fails unless the game's health stream holds exactly one
// event of type typ and no other report of an engine's end.
func wantOnlyEvent(t *testing.T, s *harness.Service, id string, typ domain.HealthEventType) {
	t.Helper()
	for _, other := range []domain.HealthEventType{domain.EventContainerExited, domain.EventContainerOOM,
		domain.EventContainerDisappeared} {
		want := 0
		if other == typ {
			want = 1
		}
		if n := len(eventsOf(t, s, id, other)); n != want {
			t.Errorf("%s: %d %s events, want %d", id, n, other, want)
		}
	}
}

// wantStatus fails unless the game's record has the status.
func wantStatus(t *testing.T, s *harness.Service, id string, st domain.Status) map[string]any {
	t.Helper()
	rec := runtime(t, s, id)
	if rec["status"] != string(st) {
		t.Errorf("%s: record %v, want %s", id, rec, st)
	}
	return rec
}

// TestAnEngineRemovedBehindRTMsBackIsRecordedRemovedByAPass: `docker rm -f`
// of a running engine; after a reconcile pass the record is removed, by a
// reconcile_dispose row (contract §7, drift 2). Whether container_exited
// (the events listener, from the die) or container_disappeared (this pass)
// reaches Game Master depends on which of the two gets the game first.
func TestAnEngineRemovedBehindRTMsBackIsRecordedRemovedByAPass(t *testing.T) {
	s := harness.Start(t, harness.Options{Env: noGrace})
	id := s.GameID("rm-f")
	cid := started(t, s, id)

	removeBehindRTMsBack(t, s, cid)
	rep := settledPass(t, s)

	wantStatus(t, s, id, domain.StatusRemoved)
	wantOneRepair(t, s, id, domain.OpReconcileDispose, domain.SourceAutoReconcile, cid)
	if rep.Repaired[domain.OpReconcileDispose] != 1 {
		t.Errorf("pass report %+v: want one dispose", rep)
	}
	if again := reconcilePass(t, s); len(again.Repaired) != 0 {
		t.Errorf("a second pass repaired %v: want nothing left to repair", again.Repaired)
	}
}

// TestDriftMadeWhileTheServiceIsDownIsRepairedAtBoot: with the service
// halted, a container of ours is made without a record (a process killed
// between create and record), a running engine is removed, another killed,
// and a container without the owner label takes a game's name. The next
// service's boot pass, before it serves, repairs the three drifts and leaves
// the foreign container alone (contract §7).
func TestDriftMadeWhileTheServiceIsDownIsRepairedAtBoot(t *testing.T) {
	a := harness.Start(t, harness.Options{Env: noGrace})
	gone, exited := a.GameID("gone"), a.GameID("exited")
	orphan, foreign := a.GameID("orphan"), a.GameID("foreign")
	goneCID, exitedCID := started(t, a, gone), started(t, a, exited)
	a.Halt()

	removeBehindRTMsBack(t, a, goneCID)
	killBehindRTMsBack(t, a, exitedCID)
	d := dockerOf(t, a)
	orphanDir := filepath.Join(a.StateRoot, orphan)
	if err := os.Mkdir(orphanDir, 0o777); err != nil {
		t.Fatal(err)
	}
	orphanC, _ := dockertest.StartEngine(t, d, dockertest.EngineSpec(orphan, dockertest.Image101, orphanDir))
	foreignSpec := dockertest.EngineSpec(foreign, dockertest.Image100, t.TempDir())
	delete(foreignSpec.Labels, ports.LabelOwner)
	foreignC, _ := dockertest.StartEngine(t, d, foreignSpec)
	foreignBefore := inspect(t, a, foreignC.ID)

	b := harness.Start(t, harness.Options{Env: noGrace, Peer: a}) // its boot pass has run

	wantStatus(t, b, gone, domain.StatusRemoved)
	wantOneRepair(t, b, gone, domain.OpReconcileDispose, domain.SourceAutoReconcile, goneCID)
	if evs := eventsOf(t, b, gone, domain.EventContainerDisappeared); len(evs) != 1 ||
		evs[0]["details"].(map[string]any)["detected_by"] != "reconcile" || evs[0]["container_id"] != goneCID {
		t.Errorf("container_disappeared events of the removed engine: %v, want one detected_by=reconcile", evs)
	}

	wantStatus(t, b, exited, domain.StatusStopped)
	wantOneRepair(t, b, exited, domain.OpReconcileObserveExit, domain.SourceAutoReconcile, exitedCID)
	if evs := eventsOf(t, b, exited, domain.EventContainerExited); len(evs) != 1 ||
		evs[0]["details"].(map[string]any)["exit_code"] != float64(137) {
		t.Errorf("container_exited events of the killed engine: %v, want one with exit_code 137", evs)
	}

	rec := wantStatus(t, b, orphan, domain.StatusRunning)
	if rec["current_container_id"] != orphanC.ID || rec["current_image_ref"] != dockertest.Image101 ||
		rec["state_path"] != orphanDir || rec["engine_endpoint"] != domain.EngineEndpoint(orphan) {
		t.Errorf("adopted record %v: want container %s, image %s, state %s", rec, orphanC.ID, dockertest.Image101, orphanDir)
	}
	wantOneRepair(t, b, orphan, domain.OpReconcileAdopt, domain.SourceAutoReconcile, orphanC.ID)
	// The adopted engine is driven like any other.
	expect(t, stop(t, b, orphan, "admin_request"), http.StatusOK, "")

	checkUntouched(t, b, foreignBefore)
	expect(t, call(t, b, http.MethodGet, rt(foreign), nil), http.StatusNotFound, "not_found")
}

// TestTwoDeploymentsNeverReconcileOrCleanEachOthersContainers: two services
// of two deployments, each with its own database, on one Docker host. Through
// a reconcile pass and a retention pass of each, neither adopts, repairs or
// removes the other's engines — not even where a's database has an old
// stopped record of the game whose name b's engine holds — while each cleans
// up its own.
func TestTwoDeploymentsNeverReconcileOrCleanEachOthersContainers(t *testing.T) {
	env := map[string]string{"RECONCILE_GRACE": "0s", "CONTAINER_RETENTION_DAYS": "1"}
	a := harness.Start(t, harness.Options{Env: env})
	bEnv := map[string]string{"DEPLOYMENT": a.Config.Deployment + "-b"}
	for k, v := range env {
		bEnv[k] = v
	}
	b := harness.Start(t, harness.Options{Env: bEnv})
	idA, idB, shared := a.GameID("dep-a"), b.GameID("dep-b"), b.GameID("dep-shared")
	cidA := started(t, a, idA)
	cidShared := started(t, b, shared)
	cidB := started(t, b, idB)
	expect(t, stop(t, b, idB, "admin_request"), http.StatusOK, "")
	// Only the passes below act: the workers' own (the retention worker's
	// first comes at boot) are over.
	a.Halt()
	b.Halt()
	backdate(t, b, idB, 48*time.Hour)
	// a's old stopped record of the game b runs, naming no container: its
	// cleanup could only go by the name, which b's engine holds.
	insertStoppedRecord(t, a, shared, 48*time.Hour)
	beforeA, beforeShared := inspect(t, a, cidA), inspect(t, b, cidShared)

	for _, s := range []*harness.Service{a, b} {
		if rep := reconcilePass(t, s); len(rep.Repaired) != 0 {
			t.Errorf("deployment %s's reconcile pass repaired %v: want nothing (each agrees with its own engines)",
				s.Config.Deployment, rep.Repaired)
		}
		if _, err := s.App.Retention.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	checkUntouched(t, a, beforeA)
	checkUntouched(t, b, beforeShared)
	expect(t, call(t, a, http.MethodGet, rt(idB), nil), http.StatusNotFound, "not_found")
	expect(t, call(t, b, http.MethodGet, rt(idA), nil), http.StatusNotFound, "not_found")
	if rows := opsOf(t, a, shared, domain.OpCleanupContainer); len(rows) != 1 || rows[0]["error_code"] != "conflict" {
		t.Errorf("a's cleanup of %s: %v, want one conflict (the container is b's)", shared, rows)
	}
	wantStatus(t, a, shared, domain.StatusStopped)
	// b's own old stopped game is cleaned up.
	wantStatus(t, b, idB, domain.StatusRemoved)
	if len(b.Containers(idB)) != 0 {
		t.Errorf("b's container %s of %s is still there after b's retention pass", cidB, idB)
	}
}

// backdate moves the game's last operation into the past, as if it had
// been stopped that long ago.
func backdate(t *testing.T, s *harness.Service, id string, ago time.Duration) {
	t.Helper()
	tag, err := s.DB.Exec(t.Context(), `UPDATE runtime_records SET last_op_at = now() - $2::interval WHERE game_id = $1`,
		id, ago.String())
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("backdate %s: %v (%d rows)", id, err, tag.RowsAffected())
	}
}

// insertStoppedRecord stores a stopped record of the game that names no
// container, its last operation ago in the past.
func insertStoppedRecord(t *testing.T, s *harness.Service, id string, ago time.Duration) {
	t.Helper()
	_, err := s.DB.Exec(t.Context(), `INSERT INTO runtime_records
		(game_id, status, engine_endpoint, state_path, docker_network, last_op_at, created_at)
		VALUES ($1, 'stopped', $2, $3, $4, now() - $5::interval, now() - $5::interval)`,
		id, domain.EngineEndpoint(id), filepath.Join(s.StateRoot, id), s.Config.DockerNetwork, ago.String())
	if err != nil {
		t.Fatal(err)
	}
}

// TestRetentionCleanupRemovesExactlyTheOldStoppedRuntimes (contract §7,
// Cleanup): of the runtimes below, the pass removes the containers of the two
// stopped longer than the retention (one day here), records them removed
// with source auto_ttl and keeps their state directories; it leaves the
// recently stopped one and the long-running one alone; and a cleanup that
// fails — the oldest, whose record names no container while a container
// that is not ours holds its name — does not stop it.
func TestRetentionCleanupRemovesExactlyTheOldStoppedRuntimes(t *testing.T) {
	s := harness.Start(t, harness.Options{Env: map[string]string{"CONTAINER_RETENTION_DAYS": "1"}})
	old1, old2, recent, running, failing := s.GameID("old1"), s.GameID("old2"), s.GameID("recent"),
		s.GameID("running"), s.GameID("failing")
	cids := map[string]string{}
	for _, id := range []string{old1, old2, recent, running} {
		cids[id] = started(t, s, id)
	}
	for _, id := range []string{old1, old2, recent} {
		expect(t, stop(t, s, id, "admin_request"), http.StatusOK, "")
	}
	s.Halt() // only the pass below cleans up: the worker's own first pass (at boot) is over
	backdate(t, s, old1, 49*time.Hour)
	backdate(t, s, old2, 25*time.Hour)
	backdate(t, s, running, 72*time.Hour)
	insertStoppedRecord(t, s, failing, 96*time.Hour)
	spec := dockertest.EngineSpec(failing, dockertest.Image100, t.TempDir())
	delete(spec.Labels, ports.LabelOwner)
	foreign, _ := dockertest.StartEngine(t, dockerOf(t, s), spec)
	foreignBefore := inspect(t, s, foreign.ID)

	rep, err := s.App.Retention.Pass(t.Context())

	if err != nil {
		t.Fatal(err)
	}
	if rep != (reconcile.RetentionReport{Removed: 2, Failed: 1}) {
		t.Errorf("retention pass %+v, want 2 removed and 1 failed", rep)
	}
	for _, id := range []string{old1, old2} {
		wantStatus(t, s, id, domain.StatusRemoved)
		wantOneRepair(t, s, id, domain.OpCleanupContainer, domain.SourceAutoTTL, cids[id])
		if len(s.Containers(id)) != 0 {
			t.Errorf("%s: container still there after its cleanup", id)
		}
		if st, err := os.Stat(filepath.Join(s.StateRoot, id)); err != nil || !st.IsDir() {
			t.Errorf("%s: state directory after cleanup: %v", id, err)
		}
	}
	wantStatus(t, s, recent, domain.StatusStopped)
	wantStatus(t, s, running, domain.StatusRunning)
	for _, id := range []string{recent, running} {
		if len(s.Containers(id)) != 1 || len(opsOf(t, s, id, domain.OpCleanupContainer)) != 0 {
			t.Errorf("%s: touched by the retention pass", id)
		}
	}
	wantStatus(t, s, failing, domain.StatusStopped)
	if rows := opsOf(t, s, failing, domain.OpCleanupContainer); len(rows) != 1 || rows[0]["op_source"] != "auto_ttl" ||
		rows[0]["error_code"] != "conflict" {
		t.Errorf("%s: cleanup rows %v, want one auto_ttl conflict", failing, rows)
	}
	checkUntouched(t, s, foreignBefore)
}
