package refdata

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/tensor"
	"github.com/dlcompat/dlcompat/matrix"
)

// Batch is the batch of the reference input (docs/spec.md §2.3: checks run at N = 8).
const Batch = 8

// ManifestName is the checksum file inside the reference directory.
const ManifestName = "MANIFEST"

var (
	// ErrCorrupt marks a reference file that is missing, unlisted or whose
	// checksum does not match the MANIFEST.
	ErrCorrupt = errors.New("reference data does not match its MANIFEST")
	// ErrNoReference is a reference directory that is not there.
	ErrNoReference = errors.New("no reference data")
)

// Files returns the relative paths of every file of a model.
func Files(m reference.Model) []string {
	return []string{
		string(m) + ".weights.safetensors",
		string(m) + ".input.safetensors",
		"golden/" + string(m) + ".forward.safetensors",
		"golden/" + string(m) + ".backward.safetensors",
	}
}

// Build computes every reference file in memory: relative path → bytes.
func Build() (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, m := range reference.Models {
		meta := map[string]string{
			"generator": "dlcompat/v1 splitmix64 (see core/reference/generate.go)",
			"model":     string(m),
			"batch":     strconv.Itoa(Batch),
		}
		w := reference.NewWeights(m)
		wt := map[string]tensor.Tensor{}
		for name, a := range w {
			wt[name] = tensor.FromFloat64AsFloat32(a.Shape, a.Data)
		}
		x := reference.NewInput(m, Batch)
		labels := reference.Labels(Batch)
		l64 := make([]int64, len(labels))
		for i, l := range labels {
			l64[i] = int64(l)
		}
		in := map[string]tensor.Tensor{
			pluginapi.InputName:  tensor.FromFloat64AsFloat32(x.Shape, x.Data),
			pluginapi.LabelsName: tensor.FromInt64([]int{Batch}, l64),
		}
		fwd, err := reference.Forward(m, w, x)
		if err != nil {
			return nil, err
		}
		ft := map[string]tensor.Tensor{pluginapi.OutputLogits: tensor.FromFloat64(fwd.Logits.Shape, fwd.Logits.Data)}
		for name, a := range fwd.Activations {
			ft[pluginapi.ActivationPrefix+name] = tensor.FromFloat64(a.Shape, a.Data)
		}
		bwd, err := reference.Backward(m, w, x, labels)
		if err != nil {
			return nil, err
		}
		bt := map[string]tensor.Tensor{
			pluginapi.OutputLoss:   tensor.FromFloat64([]int{1}, []float64{bwd.Loss}),
			pluginapi.OutputLogits: tensor.FromFloat64(bwd.Logits.Shape, bwd.Logits.Data),
		}
		for name, a := range bwd.Grads {
			bt[pluginapi.GradPrefix+name] = tensor.FromFloat64(a.Shape, a.Data)
		}
		names := Files(m)
		for i, t := range []map[string]tensor.Tensor{wt, in, ft, bt} {
			b, err := tensor.Encode(tensor.File{Metadata: meta, Tensors: t})
			if err != nil {
				return nil, err
			}
			files[names[i]] = b
		}
	}
	files[ManifestName] = manifest(files)
	return files, nil
}

func manifest(files map[string][]byte) []byte {
	var names []string
	for n := range files {
		if n != ManifestName {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), n)
	}
	return b.Bytes()
}

// Write builds the reference files and writes them under dir.
func Write(dir string) error {
	files, err := Build()
	if err != nil {
		return err
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := matrix.WriteFileAtomic(p, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return err
		}
	}
	return nil
}

// readManifest parses dir/MANIFEST into path → hex sum.
func readManifest(dir string) (map[string]string, error) {
	path := filepath.Join(dir, ManifestName)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory of reference tensors (a checkout has them in testdata/reference; write them with `dlcompat gen-reference -o %s`, or name them with --reference)", ErrNoReference, dir, dir)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (regenerate with `dlcompat gen-reference`)", ErrCorrupt, err)
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 || len(fields[0]) != 64 {
			return nil, fmt.Errorf("%s:%d: %w: want \"<sha256>  <path>\"", path, line, ErrCorrupt)
		}
		sums[fields[1]] = fields[0]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w: %v (regenerate with `dlcompat gen-reference`)", path, ErrCorrupt, err)
	}
	return sums, nil
}

// readVerified reads dir/name and checks it against the manifest.
func readVerified(dir, name string, sums map[string]string) ([]byte, error) {
	path := filepath.Join(dir, filepath.FromSlash(name))
	want, ok := sums[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w: not listed in %s", path, ErrCorrupt, ManifestName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("%s: %w: sha256 %s, MANIFEST says %s; restore it from git (git checkout -- %s) or regenerate with `dlcompat gen-reference`", path, ErrCorrupt, got[:12], want[:12], path)
	}
	return b, nil
}

// Golden is one model's reference data, loaded and verified.
type Golden struct {
	Model reference.Model
	// Weights and Inputs are the safetensors bytes sent to plugins as is.
	Weights []byte
	Inputs  []byte
	// Forward holds "logits" and "act.<layer>"; Backward holds "loss",
	// "logits" and "grad.<param>"; all float64.
	Forward  tensor.File
	Backward tensor.File
}

// Load reads and verifies one model's files from dir.
func Load(dir string, m reference.Model) (*Golden, error) {
	sums, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	names := Files(m)
	var raw [4][]byte
	for i, n := range names {
		if raw[i], err = readVerified(dir, n, sums); err != nil {
			return nil, err
		}
	}
	g := &Golden{Model: m, Weights: raw[0], Inputs: raw[1]}
	// The weights and inputs go to the plugins as bytes, but they are
	// decoded here too: a corrupt one is bad input (exit 2) like a
	// corrupt golden file, not an error in every cell.
	for i := range 2 {
		if _, err := tensor.Decode(raw[i]); err != nil {
			return nil, fmt.Errorf("%s: %w: %w", filepath.Join(dir, filepath.FromSlash(names[i])), ErrCorrupt, err)
		}
	}
	if g.Forward, err = tensor.Decode(raw[2]); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", filepath.Join(dir, filepath.FromSlash(names[2])), ErrCorrupt, err)
	}
	if g.Backward, err = tensor.Decode(raw[3]); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", filepath.Join(dir, filepath.FromSlash(names[3])), ErrCorrupt, err)
	}
	return g, nil
}
