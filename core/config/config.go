package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dlcompat/dlcompat/core/checks"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
)

// Version is the only format version there is.
const Version = 1

// Executors and pull policies a file may name (core/exec/docker defines
// the policies; a test keeps the two lists equal).
var (
	Executors    = []string{"local", "docker"}
	PullPolicies = []string{"never", "if-missing"}
)

// envName is what a variable name in env: may be.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ErrInvalid is wrapped by every *Error.
var ErrInvalid = errors.New("invalid configuration")

// Error is one problem in a configuration file, where it is.
type Error struct {
	File  string
	Line  int
	Field string // dotted path, e.g. frameworks.pytorch.images[1]
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

func (e *Error) Unwrap() error { return ErrInvalid }

// File is a parsed configuration. A key the file does not set keeps its
// zero value, so that the command line's defaults apply.
type File struct {
	Path     string
	Executor string
	Pull     string
	// Devices is a selection as --devices takes it ("all", "cpu,gpu:0").
	Devices    string
	Models     []string
	Checks     []string
	Precisions []string
	Timeouts   map[string]time.Duration
	// PluginsDir is absolute (resolved against the file's directory).
	PluginsDir string
	// Frameworks in file order; nil when the file has no frameworks key.
	Frameworks []Framework
	// Docker bounds the docker executor's containers; nil when the file
	// has no docker key (zero fields take docker.DefaultLimits).
	Docker *docker.Limits

	lines map[string]int // field → line, for errors found later
}

// Framework is one entry of frameworks.
type Framework struct {
	Name string
	// Plugin is the plugin binary: a file name in the plugins directory
	// (default dlcompat-plugin-<name>) or a path (relative to the file).
	Plugin string
	// Images each make a framework-version row; docker executor only.
	Images []string
	// Executor overrides the file's executor for this framework.
	Executor string
	// Env is added to the plugin's environment, as NAME=value, sorted.
	Env []string
	// Variants are the values of the plugin's variant axis to run, each a
	// row (Keras's backends); empty runs its default.
	Variants []string
	Line     int
}

// Load reads and validates a configuration file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return Parse(path, data)
}

// Parse validates data, read from path. The error joins every problem
// found, each an *Error.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path, lines: map[string]int{}}
	p := &parser{f: f}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, p.yamlError(err)
	}
	if len(root.Content) == 0 {
		// Most likely the wrong file, or one truncated: running the whole
		// default matrix instead would hide that.
		return nil, &Error{File: path, Line: 1, Msg: "the file is empty (or only comments): a configuration sets at least one key, such as version: 1 and frameworks:"}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		p.errf(doc, "", "the file must be a mapping of keys (executor:, frameworks:, …)")
		return nil, errors.Join(p.errs...)
	}
	p.mapping(doc, "", func(key string, k, v *yaml.Node) {
		f.lines[key] = v.Line
		switch key {
		case "version":
			var n int
			if v.Decode(&n) != nil || n != Version {
				p.errf(v, key, "must be %d", Version)
			}
		case "executor":
			f.Executor = p.oneOf(v, key, Executors)
		case "pull":
			f.Pull = p.oneOf(v, key, PullPolicies)
		case "devices":
			f.Devices = strings.Join(p.list(v, key, nil), ",")
			if f.Devices == "" {
				p.errf(v, key, "is empty (all, cpu, gpu, or a list such as cpu,gpu:0)")
			}
		case "models":
			f.Models = p.list(v, key, reference.ModelNames())
		case "precisions":
			f.Precisions = p.list(v, key, pluginapi.AllPrecisions)
		case "checks":
			f.Checks = p.list(v, key, checks.Names())
		case "timeouts":
			f.Timeouts = map[string]time.Duration{}
			p.mapping(v, key, func(check string, _, tv *yaml.Node) {
				field := key + "." + check
				if checks.Validate(check) != nil {
					p.errf(tv, field, "unknown check (valid: %s)", strings.Join(checks.Names(), ", "))
					return
				}
				d, err := time.ParseDuration(p.str(tv, field))
				if err != nil || d <= 0 {
					p.errf(tv, field, "%q is not a positive duration (e.g. 90s, 5m, 1h)", tv.Value)
					return
				}
				f.Timeouts[check] = d
			})
		case "plugins_dir":
			if s := p.str(v, key); s != "" {
				f.PluginsDir = f.Resolve(s)
			}
		case "docker":
			f.Docker = p.limits(v, key)
		case "frameworks":
			f.Frameworks = []Framework{}
			p.mapping(v, key, func(name string, k, fv *yaml.Node) {
				f.Frameworks = append(f.Frameworks, p.framework(name, k, fv))
			})
		default:
			p.errf(k, key, "unknown key (valid: version, executor, pull, devices, models, checks, precisions, timeouts, plugins_dir, docker, frameworks)")
		}
	})
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return f, nil
}

