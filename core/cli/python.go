package cli

import (
	"fmt"
	"os"
	osexec "os/exec"
	"sort"
	"strings"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/pluginapi"
)

// EnvKerasBackends is the default of --keras-backends.
const EnvKerasBackends = "DLCOMPAT_KERAS_BACKENDS"

// kerasPlugin is the plugin whose backend is chosen per process.
const kerasPlugin = "keras"

// expandKerasBackends replaces the keras plugin by one spec per backend,
// named keras+<backend> and started with KERAS_BACKEND=<backend>, so each
// backend is a framework-version row of its own ("3.15.1+jax"). It also
// rewrites a --frameworks list that names keras to name every backend.
// An empty list leaves the plugin alone (KERAS_BACKEND, else tensorflow).
func expandKerasBackends(specs []exec.Spec, frameworks, backends []string) ([]exec.Spec, []string, error) {
	if len(backends) == 0 {
		return specs, frameworks, nil
	}
	seen := map[string]bool{}
	for _, b := range backends {
		if b != strings.ToLower(b) || strings.ContainsAny(b, " +=/") {
			return nil, nil, usagef("--keras-backends: %q is not a backend name (tensorflow, jax, torch)", b)
		}
		if seen[b] {
			return nil, nil, usagef("--keras-backends: %q is listed twice", b)
		}
		seen[b] = true
	}
	var out []exec.Spec
	var names []string
	found := false
	for _, s := range specs {
		if s.Name != kerasPlugin {
			out = append(out, s)
			continue
		}
		found = true
		for _, b := range backends {
			v := s
			v.Name = kerasPlugin + "+" + b
			v.Env = append(append([]string{}, s.Env...), "KERAS_BACKEND="+b)
			out = append(out, v)
			names = append(names, v.Name)
		}
	}
	if !found {
		return nil, nil, usagef("--keras-backends: there is no keras plugin to run them on")
	}
	var fw []string
	for _, f := range frameworks {
		if f == kerasPlugin {
			fw = append(fw, names...)
			continue
		}
		fw = append(fw, f)
	}
	return out, fw, nil
}

// checkInterpreters makes a configured interpreter that does not exist a
// usage error that names it, before any plugin starts: the local executor
// hands $DLCOMPAT_PYTHON_<FRAMEWORK> to the plugin as it is.
func checkInterpreters(specs []exec.Spec, frameworks []string) error {
	wanted := map[string]bool{}
	for _, f := range frameworks {
		wanted[strings.SplitN(f, "+", 2)[0]] = true
	}
	var bad []string
	checked := map[string]bool{}
	for _, s := range specs {
		name := strings.SplitN(s.Name, "+", 2)[0]
		if len(wanted) > 0 && !wanted[name] {
			continue
		}
		v := pluginapi.InterpreterEnv(name)
		val, ok := os.LookupEnv(v)
		if !ok || checked[v] {
			continue
		}
		checked[v] = true
		f := strings.Fields(val)
		switch {
		case len(f) == 0:
			bad = append(bad, fmt.Sprintf("%s is set but empty: unset it, or name %s's python interpreter", v, name))
		default:
			if _, err := osexec.LookPath(f[0]); err != nil {
				bad = append(bad, fmt.Sprintf("%s=%s: the interpreter %s does not exist or is not executable (fix the path, or unset %s to let the plugin find one)", v, val, f[0], v))
			}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return usagef("%s", strings.Join(bad, "\n  "))
	}
	return nil
}
