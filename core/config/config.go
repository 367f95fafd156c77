package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dlcompat/dlcompat/core/exec"
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

// DefaultImages are the images scripts/build-images.sh builds, by
// framework: the docker executor runs a framework in its default image
// when the configuration names none.
var DefaultImages = map[string]string{
	"gorgonia":   "dlcompat/gorgonia:scratch",
	"pytorch":    "dlcompat/pytorch-cpu:bookworm",
	"tensorflow": "dlcompat/tensorflow-cpu:bookworm",
	"keras":      "dlcompat/tensorflow-cpu:bookworm",
	"caffe":      "dlcompat/caffe-cpu:bullseye",
}

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
	Devices  string
	Models   []string
	Checks   []string
	Timeouts map[string]time.Duration
	// PluginsDir is absolute (resolved against the file's directory).
	PluginsDir string
	// Frameworks in file order; nil when the file has no frameworks key.
	Frameworks []Framework

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
	Env  []string
	Line int
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
		case "checks":
			f.Checks = p.list(v, key, pluginapi.AllChecks)
		case "timeouts":
			f.Timeouts = map[string]time.Duration{}
			p.mapping(v, key, func(check string, _, tv *yaml.Node) {
				field := key + "." + check
				if !pluginapi.Has(pluginapi.AllChecks, check) {
					p.errf(tv, field, "unknown check (valid: %s)", strings.Join(pluginapi.AllChecks, ", "))
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
				f.PluginsDir = f.resolve(s)
			}
		case "frameworks":
			f.Frameworks = []Framework{}
			p.mapping(v, key, func(name string, k, fv *yaml.Node) {
				f.Frameworks = append(f.Frameworks, p.framework(name, k, fv))
			})
		default:
			p.errf(k, key, "unknown key (valid: version, executor, pull, devices, models, checks, timeouts, plugins_dir, frameworks)")
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

// resolve makes a path from the file absolute, against the file's
// directory.
func (f *File) resolve(p string) string {
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

func (p *parser) framework(name string, k, v *yaml.Node) Framework {
	fw := Framework{Name: name, Line: k.Line}
	field := "frameworks." + name
	if name == "" || strings.ContainsAny(name, " /") {
		p.errf(k, field, "%q is not a framework name", name)
	}
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return fw // "gorgonia:" alone: every default
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
		case "env":
			p.mapping(vv, sub, func(name string, _, ev *yaml.Node) {
				if name == "" || strings.ContainsAny(name, "= ") {
					p.errf(ev, sub+"."+name, "is not a variable name")
					return
				}
				fw.Env = append(fw.Env, name+"="+p.str(ev, sub+"."+name))
			})
			sort.Strings(fw.Env)
		default:
			p.errf(kk, sub, "unknown key (valid: plugin, images, executor, env)")
		}
	})
	return fw
}

// Select returns f with only the named frameworks (--frameworks), so that
// a framework left out is not looked for; names the file does not list
// are left for the runner to report. A nil or empty names keeps them all.
func (f *File) Select(names []string) *File {
	if f == nil || f.Frameworks == nil || len(names) == 0 {
		return f
	}
	g := *f
	g.Frameworks = []Framework{}
	for _, fw := range f.Frameworks {
		for _, n := range names {
			if fw.Name == n {
				g.Frameworks = append(g.Frameworks, fw)
				break
			}
		}
	}
	return &g
}

// PluginPrefix is the file-name prefix of plugin binaries (as in
// core/pluginhost, which this package does not import).
const PluginPrefix = "dlcompat-plugin-"

// Specs returns the plugins to run: with a frameworks section, its
// frameworks in file order, one spec per image under the docker executor;
// without one (or without a file, f nil), every discovered plugin. Under
// docker a framework with no image runs in its DefaultImages one. Under
// local images do not apply: a framework is one spec. runExecutor is the
// run's executor name; executors maps each name a framework may override
// it with to its executor.
func Specs(f *File, discovered []exec.Spec, pluginsDir, runExecutor string, executors map[string]exec.Executor) ([]exec.Spec, error) {
	if f == nil || f.Frameworks == nil {
		var out []exec.Spec
		for _, s := range discovered {
			if runExecutor == "docker" && s.Image == "" {
				s.Image = DefaultImages[s.Name]
			}
			out = append(out, s)
		}
		return out, nil
	}
	var out []exec.Spec
	var errs []error
	for _, fw := range f.Frameworks {
		field := "frameworks." + fw.Name
		bad := func(format string, a ...any) {
			errs = append(errs, &Error{File: f.Path, Line: fw.Line, Field: field, Msg: fmt.Sprintf(format, a...)})
		}
		path := fw.Plugin
		switch {
		case path == "":
			path = filepath.Join(pluginsDir, PluginPrefix+fw.Name)
		case strings.ContainsRune(path, filepath.Separator):
			path = f.resolve(path)
		default:
			path = filepath.Join(pluginsDir, path)
		}
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			if known := names(discovered); fw.Plugin == "" && !slices.Contains(known, fw.Name) {
				bad("unknown framework %q (plugins found in %s: %s); a plugin of your own needs plugin: PATH", fw.Name, pluginsDir, strings.Join(known, ", "))
				continue
			}
			bad("no plugin binary at %s (build the plugins with `make build`, or set plugin:)", path)
			continue
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		name := runExecutor
		var ex exec.Executor
		if fw.Executor != "" && fw.Executor != runExecutor {
			name = fw.Executor
			if ex = executors[name]; ex == nil {
				bad("executor %s is not available", name)
				continue
			}
		}
		base := exec.Spec{Name: fw.Name, Path: path, Env: fw.Env, Executor: ex}
		if name != "docker" {
			out = append(out, base)
			continue
		}
		images := fw.Images
		if len(images) == 0 {
			if d := DefaultImages[fw.Name]; d != "" {
				images = []string{d}
			} else {
				bad("the docker executor needs an image: add images:")
				continue
			}
		}
		for _, img := range images {
			s := base
			s.Image = img
			out = append(out, s)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// names lists the discovered plugins' framework names.
func names(specs []exec.Spec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.Name)
	}
	return out
}
