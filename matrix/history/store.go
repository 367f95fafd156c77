package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite", cgo-free

	"github.com/dlcompat/dlcompat/matrix"
)

// timeFormat is fixed-width so that text order is time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// DefaultStore is the store used when --store is not given.
const DefaultStore = "history.sqlite"

// Store is an open store of runs; safe for concurrent use.
type Store struct {
	db *sql.DB
	d  dialect
}

// Open opens (creating where needed) the store named by dsn: a
// postgres:// or postgresql:// URL, or else the path of a SQLite file.
// It migrates the schema to this build's version.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var s *Store
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", redact(dsn), err)
		}
		s = &Store{db: db, d: postgresDialect}
	default:
		// file:PATH is the same file as PATH (the driver's URI form,
		// which we build ourselves below, would otherwise nest).
		dsn = strings.TrimPrefix(dsn, "file:")
		if dsn == "" {
			return nil, errors.New("store: empty path; give --store FILE.sqlite or --store postgres://…")
		}
		// WAL lets readers work beside the one writer; busy_timeout
		// makes concurrent writers wait rather than fail; immediate
		// transactions take the write lock at BEGIN, so two ingests
		// never deadlock upgrading a read lock.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(60000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", "file:"+dsn+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", dsn, err)
		}
		s = &Store{db: db, d: sqliteDialect}
	}
	if err := migrate(ctx, s.db, s.d); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store %s: %w", redact(dsn), err)
	}
	return s, nil
}

// redact hides a URL's password in messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return dsn
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Backend is "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name }

// Key follows one cell across nights. Device is the device's model
// name (what diff matches on), not its index: the same model on another
// runner, or another driver, is the same key. Row is what the run added
// to the framework's version to tell its rows apart ("+torch", " [image]":
// docs/spec.md §5.1), not the version itself, so that an upgrade of the
// framework continues the key and shows as what changed on its night
// (Night.FrameworkVersion).
type Key struct {
	Framework string `json:"framework"`
	Row       string `json:"row,omitempty"`
	Model     string `json:"model"`
	Check     string `json:"check"`
	Device    string `json:"device"`
	Precision string `json:"precision"`
}

func (k Key) String() string {
	s := fmt.Sprintf("%s × %s × %s × %s", k.Framework+k.Row, k.Device, k.Model, k.Check)
	if k.Precision != "" {
		s += " × " + k.Precision
	}
	return s
}

// Series is one timing series of a night's cell: its identity (name and
// batch) and raw samples.
type Series struct {
	Name    string    `json:"name"`
	Batch   int       `json:"batch"`
	Unit    string    `json:"unit"`
	Better  string    `json:"better"`
	Samples []float64 `json:"samples"`
	// Throttled: the host's telemetry saw a thermal or power reason fire
	// while the series ran (matrix.Telemetry.Throttled).
	Throttled bool `json:"throttled,omitempty"`
}

// RowOf is the row part of a cell's framework version: everything from
// the first "+" or " " on ("" for a plain row). A version that carries a
// build tag of its own ("2.5.1+cu124") keeps the tag in its row, so a
// change of build (cu121 → cu124) starts a new key while an upgrade
// (2.5.1 → 2.6.0) does not.
func RowOf(frameworkVersion string) string {
	if i := strings.IndexAny(frameworkVersion, "+ "); i >= 0 {
		return frameworkVersion[i:]
	}
	return ""
}

// Night is one cell of one run, as stored.
type Night struct {
	Key
	// FrameworkVersion is the cell's framework version as the run keyed it
	// (docs/spec.md §5.1), qualifiers included.
	FrameworkVersion string
	RunID            string
	Shard            string
	Night            string // YYYY-MM-DD of the run's start, UTC
	Started          time.Time
	Runner           string
	DlcompatVersion  string
	DeviceID         string
	Driver           string
	ImageDigest      string
	Status           matrix.Status
	// Infra marks a cell no result arrived for, or one of a run where no
	// cell executed: the infrastructure's failure, not the framework's.
	Infra     bool
	Reason    string
	MaxAbsErr *float64
	MaxRelErr *float64
	Series    []Series
}

// IngestResult says what Ingest did.
type IngestResult struct {
	RunKey string
	// Stored is false when the run was already in the store.
	Stored bool
	Cells  int
	// InfraFailure: no cell of the run executed.
	InfraFailure bool
}

// RunKey is a run's identity in the store: its run_id and, for one shard
// of a fanned-out run, the shard.
func RunKey(r *matrix.Run) string {
	if r.Shard != "" {
		return r.RunID + "#" + r.Shard
	}
	return r.RunID
}

