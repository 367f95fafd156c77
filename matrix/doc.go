// Package matrix is the result model of dlcompat: the schema-versioned run
// document (devices, frameworks, cells), its journal and atomic store, the
// summaries of raw timing samples, and what is done with documents:
//
//   - Read and Decode refuse, saying why in the document's terms, what is
//     not a complete run document of this schema (a journal, truncated
//     JSON, a cell with an unknown status);
//   - Merge joins the shards of a fanned-out run (ReadShards reads them,
//     refusing mixed schema versions); Shard names a part, "k/n";
//   - Diff compares two runs cell by cell, matching GPUs by model, with
//     a Mann-Whitney U test on the raw timing samples (MannWhitneyU) and
//     thresholds in DiffThresholds;
//   - renderers, each taking an io.Writer: text, Markdown, self-contained
//     HTML (html/template, inline CSS and SVG), JSON, JUnit XML for a run;
//     text, Markdown, HTML and JSON for a comparison.
//
// It imports nothing from core: it knows what a result is, not how it was
// measured or how cells are planned (core/runner decides what a shard
// runs).
package matrix
