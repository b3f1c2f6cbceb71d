package scaleout_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres/pgtest"
	"github.com/crm-mcp/crm-mcp/internal/portpick"
)

// privatePG is a PostgreSQL server of this test alone (initdb into a
// temporary directory, pg_ctl on a free loopback port, trust on
// 127.0.0.1 only), so the test may restart it without disturbing the
// machine's shared server that other packages use concurrently.
type privatePG struct {
	bin, data, log string
	port           int
	asPostgres     bool // running as root: run the binaries as postgres
}

// startPrivatePG skips without PostgreSQL binaries, or fails under
// CRM_MCP_REQUIRE_SERVICES=1.
func startPrivatePG(t *testing.T) (*privatePG, pgtest.DB) {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		msg := "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (install the Debian package postgresql)"
		if os.Getenv("CRM_MCP_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg + " and CRM_MCP_REQUIRE_SERVICES=1")
		}
		t.Skip(msg + "; set CRM_MCP_REQUIRE_SERVICES=1 to make this a failure")
	}
	sort.Slice(bins, func(i, j int) bool { return pgMajor(bins[i]) < pgMajor(bins[j]) })
	p := &privatePG{bin: filepath.Dir(bins[len(bins)-1]), port: portpick.Test(t).N, asPostgres: os.Geteuid() == 0}
	// Not t.TempDir: its parents are 0700 root, which postgres cannot cross.
	dir, err := os.MkdirTemp("", "crm-mcp-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p.data, p.log = filepath.Join(dir, "data"), filepath.Join(dir, "pg.log")
	if p.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user for initdb: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	p.run(t, "initdb", "-D", p.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	hba := "local all all trust\nhost all all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join(p.data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	if p.asPostgres {
		u, _ := user.Lookup("postgres")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = os.Chown(filepath.Join(p.data, "pg_hba.conf"), uid, gid)
	}
	p.ctl(t, "start")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("--- private postgres log (tail) ---\n%s", b)
		}
		p.cmd("pg_ctl", "-D", p.data, "stop", "-m", "immediate", "-w", "-t", "20").Run()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.dsn("postgres", "postgres"))
	if err != nil {
		t.Fatalf("connect to the private postgres: %v", err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE ROLE ` + postgres.AppRole + ` LOGIN NOSUPERUSER NOBYPASSRLS`,
		`CREATE ROLE crm_owner LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS`,
		`CREATE DATABASE crm OWNER crm_owner`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return p, pgtest.DB{Name: "crm", Owner: "crm_owner", OwnerDSN: p.dsn("crm_owner", "crm"), AppDSN: p.dsn(postgres.AppRole, "crm"), SuperDSN: p.dsn("postgres", "crm")}
}

func pgMajor(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

func (p *privatePG) dsn(role, db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", role, p.port, db)
}

func (p *privatePG) cmd(name string, args ...string) *exec.Cmd {
	bin := filepath.Join(p.bin, name)
	if p.asPostgres {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

func (p *privatePG) run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := p.cmd(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// ctl runs pg_ctl start or restart (fast shutdown), waiting for it.
func (p *privatePG) ctl(t *testing.T, action string) {
	t.Helper()
	args := []string{"-D", p.data, "-l", p.log, "-w", "-t", "30",
		"-o", fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c max_connections=50", p.port, p.data), action}
	if action == "restart" {
		args = append(args, "-m", "fast")
	}
	p.run(t, "pg_ctl", args...)
}
