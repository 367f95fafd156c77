// Package core_test holds the rules that keep core framework-agnostic:
// core names no framework (each plugin owns its facts, in its manifest)
// and imports nothing from plugins/. See docs/architecture.md.
package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// goFiles lists core's non-test Go files, generated code left out.
func goFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "proto" {
			return filepath.SkipDir // generated from framework.proto
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// frameworkNames are the plugins in plugins/ (a directory with a
// main.go), and the frameworks the project means to add.
func frameworkNames(t *testing.T) []string {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join("..", "plugins", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		t.Fatalf("no plugins found: %v", err)
	}
	names := []string{"torch", "mxnet", "theano", "pytensor", "cntk", "jax", "onnx", "onnxruntime"}
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	return names
}

func TestCoreNamesNoFramework(t *testing.T) {
	names := frameworkNames(t)
	word := regexp.MustCompile(`(?i)\b(` + strings.Join(names, "|") + `)\b`)
	fset := token.NewFileSet()
	for _, path := range goFiles(t) {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				s = lit.Value
			}
			s = withoutExamples(s)
			if m := word.FindString(s); m != "" {
				t.Errorf("%s: the literal names the framework %q; a plugin's facts belong in its manifest (core/pluginapi.Manifest)", fset.Position(lit.Pos()), m)
			}
			return true
		})
	}
}

// withoutExamples drops the example command lines of a help text
// (lines that start with "dlcompat "): an example has to name a real
// plugin to run, and TestHelpExamplesRun runs it. The prose around it
// must still name none.
func withoutExamples(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "dlcompat ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestCoreImportsNothingFromPlugins(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	module := strings.Fields(strings.SplitN(string(mod), "\n", 2)[0])[1]
	fset := token.NewFileSet()
	for _, path := range goFiles(t) {
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(p, module+"/plugins/") {
				t.Errorf("%s imports %s: core must not depend on plugins", path, p)
			}
		}
	}
}
