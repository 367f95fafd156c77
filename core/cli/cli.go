package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/core/runspec"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
	ExitInfra  = 3
)

// Version is set at build time (-ldflags "-X ...cli.Version=...").
var Version = "dev"

// usageError is bad usage or bad input: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// infraError is an infrastructure failure: exit 3.
type infraError struct{ err error }

func (e infraError) Error() string { return e.err.Error() }
func (e infraError) Unwrap() error { return e.err }

// errCellsFailed makes the exit code 1 after a complete report.
var errCellsFailed = errors.New("some cells did not pass")

type command struct {
	name  string
	short string
	usage string // full help, with examples
	run   func(ctx context.Context, env *env, fs *flag.FlagSet, args []string) error
}

// env is what a command may touch.
type env struct {
	stdout, stderr io.Writer
}

func commands() []command {
	return []command{devicesCmd, pluginsCmd, runCmd, reportCmd, diffCmd, mergeCmd, historyCmd, genReferenceCmd, versionCmd}
}

const mainHelp = `dlcompat tells whether each deep-learning framework still computes the
right numbers on each device, and how fast.

Usage: dlcompat <command> [flags]

Commands:
%s
Exit codes: 0 every expected cell passed · 1 a cell failed, crashed, timed
out or is unknown · 2 bad usage or bad input · 3 infrastructure: no plugin
could start, or a framework named with --frameworks cannot run here (this
wins over 1).

Examples:
  dlcompat devices
  dlcompat run                       # every plugin, every device, both models
  dlcompat run --models cnn --checks forward,backward -o results/cnn
  dlcompat report results/run.json --format md
  dlcompat report results/run.json --format html -o report.html
  dlcompat diff last-night.json results/run.json --fail-on regression
  dlcompat run --shard 2/4 -o shard-2      # one of four machines, then:
  dlcompat merge shard-*/run.json -o all.json

Run 'dlcompat <command> --help' for a command's flags and examples.
`

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 2 && args[0] == "help" {
		args = []string{args[1], "--help"} // dlcompat help run
	}
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = []string{"version"}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		var list strings.Builder
		for _, c := range commands() {
			fmt.Fprintf(&list, "  %-14s %s\n", c.name, c.short)
		}
		fmt.Fprintf(stdout, mainHelp, list.String())
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(stderr, c.run(ctx, e, newFlags(e, c), args[1:]))
		}
	}
	fmt.Fprintf(stderr, "dlcompat: unknown command %q (valid: %s); see 'dlcompat --help'\n", args[0], strings.Join(commandNames(), ", "))
	return ExitUsage
}

func commandNames() []string {
	var out []string
	for _, c := range commands() {
		out = append(out, c.name)
	}
	return out
}

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if errors.Is(err, errCellsFailed) || errors.Is(err, errRegressions) {
		return ExitFailed
	}
	fmt.Fprintln(stderr, "dlcompat: "+err.Error())
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var ie infraError
	if errors.As(err, &ie) {
		return ExitInfra
	}
	return ExitInfra
}

// newFlags builds a FlagSet whose help is the command's usage text.
func newFlags(e *env, c command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(e.stdout, c.usage)
		fmt.Fprintln(e.stdout, "\nFlags:")
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(e.stderr)
	}
	return fs
}

// parse parses flags that may come before or after positional arguments.
// A bad flag is one line on stderr (through the usage error), not the
// whole help: the help is for --help, on stdout.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	help, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = help; fs.SetOutput(out) }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help()
				return nil, err
			}
			return nil, usagef("%v%s (see 'dlcompat %s --help')", err, flagHint(fs, err), fs.Name())
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagHint adds what a rejected value should look like, for the flag
// types whose parse errors say only "parse error".
func flagHint(fs *flag.FlagSet, err error) string {
	_, rest, ok := strings.Cut(err.Error(), "for flag -")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, ":")
	f := fs.Lookup(name)
	if f == nil {
		return ""
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return ""
	}
	switch g.Get().(type) {
	case time.Duration:
		return "; a duration takes a unit, such as 90s, 5m or 1h"
	case int, int64, uint, uint64:
		return "; want a whole number"
	case float64:
		return "; want a number, such as 0.05"
	case bool:
		return "; want true or false"
	}
	return ""
}

// noArgs refuses positional arguments for a command that takes none.
func noArgs(fs *flag.FlagSet, pos []string) error {
	if len(pos) > 0 {
		return usagef("%s takes no arguments, got %q (see 'dlcompat %s --help')", fs.Name(), pos, fs.Name())
	}
	return nil
}

// lists returns the comma lists of the named flags, refusing one that was
// given but is empty (an unset CI variable, say): an empty list would
// otherwise mean "everything" and run the whole matrix.
func lists(fs *flag.FlagSet, names ...string) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err == nil && slices.Contains(names, f.Name) && len(splitList(f.Value.String())) == 0 {
			err = usagef("--%s is empty: name at least one, or leave the flag out for its default (%s)", f.Name, f.DefValue)
			if f.DefValue == "" {
				err = usagef("--%s is empty: name at least one, or leave the flag out for all", f.Name)
			}
		}
	})
	return err
}

// checkOutFile refuses an -o that cannot be written before any work is
// done: a directory, or a file in a directory that does not exist.
func checkOutFile(path, example string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("-o: %s is a directory; name a file in it, such as %s", path, filepath.Join(path, example))
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return usagef("-o: directory %s does not exist; create it (mkdir -p %s) or write elsewhere", dir, dir)
	case !st.IsDir():
		return usagef("-o: %s is not a directory", dir)
	}
	return nil
}

// EnvPluginsDir overrides the default plugin directory.
const EnvPluginsDir = runspec.EnvPluginsDir

// defaultPluginsDir is $DLCOMPAT_PLUGINS_DIR, or "plugins" beside the
// dlcompat binary, where 'make build' puts them.
func defaultPluginsDir() string {
	if d := os.Getenv(EnvPluginsDir); d != "" {
		return d
	}
	exe, err := os.Executable()
	if err != nil {
		return filepath.Join("bin", "plugins")
	}
	return filepath.Join(filepath.Dir(exe), "plugins")
}

// defaultReferenceDir is testdata/reference in the working directory, or
// beside the binary's parent (a checkout's bin/..).
func defaultReferenceDir() string {
	local := filepath.Join("testdata", "reference")
	if _, err := os.Stat(local); err == nil {
		return local
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "..", "testdata", "reference")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return local
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
