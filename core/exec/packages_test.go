package exec_test

import (
	"context"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/testenv"
	"github.com/dlcompat/dlcompat/matrix"
)

func TestLocalListPackages(t *testing.T) {
	// A Go binary: its modules (a test binary records none, so build one).
	bin := filepath.Join(t.TempDir(), "dlcompat")
	if out, err := osexec.Command("go", "build", "-o", bin, "../../cmd/dlcompat").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p, err := exec.Local{}.ListPackages(context.Background(), exec.Spec{Path: bin}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(p.Items, func(x matrix.Package) bool { return x.Manager == "go" && x.Name == "github.com/hashicorp/go-plugin" }) {
		t.Errorf("go modules of the test binary: %+v", p.Items)
	}

	py, err := osexec.LookPath("python3")
	testenv.Need(t, err == nil, "needs python3 (apt-get install python3)")
	p, err = exec.Local{}.ListPackages(context.Background(), exec.Spec{}, py)
	if err != nil {
		t.Fatal(err)
	}
	if p.Digest == "" || p.From != "importlib.metadata of "+py {
		t.Errorf("python3: %d items, digest %q, from %q", len(p.Items), p.Digest, p.From)
	}
	t.Logf("%s: %d distributions, %s", py, len(p.Items), p.Digest)
	if _, err := (exec.Local{}).ListPackages(context.Background(), exec.Spec{}, "/nonexistent/python3"); err == nil {
		t.Error("a missing interpreter listed packages")
	}
}

func TestPackagesDigestIgnoresOrder(t *testing.T) {
	a := exec.NewPackages([]matrix.Package{{Manager: "pip", Name: "numpy", Version: "1.26.4"}, {Manager: "dpkg", Name: "libc6", Version: "2.36"}}, "x")
	b := exec.NewPackages([]matrix.Package{{Manager: "dpkg", Name: "libc6", Version: "2.36"}, {Manager: "pip", Name: "numpy", Version: "1.26.4"}}, "y")
	c := exec.NewPackages([]matrix.Package{{Manager: "dpkg", Name: "libc6", Version: "2.37"}, {Manager: "pip", Name: "numpy", Version: "1.26.4"}}, "y")
	if a.Digest != b.Digest || a.Digest == c.Digest {
		t.Errorf("digests %s %s %s", a.Digest, b.Digest, c.Digest)
	}
}
