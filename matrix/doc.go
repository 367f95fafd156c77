// Package matrix is the result model of dlcompat: the schema-versioned run
// document (devices, frameworks, cells with their timings), and what keeps
// it on disk and whole:
//
//   - the model: Run, Cell and CellKey, Status, Device (the one device
//     type; core/device fills it), Framework, Timing with its Summary
//     (Summarize), and the run's tally (Counts, Failed, Run.Summary);
//   - the codec and its checks: WriteJSON writes a document, Read and
//     Decode refuse, saying why in the document's terms, what is not a
//     complete run document of this schema (a journal, truncated JSON, a
//     cell with an unknown status, two cells of one key), and see what a
//     strict JSON parser sees (strict.go: no key twice, no key in another
//     case, size caps); Read holds the decoded run, not the file's bytes;
//   - the store: the journal a run appends its cells to (CreateJournal,
//     AppendJournal, ReadJournal) and WriteFileAtomic;
//   - fan-out: Shard names a part, "k/n"; Merge joins the shards of a
//     fanned-out run (ReadShards reads them, refusing mixed schema
//     versions).
//
// It does not render (matrix/render does, onto an io.Writer) nor compare
// two runs (matrix/diff does), and it imports nothing from core: it knows
// what a result is, not how it was measured or how cells are planned
// (core/runner decides what a shard runs).
package matrix
