package history

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// dialect is what differs between the two backends: the spelling of an
// auto-increment key and of bind parameters, and how migrations are
// serialised between processes.
type dialect struct {
	name   string
	serial string // the type of an auto-increment primary key
	// lock, run inside the migration transaction, serialises migrations
	// of concurrent processes ("" where the transaction itself does).
	lock string
}

var (
	sqliteDialect   = dialect{name: "sqlite", serial: "INTEGER PRIMARY KEY AUTOINCREMENT"}
	postgresDialect = dialect{name: "postgres", serial: "BIGSERIAL PRIMARY KEY", lock: "SELECT pg_advisory_xact_lock(7613320913)"}
)

// rebind turns the ? placeholders our statements are written with into
// PostgreSQL's $n. No statement of ours has a ? inside a literal.
func (d dialect) rebind(q string) string {
	if d.name != "postgres" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// migrations are the schema's versions, in order; migration i brings
// the store to version i+1. Never edit one that has shipped: append.
// {{serial}} is the dialect's auto-increment key.
var migrations = []string{
	// 1: runs and their cells.
	`CREATE TABLE runs (
		id {{serial}},
		run_key TEXT NOT NULL UNIQUE,
		run_id TEXT NOT NULL,
		shard TEXT NOT NULL,
		night TEXT NOT NULL,
		started TEXT NOT NULL,
		runner TEXT NOT NULL,
		dlcompat_version TEXT NOT NULL,
		config_hash TEXT NOT NULL,
		cells INTEGER NOT NULL,
		executed INTEGER NOT NULL,
		infra_failure INTEGER NOT NULL,
		ingested TEXT NOT NULL
	);
	CREATE INDEX runs_runner ON runs (runner, started);
	CREATE INDEX runs_night ON runs (night);
	CREATE TABLE cells (
		run BIGINT NOT NULL REFERENCES runs (id),
		idx INTEGER NOT NULL,
		framework TEXT NOT NULL,
		row_name TEXT NOT NULL,
		framework_version TEXT NOT NULL,
		model TEXT NOT NULL,
		check_name TEXT NOT NULL,
		device_model TEXT NOT NULL,
		precision TEXT NOT NULL,
		device_id TEXT NOT NULL,
		driver TEXT NOT NULL,
		image_digest TEXT NOT NULL,
		status TEXT NOT NULL,
		infra INTEGER NOT NULL,
		reason TEXT NOT NULL,
		max_abs_err DOUBLE PRECISION,
		max_rel_err DOUBLE PRECISION,
		series TEXT NOT NULL,
		PRIMARY KEY (run, idx)
	);
	CREATE INDEX cells_key ON cells (framework, row_name, model, check_name, device_model, precision, run);
	CREATE INDEX cells_device ON cells (device_model, run);`,
}

// migrate brings the store's schema to the latest version, each version
// in its own transaction, and refuses a store newer than this build.
func migrate(ctx context.Context, db *sql.DB, d dialect) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
		// Two processes creating it at once on PostgreSQL: one loses
		// the race on the catalog; the table exists either way.
		if _, err2 := db.ExecContext(ctx, `SELECT version FROM schema_migrations LIMIT 1`); err2 != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
	}
	for {
		done, err := migrateOne(ctx, db, d)
		if err != nil || done {
			return err
		}
	}
}

func migrateOne(ctx context.Context, db *sql.DB, d dialect) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if d.lock != "" {
		if _, err := tx.ExecContext(ctx, d.lock); err != nil {
			return false, err
		}
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return false, err
	}
	if v > len(migrations) {
		return false, fmt.Errorf("the store is at schema version %d, this dlcompat knows %d: use a newer dlcompat", v, len(migrations))
	}
	if v == len(migrations) {
		return true, nil
	}
	ddl := strings.ReplaceAll(migrations[v], "{{serial}}", d.serial)
	for _, stmt := range strings.Split(ddl, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`), v+1, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// SchemaVersion is the version migrations bring a store to.
func SchemaVersion() int { return len(migrations) }