// executed reports whether the cell ran at all (a skip did not, and an
// unknown never got a result).
func executed(s matrix.Status) bool {
	return s != matrix.Skip && s != matrix.Unknown && s != ""
}

// batchRows is how many cells one INSERT statement carries; batches of
// statements share the run's one transaction.
const batchRows = 200

// Ingest stores a run, once: a second ingest of the same RunKey stores
// nothing and reports Stored false. The run and its cells are written in
// one transaction, so a reader never sees half a run and a crashed ingest
// leaves nothing.
func (s *Store) Ingest(ctx context.Context, r *matrix.Run) (IngestResult, error) {
	res := IngestResult{RunKey: RunKey(r), Cells: len(r.Cells)}
	if r.RunID == "" {
		return res, errors.New("run has no run_id: not a dlcompat results document")
	}
	devs := map[string]matrix.Device{}
	for _, d := range r.Devices {
		devs[d.ID] = d
	}
	digests := map[[2]string]string{}
	for _, f := range r.Frameworks {
		digests[[2]string{f.Name, f.Version}] = f.ImageDigest
	}
	n := 0
	for _, c := range r.Cells {
		if executed(c.Status) {
			n++
		}
	}
	res.InfraFailure = n == 0
	started := r.Started.UTC()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, s.d.rebind(`INSERT INTO runs (run_key, run_id, shard, night, started, runner, dlcompat_version, config_hash, cells, executed, infra_failure, ingested)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_key) DO NOTHING RETURNING id`),
		res.RunKey, r.RunID, r.Shard, started.Format(time.DateOnly), started.Format(timeFormat), r.Host.Hostname,
		r.DlcompatVersion, r.ConfigHash, len(r.Cells), n, b2i(res.InfraFailure), time.Now().UTC().Format(time.RFC3339Nano)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return res, nil // already stored
	}
	if err != nil {
		return res, fmt.Errorf("storing run %s: %w", res.RunKey, err)
	}
	const cols = 18
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	args := make([]any, 0, batchRows*cols)
	flush := func(rows int) error {
		if rows == 0 {
			return nil
		}
		q := `INSERT INTO cells (run, idx, framework, row_name, framework_version, model, check_name, device_model, precision, device_id, driver, image_digest, status, infra, reason, max_abs_err, max_rel_err, series) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
		_, err := tx.ExecContext(ctx, s.d.rebind(q), args...)
		args = args[:0]
		return err
	}
	rows := 0
	for i, c := range r.Cells {
		d, ok := devs[c.Device]
		model := c.Device
		if ok && d.Name != "" {
			model = d.Name
		}
		ser, err := json.Marshal(seriesOf(c.Timings))
		if err != nil {
			return res, err
		}
		infra := c.Status == matrix.Unknown || res.InfraFailure
		args = append(args, id, i, c.Framework, RowOf(c.FrameworkVersion), c.FrameworkVersion, c.Model, c.Check, model, c.Precision, c.Device,
			d.DriverVersion, digests[[2]string{c.Framework, c.FrameworkVersion}], string(c.Status), b2i(infra), c.Reason,
			finite(c.MaxAbsErr), finite(c.MaxRelErr), string(ser))
		rows++
		if rows == batchRows {
			if err := flush(rows); err != nil {
				return res, fmt.Errorf("storing run %s: %w", res.RunKey, err)
			}
			rows = 0
		}
	}
	if err := flush(rows); err != nil {
		return res, fmt.Errorf("storing run %s: %w", res.RunKey, err)
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("storing run %s: %w", res.RunKey, err)
	}
	res.Stored = true
	return res, nil
}

func seriesOf(ts []matrix.Timing) []Series {
	out := make([]Series, 0, len(ts))
	for _, t := range ts {
		samples := make([]float64, 0, len(t.Samples))
		for _, v := range t.Samples {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				samples = append(samples, v)
			}
		}
		out = append(out, Series{Name: t.Name, Batch: t.Batch, Unit: t.Unit, Better: t.Better, Samples: samples,
			Throttled: t.Telemetry != nil && t.Telemetry.Throttled})
	}
	return out
}

// finite stores NaN and ±Inf errors as NULL: neither backend's REAL
// round-trips them alike.
func finite(f *matrix.Float) any {
	if f == nil || math.IsNaN(float64(*f)) || math.IsInf(float64(*f), 0) {
		return nil
	}
	return float64(*f)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Exec runs one statement; for tests and repairs, not for the schema
// (that is migrations').
func (s *Store) Exec(ctx context.Context, q string, args ...any) error {
	_, err := s.db.ExecContext(ctx, s.d.rebind(q), args...)
	return err
}
