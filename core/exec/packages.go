package exec

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	osexec "os/exec"
	"slices"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

// What is installed where a plugin runs (exec.PackageLister): the Python
// distributions an interpreter imports (importlib.metadata, which needs
// no pip), the Debian packages of an image (dpkg-query), or the Go
// modules a plugin binary was built from (its build information).

// PythonPackagesScript prints the interpreter's distributions as a JSON
// list of [name, version].
const PythonPackagesScript = `import json, importlib.metadata as m
print(json.dumps(sorted({(d.metadata["Name"] or "?", d.version) for d in m.distributions()})))`

// ShellPackagesScript lists an image's packages from a POSIX shell: the
// Python distributions of its python3 (a line "pip NAME VERSION" each),
// then its dpkg packages ("dpkg NAME VERSION").
const ShellPackagesScript = `if command -v python3 >/dev/null 2>&1; then python3 -c '` + PythonPackagesScript + `' | sed 's/^/pyjson /'; fi
if command -v dpkg-query >/dev/null 2>&1; then dpkg-query -W -f='dpkg ${Package} ${Version}\n'; fi
echo end`

// ErrNoListing: the listing ran but printed nothing it could read.
var ErrNoListing = errors.New("no package listing")

// ParseShellListing reads what ShellPackagesScript prints.
func ParseShellListing(out []byte) ([]matrix.Package, error) {
	var items []matrix.Package
	ended := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "end":
			ended = true
		case strings.HasPrefix(line, "pyjson "):
			py, err := ParsePythonListing([]byte(strings.TrimPrefix(line, "pyjson ")))
			if err != nil {
				return nil, err
			}
			items = append(items, py...)
		case strings.HasPrefix(line, "dpkg "):
			f := strings.Fields(line)
			if len(f) == 3 {
				items = append(items, matrix.Package{Manager: "dpkg", Name: f[1], Version: f[2]})
			}
		}
	}
	if !ended {
		return nil, fmt.Errorf("%w: the listing did not finish", ErrNoListing)
	}
	return items, nil
}

// ParsePythonListing reads what PythonPackagesScript prints.
func ParsePythonListing(out []byte) ([]matrix.Package, error) {
	var pairs [][2]string
	if err := json.Unmarshal(bytes.TrimSpace(out), &pairs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoListing, err)
	}
	items := make([]matrix.Package, 0, len(pairs))
	for _, p := range pairs {
		items = append(items, matrix.Package{Manager: "pip", Name: p[0], Version: p[1]})
	}
	return items, nil
}

// NewPackages sorts items and digests them.
func NewPackages(items []matrix.Package, from string) *matrix.Packages {
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b matrix.Package) int {
		return strings.Compare(a.Manager+"\x00"+strings.ToLower(a.Name)+"\x00"+a.Version, b.Manager+"\x00"+strings.ToLower(b.Name)+"\x00"+b.Version)
	})
	items = slices.Compact(items)
	h := sha256.New()
	for _, p := range items {
		fmt.Fprintf(h, "%s %s %s\n", p.Manager, p.Name, p.Version)
	}
	if items == nil {
		items = []matrix.Package{}
	}
	return &matrix.Packages{Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), From: from, Items: items}
}

// GoModules lists the modules a Go binary was built from (and the Go
// toolchain, as "go" "go" VERSION).
func GoModules(path string) (*matrix.Packages, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: no Go build information: %v", path, err)
	}
	items := []matrix.Package{{Manager: "go", Name: "go", Version: bi.GoVersion}}
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		items = append(items, matrix.Package{Manager: "go", Name: m.Path, Version: m.Version})
	}
	return NewPackages(items, "go modules of "+path), nil
}

// ListPackages lists what a local plugin runs with: its interpreter's
// Python distributions, or, for a plugin written in Go, the modules of
// its binary. interpreter may be a command line ("docker run -i IMAGE
// python3"); it is run with the script as its -c argument, for at most a
// minute.
func (Local) ListPackages(ctx context.Context, spec Spec, interpreter string) (*matrix.Packages, error) {
	if interpreter == "" {
		return GoModules(spec.Path)
	}
	argv := strings.Fields(interpreter)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := osexec.CommandContext(ctx, argv[0], append(argv[1:], "-c", PythonPackagesScript)...)
	cmd.Env = append(cmd.Environ(), spec.Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the packages of %s: %v: %s", interpreter, err, strings.TrimSpace(stderr.String()))
	}
	items, err := ParsePythonListing(out)
	if err != nil {
		return nil, fmt.Errorf("listing the packages of %s: %v", interpreter, err)
	}
	return NewPackages(items, "importlib.metadata of "+interpreter), nil
}

var _ PackageLister = Local{}
