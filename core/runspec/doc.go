// Package runspec is the one typed specification of a run, and the one
// place it is built: Default gives every field its default, then layers
// are applied in order — the journal of the run being resumed
// (FromJournal), the configuration file (FromConfig), and last the
// flags the user actually set (the command line builds that layer from
// flag.FlagSet.Visit, never from a zero value). Each field remembers the
// layer that set it (Spec.Source), so errors can name the file or flag a
// bad value came from.
//
// From a Spec it resolves what a run and 'dlcompat plugins' both need,
// through the same code: the executors (Executors), the plugin specs with
// their images and variants (Plugins, from the plugins' manifests), and
// the runner's options (Options).
//
// It does not parse flags (core/cli does), nor YAML (core/config), nor
// run anything (core/runner).
package runspec
