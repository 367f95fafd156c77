// Package matrix is the result model of dlcompat: the schema-versioned run
// document (devices, frameworks, cells), its journal and atomic store, the
// summaries of raw timing samples, and the renderers (text, Markdown,
// JSON). It imports nothing from core: it knows what a result is, not how
// it was measured, and each renderer takes an io.Writer.
package matrix
