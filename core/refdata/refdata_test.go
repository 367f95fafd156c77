package refdata

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/reference"
)

// repoReference is the committed reference directory.
var repoReference = filepath.Join("..", "..", "testdata", "reference")

var update = flag.Bool("update", false, "rewrite testdata/reference from the generator")

// TestRegenerationIsByteIdentical rebuilds every reference file from the
// generator and the oracle and proves the committed bytes are the same.
func TestRegenerationIsByteIdentical(t *testing.T) {
	if *update {
		if err := Write(repoReference); err != nil {
			t.Fatal(err)
		}
	}
	files, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(repoReference, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: %v (run `make reference`)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: committed bytes differ from a fresh generation (%d vs %d bytes)", name, len(got), len(want))
		}
	}
}

func TestLoadVerifiesChecksums(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, m := range reference.Models {
		g, err := Load(dir, m)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if _, ok := g.Backward.Tensors["grad."+reference.Params(m)[0].Name]; !ok {
			t.Fatalf("%s: no gradient of %s", m, reference.Params(m)[0].Name)
		}
	}
	// Flip one byte of a golden file: Load must refuse it and name it.
	p := filepath.Join(dir, "golden", "cnn.forward.safetensors")
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 1
	os.WriteFile(p, b, 0o644)
	_, err := Load(dir, reference.CNN)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "cnn.forward.safetensors") {
		t.Fatalf("corrupted file: error %v", err)
	}
	if _, err := Load(dir, reference.LSTM); err != nil {
		t.Fatalf("lstm must still load: %v", err)
	}
	os.Remove(filepath.Join(dir, ManifestName))
	if _, err := Load(dir, reference.LSTM); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("missing manifest: %v", err)
	}
}
