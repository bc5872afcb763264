package client_test

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Game Lobby drives games through the job streams with go-redis: it appends a
// start job, keeps the entry id, and waits for the result entry whose job_id
// is that id. (Lobby's own code would read runtime:job_results through a
// consumer group of its own; a plain XREAD from the stream's last id shows the
// protocol.)
func Example_lobbyStartJob() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // how long Lobby waits
	defer cancel()
	gameID := service.GameID("lobby")
	streams := service.Config.Streams // defaults: runtime:start_jobs, runtime:job_results, …
	rdb := goredis.NewClient(&goredis.Options{Addr: service.Config.RedisAddr})
	defer rdb.Close()

	// Read results from here on: the last entry of the results stream now.
	from := "0-0"
	if last, err := rdb.XRevRangeN(ctx, streams.JobResults, "+", "-", 1).Result(); err == nil && len(last) == 1 {
		from = last[0].ID
	}

	jobID, err := rdb.XAdd(ctx, &goredis.XAddArgs{Stream: streams.StartJobs, Values: []string{
		"game_id", gameID,
		"image_ref", "galaxy/game:1.0.0",
		"requested_at_ms", strconv.FormatInt(time.Now().UnixMilli(), 10),
	}}).Result()
	if err != nil {
		panic(err)
	}

	for {
		res, err := rdb.XRead(ctx, &goredis.XReadArgs{
			Streams: []string{streams.JobResults, from}, Block: 2 * time.Second,
		}).Result()
		if err == goredis.Nil {
			continue // nothing new yet
		}
		if err != nil {
			panic(err)
		}
		for _, m := range res[0].Messages {
			from = m.ID
			if m.Values["job_id"] != jobID {
				continue // another job's result
			}
			// Every field is always present; error_code is "" on a plain
			// success and replay_no_op when the game already ran that image.
			fmt.Println("outcome:", m.Values["outcome"], "kind:", m.Values["job_kind"])
			fmt.Println("error_code:", fmt.Sprintf("%q", m.Values["error_code"]))
			fmt.Println("has container:", m.Values["container_id"] != "")
			fmt.Println("endpoint:", m.Values["engine_endpoint"] == "http://galaxy-game-"+gameID+":8080")
			return
		}
	}
	// Output:
	// outcome: success kind: start
	// error_code: ""
	// has container: true
	// endpoint: true
}
