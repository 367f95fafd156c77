package refdata

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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

// TestCorruptWeightsAreBadInput: weights or inputs whose bytes match the
// MANIFEST but do not decode are refused by Load, as a corrupt golden
// file is (exit 2), not sent to every plugin to fail each cell; and a
// MANIFEST line too long to scan is an error, not a short manifest.
func TestCorruptWeightsAreBadInput(t *testing.T) {
	for _, name := range []string{"cnn.weights.safetensors", "cnn.input.safetensors"} {
		dir := t.TempDir()
		if err := Write(dir); err != nil {
			t.Fatal(err)
		}
		bad := []byte("\xff\xff\xff\xff\xff\xff\xff\xffnot safetensors")
		os.WriteFile(filepath.Join(dir, name), bad, 0o644)
		rewriteManifest(t, dir, name, bad)
		if _, err := Load(dir, reference.CNN); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	dir := t.TempDir()
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, ManifestName)
	b, _ := os.ReadFile(m)
	os.WriteFile(m, append(b, []byte(strings.Repeat("x", 70000))...), 0o644)
	if _, err := Load(dir, reference.CNN); !errors.Is(err, ErrCorrupt) {
		t.Errorf("an unscannable MANIFEST: %v", err)
	}
}

// rewriteManifest gives name the sum of b in dir's MANIFEST.
func rewriteManifest(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	m := filepath.Join(dir, ManifestName)
	old, err := os.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(old)), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[1] == name {
			l = hex.EncodeToString(sum[:]) + "  " + name
		}
		out = append(out, l)
	}
	os.WriteFile(m, []byte(strings.Join(out, "\n")+"\n"), 0o644)
}
