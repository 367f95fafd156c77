// Package diff compares two run documents cell by cell: Compare matches
// cells by framework, device model (so the same GPU model compares across
// driver versions and machines), model, check and precision, and says for
// each whether its status regressed, its measured errors grew, or its speed
// changed, under the Thresholds it is given (DefaultThresholds unless
// told). Speed is judged on the raw timing samples with a two-sided
// Mann-Whitney U test (MannWhitneyU), and "~" says the data cannot tell.
//
// The result, a Comparison, is data: it does not render itself (the text,
// Markdown, HTML and JSON views are in matrix/render), and it decides no
// exit code (dlcompat diff --fail-on does).
package diff
