// Package render turns the result model into what people and CI read. Each
// renderer is a function of a document onto an io.Writer:
//
//   - a run (matrix.Run): text for a terminal (WriteText), GitHub Markdown
//     (WriteMarkdown), one self-contained HTML page (WriteHTML: inline CSS
//     and SVG, no script, every value escaped by html/template), JUnit XML
//     (WriteJUnit), and the JSON document itself (matrix.WriteJSON);
//   - a comparison (diff.Comparison): text, Markdown, HTML and JSON
//     (WriteDiffText, WriteDiffMarkdown, WriteDiffHTML, WriteDiffJSON).
//
// One registry (Formats) names the formats of both, for `dlcompat report`
// and `dlcompat diff` alike: ForRun and ForDiff look a name up, RunFormats
// and DiffFormats list the names for help and errors. The formatting
// helpers the renderers share are in format.go, the layout of the status
// and performance tables in tables.go.
//
// It reads documents and writes bytes; it does not read files, judge
// cells or compare runs. Golden files in testdata/ hold every rendering
// of a fixed run (go test ./matrix/render -update rewrites them).
package render
