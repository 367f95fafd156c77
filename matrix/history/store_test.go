package history_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/history"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"

	"github.com/dlcompat/dlcompat/core/testenv"
)

// night is a small fleet run started on day d of 2026, by runner.
func night(runner string, d int) *matrix.Run {
	r := matrixtest.Fleet(fmt.Sprintf("%s-%03d", runner, d), uint64(d), 2, 2, nil)
	r.Host.Hostname = runner
	r.Started = time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, d)
	return r
}

func ingestTwiceStoresOnce(t *testing.T, s *history.Store) {
	ctx := context.Background()
	r := night("r0", 0)
	first, err := s.Ingest(ctx, r)
	if err != nil || !first.Stored {
		t.Fatalf("first ingest: %+v %v", first, err)
	}
	again, err := s.Ingest(ctx, r)
	if err != nil || again.Stored {
		t.Fatalf("second ingest of the same run stored it again: %+v %v", again, err)
	}
	n, err := s.CountCells(ctx)
	if err != nil || n != len(r.Cells) {
		t.Fatalf("cells stored: %d (%v), want %d", n, err, len(r.Cells))
	}
}

// publishConcurrently has 20 publishers ingest 3 nights each at once,
// every publisher also re-sending another's first night; nothing may be
// lost nor stored twice.
func publishConcurrently(t *testing.T, open func() *history.Store) {
	ctx := context.Background()
	const publishers, nights = 20, 3
	var wg sync.WaitGroup
	errs := make(chan error, publishers*nights*2)
	want := 0
	for p := 0; p < publishers; p++ {
		want += nights * len(night("x", 0).Cells)
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			s := open() // each publisher its own connection, as separate runners have
			defer s.Close()
			for d := 0; d < nights; d++ {
				if _, err := s.Ingest(ctx, night("runner"+strconv.Itoa(p), d)); err != nil {
					errs <- err
				}
				if _, err := s.Ingest(ctx, night("runner"+strconv.Itoa((p+1)%publishers), 0)); err != nil {
					errs <- err
				}
			}
		}(p)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := open()
	defer s.Close()
	n, err := s.CountCells(ctx)
	if err != nil || n != want {
		t.Fatalf("after 20 concurrent publishers: %d cells (%v), want %d", n, err, want)
	}
	runs, err := s.Runs(ctx)
	if err != nil || len(runs) != publishers*nights {
		t.Fatalf("runs: %d (%v), want %d", len(runs), err, publishers*nights)
	}
}

func TestSQLiteIngestIdempotent(t *testing.T) {
	s, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "h.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ingestTwiceStoresOnce(t, s)
	queriesSeeWhatWasStored(t, s)
}

func TestSQLiteConcurrentPublishers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.sqlite")
	publishConcurrently(t, func() *history.Store {
		s, err := history.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestSQLiteRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.sqlite")
	s, err := history.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(context.Background(), `INSERT INTO schema_migrations (version, applied) VALUES (999, 'future')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := history.Open(context.Background(), path); err == nil {
		t.Fatal("a store at schema 999 was opened by a build that knows " + strconv.Itoa(history.SchemaVersion()))
	}
}

func queriesSeeWhatWasStored(t *testing.T, s *history.Store) {
	ctx := context.Background()
	later := night("r0", 1)
	for i := range later.Devices {
		later.Devices[i].DriverVersion = "560.1"
	}
	if _, err := s.Ingest(ctx, later); err != nil {
		t.Fatal(err)
	}
	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != len(later.Cells) {
		t.Fatalf("latest: %d cells, want %d (one per key, from the later night)", len(latest), len(later.Cells))
	}
	for _, n := range latest {
		if n.RunID != later.RunID {
			t.Fatalf("latest holds %s from %s", n.Key, n.RunID)
		}
	}
	var perf history.Key
	for _, n := range latest {
		if len(n.Series) > 0 {
			perf = n.Key
		}
	}
	h, err := s.History(ctx, perf)
	if err != nil || len(h) != 2 {
		t.Fatalf("history of %s: %d nights (%v), want 2", perf, len(h), err)
	}
	if h[1].Driver != "560.1" || h[0].Driver == "560.1" {
		t.Fatalf("drivers per night: %q, %q", h[0].Driver, h[1].Driver)
	}
	if h[0].Night != "2026-01-01" || h[1].Night != "2026-01-02" {
		t.Fatalf("nights %s, %s", h[0].Night, h[1].Night)
	}
	if len(h[1].Series) == 0 || len(h[1].Series[0].Samples) == 0 {
		t.Fatalf("raw samples not kept: %+v", h[1].Series)
	}
}

// postgres starts a real PostgreSQL server (Debian's package, from
// scripts/setup.d/50-postgres.sh) in a temporary directory, as a
// non-root user when the test runs as root (initdb refuses root), and
// returns its URL.
func postgres(t *testing.T) string {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	testenv.Need(t, len(bins) > 0, "no PostgreSQL server: run scripts/setup.d/50-postgres.sh (Debian's postgresql)")
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "dlcompat-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "dlcompat", "-A", "trust", "--no-sync")
	// A unix socket in dir only; no TCP port to collide with anything.
	run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-o", "-c listen_addresses= -c unix_socket_directories="+dir+" -c fsync=off -c max_connections=100", "start")
	t.Cleanup(func() { run("pg_ctl", "-D", data, "-m", "immediate", "stop") })
	return "postgres://dlcompat@/postgres?host=" + dir
}

func TestPostgresIngestIdempotent(t *testing.T) {
	s, err := history.Open(context.Background(), postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ingestTwiceStoresOnce(t, s)
	queriesSeeWhatWasStored(t, s)
}

func TestPostgresConcurrentPublishers(t *testing.T) {
	dsn := postgres(t)
	publishConcurrently(t, func() *history.Store {
		s, err := history.Open(context.Background(), dsn)
		if err != nil {
			t.Error(err)
			panic(err)
		}
		return s
	})
}

// file:PATH names the same SQLite file as PATH.
func TestSQLiteFileURI(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.sqlite")
	s, err := history.Open(ctx, "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	r := night("r0", 0)
	if _, err := s.Ingest(ctx, r); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = history.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CountCells(ctx); err != nil || n != len(r.Cells) {
		t.Fatalf("cells through the plain path: %d (%v), want %d", n, err, len(r.Cells))
	}
}

// TestRowOfKeepsVariantsApartAndUpgradesTogether: two variants of one
// framework are two keys; an upgrade of one of them is the same key.
func TestRowOfKeepsVariantsApartAndUpgradesTogether(t *testing.T) {
	for v, want := range map[string]string{
		"0.9.18": "", "3.15.1+torch": "+torch", "3.16.0+torch": "+torch", "3.15.1+jax": "+jax",
		"2.18.0 [dlcompat/tensorflow-cpu:bookworm]": " [dlcompat/tensorflow-cpu:bookworm]",
		"3.15.1+jax [img]":                          "+jax [img]", "2.5.1+cu124": "+cu124",
	} {
		if got := history.RowOf(v); got != want {
			t.Errorf("RowOf(%q) = %q, want %q", v, got, want)
		}
	}
}
