// Command benchdata writes the documents that scripts/bench-reports.sh
// measures the result tools on, shaped like real runs
// (matrix/internal/matrixtest):
//
//	DIR/shards/shard-NNNN.json  2,000 shards of 100 cells, each a machine with
//	                            its own gpu:0 and CPU (200,000 cells merged)
//	DIR/old.json, DIR/new.json  two 200,000-cell runs (1,000 GPUs × 25
//	                            frameworks × 2 models × 4 checks; fw03 30%
//	                            slower in the new one)
//
// Usage: go run ./matrix/internal/benchdata [-shards 2000] [-gpus 1000] DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchdata:", err)
		os.Exit(1)
	}
}

func run() error {
	shards := flag.Int("shards", 2000, "shard files to write (100 cells each)")
	gpus := flag.Int("gpus", 1000, "GPUs of the two runs to diff (200 cells each)")
	flag.Parse()
	if flag.NArg() != 1 {
		return fmt.Errorf("usage: benchdata [-shards N] [-gpus N] DIR")
	}
	dir := flag.Arg(0)
	if err := os.MkdirAll(filepath.Join(dir, "shards"), 0o755); err != nil {
		return err
	}
	for k := 1; k <= *shards; k++ {
		if err := matrixtest.WriteShard(filepath.Join(dir, "shards", fmt.Sprintf("shard-%04d.json", k)), k, *shards); err != nil {
			return err
		}
	}
	for _, side := range []struct {
		name string
		seed uint64
		slow map[string]float64
	}{{"old", 1, nil}, {"new", 2, map[string]float64{"fw03": 1.3}}} {
		if err := matrixtest.WriteFile(filepath.Join(dir, side.name+".json"), matrixtest.Fleet(side.name, side.seed, 25, *gpus, side.slow)); err != nil {
			return err
		}
	}
	return nil
}
