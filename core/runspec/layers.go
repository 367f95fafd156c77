package runspec

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/core/config"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/matrix"
)

// Errors that decide the exit code (the runner's, so that either
// package's are told apart the same way).
var (
	ErrUsage = runner.ErrUsage
	ErrInfra = runner.ErrInfra
)

// FromJournal is the layer of the run journalled in outDir, for
// --resume: every field that defines what it measured, so that a resume
// finishes the run as it was started. A configuration file's frameworks
// section cannot be read back from a journal: the runner refuses a
// resume whose plugins or images differ, naming them. ok is false when
// there is no readable journal (the runner then says why).
func FromJournal(outDir string) (l Layer, ok bool, err error) {
	doc, shard, err := runner.JournalConfig(outDir)
	if err != nil {
		return Layer{}, false, nil
	}
	l.Name = "the journal in " + filepath.Join(outDir, runner.JournalFile)
	bad := func(field string, e error) error {
		return usagef("--resume: %s says %s, which this dlcompat does not take: %v", l.Name, field, e)
	}
	timeouts := map[string]time.Duration{}
	for c, v := range doc.Timeouts {
		d, err := time.ParseDuration(v)
		if err != nil {
			return Layer{}, false, bad("timeouts."+c+"="+v, err)
		}
		timeouts[c] = d
	}
	var sh matrix.Shard
	if shard != "" {
		if sh, err = matrix.ParseShard(shard); err != nil {
			return Layer{}, false, bad("shard="+shard, err)
		}
	}
	l.Set(FieldExecutor, func(s *Spec) error { s.Executor = doc.Executor; return nil })
	l.Set(FieldFrameworks, func(s *Spec) error { s.Frameworks = doc.Plugins; return nil })
	l.Set(FieldVariants, func(s *Spec) error { s.Variants = doc.Variants; return nil })
	l.Set(FieldModels, func(s *Spec) error { s.Models = doc.Models; return nil })
	l.Set(FieldChecks, func(s *Spec) error { s.Checks = doc.Checks; return nil })
	l.Set(FieldDevices, func(s *Spec) error { s.Devices = joinIDs(doc.Devices); return nil })
	l.Set(FieldPrecisions, func(s *Spec) error { s.Precisions = strings.Split(doc.Precision, ","); return nil })
	l.Set(FieldPerf, func(s *Spec) error { s.Perf = doc.Perf; return nil })
	l.Set(FieldTimeouts, func(s *Spec) error {
		// Over the defaults: a check the journal did not run keeps its own.
		t := maps.Clone(s.Timeouts)
		maps.Copy(t, timeouts)
		s.Timeouts = t
		return nil
	})
	l.Set(FieldShard, func(s *Spec) error { s.Shard = sh; return nil })
	return l, true, nil
}

func joinIDs(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += ","
		}
		out += id
	}
	return out
}

// FromConfig is the layer of a configuration file: the keys it sets.
// Per-check timeouts replace only the checks the file names.
func FromConfig(f *config.File) Layer {
	l := Layer{Name: "config " + f.Path}
	l.Set(FieldConfig, func(s *Spec) error { s.Config = f; return nil })
	if f.Executor != "" {
		l.Set(FieldExecutor, func(s *Spec) error { s.Executor = f.Executor; return nil })
	}
	if f.Pull != "" {
		l.Set(FieldPull, func(s *Spec) error { s.Pull = f.Pull; return nil })
	}
	if f.Devices != "" {
		l.Set(FieldDevices, func(s *Spec) error { s.Devices = f.Devices; return nil })
	}
	if f.Docker != nil {
		l.Set(FieldLimits, func(s *Spec) error { s.Limits = *f.Docker; return nil })
	}
	if f.PluginsDir != "" {
		l.Set(FieldPluginsDir, func(s *Spec) error { s.PluginsDir = f.PluginsDir; return nil })
	}
	if len(f.Models) > 0 {
		l.Set(FieldModels, func(s *Spec) error {
			models, err := ParseModels(f.Models)
			s.Models = models
			return err
		})
	}
	if len(f.Precisions) > 0 {
		l.Set(FieldPrecisions, func(s *Spec) error { s.Precisions = f.Precisions; return nil })
	}
	if len(f.Checks) > 0 {
		l.Set(FieldChecks, func(s *Spec) error { s.Checks = f.Checks; return nil })
	}
	if len(f.Timeouts) > 0 {
		l.Set(FieldTimeouts, func(s *Spec) error {
			t := map[string]time.Duration{}
			for c, d := range s.Timeouts {
				t[c] = d
			}
			for c, d := range f.Timeouts {
				t[c] = d
			}
			s.Timeouts = t
			return nil
		})
	}
	variants := map[string][]string{}
	for _, fw := range f.Frameworks {
		if len(fw.Variants) > 0 {
			variants[fw.Name] = fw.Variants
		}
	}
	if len(variants) > 0 {
		l.Set(FieldVariants, func(s *Spec) error { s.Variants = variants; return nil })
	}
	return l
}

// kindError is an error of a kind (ErrUsage, ErrInfra) whose message is
// its own, without the kind's.
type kindError struct{ kind, err error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.kind, e.err} }

func usagef(format string, a ...any) error { return kindError{ErrUsage, fmt.Errorf(format, a...)} }
func infraf(format string, a ...any) error { return kindError{ErrInfra, fmt.Errorf(format, a...)} }
