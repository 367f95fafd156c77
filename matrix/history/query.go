package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

const nightCols = `r.run_id, r.shard, r.night, r.started, r.runner, r.dlcompat_version,
	c.framework, c.row_name, c.framework_version, c.model, c.check_name, c.device_model, c.precision,
	c.device_id, c.driver, c.image_digest, c.status, c.infra, c.reason, c.max_abs_err, c.max_rel_err, c.series`

func scanNights(rows *sql.Rows) ([]Night, error) {
	var out []Night
	err := scanEach(rows, func(n Night) error { out = append(out, n); return nil })
	return out, err
}

func scanEach(rows *sql.Rows, fn func(Night) error) error {
	defer rows.Close()
	for rows.Next() {
		var n Night
		var started, status, series string
		var infra int
		var abs, rel sql.NullFloat64
		if err := rows.Scan(&n.RunID, &n.Shard, &n.Night, &started, &n.Runner, &n.DlcompatVersion,
			&n.Framework, &n.Row, &n.FrameworkVersion, &n.Model, &n.Check, &n.Device, &n.Precision,
			&n.DeviceID, &n.Driver, &n.ImageDigest, &status, &infra, &n.Reason, &abs, &rel, &series); err != nil {
			return err
		}
		n.Started, _ = time.Parse(timeFormat, started)
		n.Status = matrix.Status(status)
		n.Infra = infra != 0
		if abs.Valid {
			n.MaxAbsErr = &abs.Float64
		}
		if rel.Valid {
			n.MaxRelErr = &rel.Float64
		}
		if err := json.Unmarshal([]byte(series), &n.Series); err != nil {
			return fmt.Errorf("run %s cell %s: series: %w", n.RunID, n.Key, err)
		}
		if err := fn(n); err != nil {
			return err
		}
	}
	return rows.Err()
}

// History is every stored night of one key, oldest first.
func (s *Store) History(ctx context.Context, k Key) ([]Night, error) {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT `+nightCols+` FROM cells c JOIN runs r ON r.id = c.run
		WHERE c.framework = ? AND c.row_name = ? AND c.model = ? AND c.check_name = ? AND c.device_model = ? AND c.precision = ?
		ORDER BY r.started, r.id, c.idx`), k.Framework, k.Row, k.Model, k.Check, k.Device, k.Precision)
	if err != nil {
		return nil, err
	}
	return scanNights(rows)
}

// Latest is, for each key, its most recent night (the latest run that
// holds it), ordered by device model then key.
func (s *Store) Latest(ctx context.Context) ([]Night, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+nightCols+` FROM cells c JOIN runs r ON r.id = c.run
		JOIN (SELECT c2.framework f, c2.row_name fv, c2.model m, c2.check_name ch, c2.device_model dm, c2.precision p, MAX(r2.started) st
		      FROM cells c2 JOIN runs r2 ON r2.id = c2.run GROUP BY 1, 2, 3, 4, 5, 6) l
		  ON l.f = c.framework AND l.fv = c.row_name AND l.m = c.model AND l.ch = c.check_name AND l.dm = c.device_model AND l.p = c.precision AND l.st = r.started
		ORDER BY c.device_model, c.framework, c.row_name, c.model, c.check_name, c.precision, c.device_id`)
	if err != nil {
		return nil, err
	}
	return scanNights(rows)
}

// Keys lists every key in the store.
func (s *Store) Keys(ctx context.Context) ([]Key, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT framework, row_name, model, check_name, device_model, precision FROM cells
		ORDER BY device_model, framework, row_name, model, check_name, precision`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var k Key
		if err := rows.Scan(&k.Framework, &k.Row, &k.Model, &k.Check, &k.Device, &k.Precision); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RunInfo is one stored run, for freshness.
type RunInfo struct {
	RunKey       string
	Runner       string
	Started      time.Time
	Cells        int
	Executed     int
	InfraFailure bool
}

// Runs lists every stored run, oldest first.
func (s *Store) Runs(ctx context.Context) ([]RunInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT run_key, runner, started, cells, executed, infra_failure FROM runs ORDER BY started, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RunInfo
	for rows.Next() {
		var ri RunInfo
		var started string
		var infra int
		if err := rows.Scan(&ri.RunKey, &ri.Runner, &started, &ri.Cells, &ri.Executed, &infra); err != nil {
			return nil, err
		}
		ri.Started, _ = time.Parse(timeFormat, started)
		ri.InfraFailure = infra != 0
		out = append(out, ri)
	}
	return out, rows.Err()
}

// CountCells is the number of stored cells.
func (s *Store) CountCells(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM cells`).Scan(&n)
	return n, err
}

// Each calls fn with every key's nights, oldest first, in key order:
// one query, one key in memory at a time.
func (s *Store) Each(ctx context.Context, fn func(Key, []Night) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+nightCols+` FROM cells c JOIN runs r ON r.id = c.run
		ORDER BY c.device_model, c.framework, c.row_name, c.model, c.check_name, c.precision, r.started, r.id, c.idx`)
	if err != nil {
		return err
	}
	var cur []Night
	var curKey Key
	err = scanEach(rows, func(n Night) error {
		if len(cur) > 0 && n.Key != curKey {
			if err := fn(curKey, cur); err != nil {
				return err
			}
			cur = nil
		}
		curKey = n.Key
		cur = append(cur, n)
		return nil
	})
	if err != nil {
		return err
	}
	if len(cur) > 0 {
		return fn(curKey, cur)
	}
	return nil
}

// Detect runs regression detection over every key of the store.
func (s *Store) Detect(ctx context.Context, o Options) (*Report, error) {
	rep := &Report{Options: o}
	err := s.Each(ctx, func(k Key, ns []Night) error {
		regs, fl := Detect(ns, o)
		rep.Regressions = append(rep.Regressions, regs...)
		if fl != nil {
			rep.Flaky = append(rep.Flaky, *fl)
		}
		return nil
	})
	return rep, err
}