// Errorf reports a problem with a field that was valid on its own (a
// device the host does not have): it names the field's line.
func (f *File) Errorf(field, format string, a ...any) error {
	return &Error{File: f.Path, Line: f.lines[field], Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Resolve makes a path from the file absolute, against the file's
// directory.
func (f *File) Resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	abs, err := filepath.Abs(filepath.Join(filepath.Dir(f.Path), p))
	if err != nil {
		return p
	}
	return abs
}

type parser struct {
	f    *File
	errs []error
}

func (p *parser) errf(n *yaml.Node, field, format string, a ...any) {
	p.errs = append(p.errs, &Error{File: p.f.Path, Line: n.Line, Field: field, Msg: fmt.Sprintf(format, a...)})
}

// yamlError keeps the YAML library's line but names the file.
func (p *parser) yamlError(err error) error {
	var te *yaml.TypeError
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	line := 0
	if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	return &Error{File: p.f.Path, Line: line, Msg: "not valid YAML: " + msg}
}

// mapping calls fn for each key of a mapping node, in order.
func (p *parser) mapping(n *yaml.Node, field string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errf(n, field, "must be a mapping (key: value lines)")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := k.Value
		if field != "" {
			path = field + "." + k.Value
		}
		if seen[k.Value] {
			p.errf(k, path, "is given twice")
			continue
		}
		seen[k.Value] = true
		fn(k.Value, k, v)
	}
}

func (p *parser) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errf(n, field, "must be a single value")
		return ""
	}
	return n.Value
}

func (p *parser) oneOf(n *yaml.Node, field string, valid []string) string {
	s := p.str(n, field)
	if s != "" && !pluginapi.Has(valid, s) {
		p.errf(n, field, "%q is not one of: %s", s, strings.Join(valid, ", "))
		return ""
	}
	return s
}

// list reads a sequence, or a comma-separated scalar, checking each item
// against valid when it is not nil.
func (p *parser) list(n *yaml.Node, field string, valid []string) []string {
	var items []*yaml.Node
	switch n.Kind {
	case yaml.SequenceNode:
		items = n.Content
	case yaml.ScalarNode:
		items = []*yaml.Node{n}
	default:
		p.errf(n, field, "must be a list")
		return nil
	}
	var out []string
	for i, it := range items {
		f := field
		if n.Kind == yaml.SequenceNode {
			f = fmt.Sprintf("%s[%d]", field, i)
		}
		for _, s := range strings.Split(p.str(it, f), ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if valid != nil && !pluginapi.Has(valid, s) {
				p.errf(it, f, "%q is not one of: %s", s, strings.Join(valid, ", "))
				continue
			}
			out = append(out, s)
		}
	}
	return out
}

// limits reads the docker key: user, pids, memory and tmp, sizes such as
// 8GiB or 512MiB, "unlimited" for no pids or memory limit.
func (p *parser) limits(v *yaml.Node, field string) *docker.Limits {
	l := &docker.Limits{}
	p.mapping(v, field, func(key string, _, vv *yaml.Node) {
		sub := field + "." + key
		s := p.str(vv, sub)
		switch key {
		case "user":
			l.User = s
		case "pids":
			n, err := strconv.ParseInt(s, 10, 64)
			switch {
			case s == "unlimited":
				l.Pids = docker.Unlimited
			case err != nil || n < 1:
				p.errf(vv, sub, "%q is not a positive number of processes, or unlimited", s)
			default:
				l.Pids = n
			}
		case "memory", "tmp":
			n, err := parseSize(s)
			switch {
			case s == "unlimited" && key == "memory":
				n = docker.Unlimited
			case err != nil:
				p.errf(vv, sub, "%v", err)
				return
			}
			if key == "memory" {
				l.MemoryBytes = n
			} else {
				l.TmpBytes = n
			}
		default:
			p.errf(vv, sub, "unknown key (valid: user, pids, memory, tmp)")
		}
	})
	if _, err := l.Resolve(); err != nil {
		p.errf(v, field, "%v", err)
	}
	return l
}

// parseSize reads a size in bytes: a whole number, with an optional
// unit B, KiB, MiB, GiB or TiB.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		factor int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}}
	num, factor := s, int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, factor = strings.TrimSpace(rest), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/factor {
		return 0, fmt.Errorf("%q is not a size such as 512MiB or 8GiB", s)
	}
	return n * factor, nil
}

func (p *parser) framework(name string, k, v *yaml.Node) Framework {
	fw := Framework{Name: name, Line: k.Line}
	field := "frameworks." + name
	if name == "" || strings.ContainsAny(name, " /") {
		p.errf(k, field, "%q is not a framework name", name)
	}
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return fw // "name:" alone: every default
	}
	p.mapping(v, field, func(key string, kk, vv *yaml.Node) {
		sub := field + "." + key
		switch key {
		case "plugin":
			fw.Plugin = p.str(vv, sub)
		case "image", "images":
			for i, img := range p.list(vv, sub, nil) {
				if strings.ContainsAny(img, " \t") || strings.HasPrefix(img, "-") {
					p.errf(vv, fmt.Sprintf("%s[%d]", sub, i), "%q is not an image reference", img)
					continue
				}
				fw.Images = append(fw.Images, img)
			}
		case "executor":
			fw.Executor = p.oneOf(vv, sub, Executors)
		case "variants":
			fw.Variants = p.list(vv, sub, nil)
		case "env":
			p.mapping(vv, sub, func(name string, _, ev *yaml.Node) {
				if !envName.MatchString(name) {
					p.errf(ev, sub+"."+name, "is not a variable name (letters, digits and _, not starting with a digit)")
					return
				}
				fw.Env = append(fw.Env, name+"="+p.str(ev, sub+"."+name))
			})
			sort.Strings(fw.Env)
		default:
			p.errf(kk, sub, "unknown key (valid: plugin, images, executor, env, variants)")
		}
	})
	return fw
}
