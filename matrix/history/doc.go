// Package history is the store of nightly runs: one schema, applied by
// versioned migrations to an embedded SQLite file (the default, one file
// a CI job keeps as an artifact) or to PostgreSQL (a fleet of runners
// publishing at once). Ingest is idempotent: a run is keyed on its
// identity (run_id and shard), and a second ingest of the same run
// stores nothing. A cell is followed across nights by Key: framework and
// framework version (the row), model, check, device model and precision;
// per night it keeps the status, errors, raw perf samples per series,
// and what might explain a change (image digest, driver, dlcompat
// version, runner) plus an infrastructure-failure marker, so that a
// night where nothing ran is never read as a framework's 0 %.
package history
