package integration

import (
	"bytes"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/galaxy/rtmanager/internal/testenv"
)

// TestProvisionIsQuietWhenRepeated: sql/provision.sql runs before every make
// target (scripts/deps.sh), so on a provisioned server it must print nothing;
// a line there is then always worth reading. It runs the way deps.sh runs
// it, against a server of its own so that the first run starts from nothing.
func TestProvisionIsQuietWhenRepeated(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql is required (run `make deps`): %v", err)
	}
	pg := testenv.StartPrivatePostgres(t)
	dsn, err := url.Parse(pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(testenv.RepoRoot(t), "sql", "provision.sql")
	for _, run := range []string{"first run", "second run"} {
		var stderr bytes.Buffer
		cmd := exec.CommandContext(t.Context(), psql, "-h", dsn.Hostname(), "-p", dsn.Port(), "-U", "postgres", "-d", "postgres",
			"-q", "-X", "-v", "ON_ERROR_STOP=1", "-f", script)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", run, err, stderr.String())
		}
		if stderr.Len() != 0 {
			t.Errorf("%s printed:\n%s", run, stderr.String())
		}
	}
}
