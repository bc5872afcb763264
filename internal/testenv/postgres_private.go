package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PrivatePostgres is a PostgreSQL server of one test's own (initdb into a
// temporary directory), which it may stop and start again without
// disturbing anyone else. It trusts loopback connections.
type PrivatePostgres struct {
	DSN    string
	t      testing.TB
	dir    string
	binDir string
	port   string
	cmd    *exec.Cmd
}

// pgBinDir is the newest installed PostgreSQL's bin directory.
func pgBinDir(t testing.TB) string {
	t.Helper()
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(matches) == 0 {
		t.Fatalf("testenv: PostgreSQL server binaries are required (run `make deps`)")
	}
	return filepath.Dir(matches[len(matches)-1])
}

// asPostgres runs a server binary as the postgres OS user: the server
// refuses to run as root.
func asPostgres(bin string, args ...string) *exec.Cmd {
	return exec.Command("runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
}

// StartPrivatePostgres initialises and starts a server with a `rtmanager`
// schema; DSN points at it.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("testenv: the postgres OS user is required (run `make deps`): %v", err)
	}
	dir, err := os.MkdirTemp("", "rtm-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	binDir := pgBinDir(t)
	if out, err := asPostgres(filepath.Join(binDir, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	p := &PrivatePostgres{t: t, dir: dir, binDir: binDir, port: port,
		DSN: fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?search_path=rtmanager&sslmode=disable", port)}
	t.Cleanup(p.Stop)
	p.Start(t)
	conn, err := pgx.Connect(context.Background(), p.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA rtmanager"); err != nil {
		t.Fatal(err)
	}
	return p
}

// Start runs the server (again, after Stop) and waits until it accepts connections.
func (p *PrivatePostgres) Start(t testing.TB) {
	t.Helper()
	p.cmd = asPostgres(filepath.Join(p.binDir, "postgres"), "-D", filepath.Join(p.dir, "data"), "-p", p.port,
		"-k", p.dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("testenv: start postgres: %v", err)
	}
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, p.DSN)
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return
		}
		if i == 150 {
			t.Fatalf("testenv: private postgres did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down at once (idempotent): "immediate" mode cuts
// every connection as a crash would.
func (p *PrivatePostgres) Stop() {
	if p.cmd == nil || p.cmd.Process == nil || p.cmd.ProcessState != nil {
		return
	}
	// runuser does not forward signals to the server, so ask pg_ctl.
	data := filepath.Join(p.dir, "data")
	if out, err := asPostgres(filepath.Join(p.binDir, "pg_ctl"), "-D", data, "stop", "-m", "immediate", "-w").CombinedOutput(); err != nil {
		_ = p.cmd.Process.Kill()
		p.t.Errorf("testenv: pg_ctl stop: %v\n%s", err, out)
	}
	_ = p.cmd.Wait()
}
