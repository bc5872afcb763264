package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/galaxy/rtmanager/adapters/httpapi"
	"github.com/galaxy/rtmanager/adapters/httpapi/contracttest"
	"github.com/galaxy/rtmanager/api/client"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
)

// TestGeneratedClient drives the API through the client Game Lobby imports,
// with the contract checked on the client's side too.
func TestGeneratedClient(t *testing.T) {
	srv, lc := server(t, httpapi.Config{Token: "tok"})
	c, err := client.NewClientWithResponses(srv.URL,
		client.WithHTTPClient(&http.Client{Transport: contracttest.Transport(t, nil)}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer tok")
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	gm, reqID := "gm", "lobby-1"
	start, err := c.InternalStartRuntimeWithResponse(ctx, "game-1",
		&client.InternalStartRuntimeParams{XGalaxyCaller: &gm, XRequestId: &reqID},
		client.StartRequest{ImageRef: "galaxy/game:1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if start.JSON200 == nil || start.JSON200.GameId != "game-1" || start.JSON200.Status != client.RuntimeStatusRunning {
		t.Fatalf("start: %d %s", start.StatusCode(), start.Body)
	}
	// Game Lobby tells a replay from work done by the parsed header.
	if start.Headers200.XGalaxyOutcome != client.LifecycleOutcomeApplied {
		t.Errorf("start: X-Galaxy-Outcome %q, want applied", start.Headers200.XGalaxyOutcome)
	}
	if _, err := c.InternalRestartRuntimeWithResponse(ctx, "game-1", nil, client.RestartRequest{}); err != nil {
		t.Fatal(err)
	}
	stop, err := c.InternalStopRuntimeWithResponse(ctx, "game-1", nil, client.StopRequest{Reason: client.StopReasonFinished})
	if err != nil || stop.JSON200 == nil {
		t.Fatalf("stop: %v %s", err, stop.Body)
	}
	want := []call{
		{"start", lifecycle.StartInput{GameID: "game-1", ImageRef: "galaxy/game:1.0.0",
			Meta: lifecycle.Meta{Source: domain.SourceGMRest, SourceRef: "lobby-1"}}},
		{"restart", lifecycle.RestartInput{GameID: "game-1", Meta: lifecycle.Meta{Source: domain.SourceAdminRest}}},
		{"stop", lifecycle.StopInput{GameID: "game-1", Reason: "finished", Meta: lifecycle.Meta{Source: domain.SourceAdminRest}}},
	}
	if got := lc.Calls(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("calls\n got %+v\nwant %+v", got, want)
	}

	missing, err := c.InternalGetRuntimeWithResponse(ctx, "game-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if missing.JSON404 == nil || missing.JSON404.Error.Code != client.ErrorCodeNotFound {
		t.Errorf("get of a missing record: %d %s", missing.StatusCode(), missing.Body)
	}
	ready, err := c.InternalReadyzWithResponse(ctx)
	if err != nil || ready.JSON200 == nil || ready.JSON200.Status != client.ReadinessStatusReady {
		t.Errorf("readyz: %v %+v", err, ready)
	}
}
