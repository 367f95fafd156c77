package cli

import (
	"flag"
	"strings"

	"github.com/dlcompat/dlcompat/core/config"
	"github.com/dlcompat/dlcompat/core/exec/docker"
)

// applyConfig loads the --config file, if any, and gives every run flag
// that the command line did not set the file's value: flags win over the
// file, and the file over the defaults. Timeouts per check, which have no
// flag of their own, stay in the returned File.
func applyConfig(fs *flag.FlagSet, path string) (*config.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := config.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for name, v := range map[string]string{
		"executor":    f.Executor,
		"pull":        f.Pull,
		"devices":     f.Devices,
		"models":      strings.Join(f.Models, ","),
		"checks":      strings.Join(f.Checks, ","),
		"plugins-dir": f.PluginsDir,
	} {
		if fs.Lookup(name) == nil {
			continue // a command that has no such flag (plugins) ignores it
		}
		if v != "" && !set[name] {
			if err := fs.Set(name, v); err != nil {
				return nil, usagef("%s: %v", path, err)
			}
		}
	}
	return f, nil
}

// newDocker is the docker executor of a run: it does nothing until the
// runner opens it, so building one costs nothing when no plugin uses it.
func newDocker(pull, referenceDir string) (*docker.Executor, error) {
	p, err := docker.ParsePullPolicy(pull)
	if err != nil {
		return nil, usagef("--pull: %v", err)
	}
	return docker.New(docker.Options{Pull: p, ReferenceDir: referenceDir}), nil
}
