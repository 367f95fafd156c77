package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	return []command{devicesCmd, pluginsCmd, runCmd, reportCmd, diffCmd, mergeCmd, genReferenceCmd, versionCmd}
}

const mainHelp = `dlcompat tells whether each deep-learning framework still computes the
right numbers on each device, and how fast.

Usage: dlcompat <command> [flags]

Commands:
%s
Exit codes: 0 every expected cell passed · 1 a cell failed, crashed, timed
out or is unknown · 2 bad usage or bad input · 3 infrastructure (no plugin
could start).

Examples:
  dlcompat devices
  dlcompat run                       # every plugin, every device, both models
  dlcompat run --models cnn --checks forward,backward -o results/
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
	if errors.Is(err, errCellsFailed) {
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
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// EnvPluginsDir overrides the default plugin directory.
const EnvPluginsDir = "DLCOMPAT_PLUGINS_DIR"

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
