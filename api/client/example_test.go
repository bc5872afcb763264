package client_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/galaxy/rtmanager/api/client"
	"github.com/galaxy/rtmanager/test/harness"
)

// service is the live Runtime Manager the examples talk to: the whole
// service, in-process, on the real PostgreSQL, Redis and Docker engine.
var service *harness.Service

func TestMain(m *testing.M) {
	s, stop := harness.StartMain(harness.Options{})
	service = s
	code := m.Run()
	stop()
	os.Exit(code)
}

// Game Master (or Lobby) starts a game's engine over REST and reads its
// runtime record back.
func Example() {
	ctx := context.Background()
	gameID := service.GameID("example") // your game's id, e.g. "game-42"

	// The base URL of Runtime Manager's internal API, e.g. http://rtmanager:8096.
	// With RTMANAGER_INTERNAL_TOKEN set, add
	// client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
	//     r.Header.Set("Authorization", "Bearer "+token); return nil })
	rtm, err := client.NewClientWithResponses(service.URL)
	if err != nil {
		panic(err)
	}
	caller := client.XGalaxyCaller("gm") // recorded as op source gm_rest

	started, err := rtm.InternalStartRuntimeWithResponse(ctx, gameID,
		&client.InternalStartRuntimeParams{XGalaxyCaller: &caller},
		client.StartRequest{ImageRef: "galaxy/game:1.0.0"})
	if err != nil {
		panic(err) // transport error: the service was not reached
	}
	if started.JSON200 == nil {
		// Every refusal carries {"error":{"code","message"}}; the code is stable.
		fmt.Println("start refused:", started.StatusCode(), string(started.Body))
		return
	}
	fmt.Println("started:", started.JSON200.Status)

	got, err := rtm.InternalGetRuntimeWithResponse(ctx, gameID, nil)
	if err != nil || got.JSON200 == nil {
		panic(fmt.Sprint(err, got.Status()))
	}
	rec := got.JSON200
	fmt.Println("status:", rec.Status)
	fmt.Println("image:", *rec.CurrentImageRef)
	fmt.Println("endpoint is galaxy-game-<id>:8080:", rec.EngineEndpoint == "http://galaxy-game-"+gameID+":8080")
	// Output:
	// started: running
	// status: running
	// image: galaxy/game:1.0.0
	// endpoint is galaxy-game-<id>:8080: true
}
