package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/dlcompat/dlcompat/matrix"
)

var mergeCmd = command{
	name:  "merge",
	short: "join the results of shards (run --shard k/n) into one results file",
	usage: `Usage: dlcompat merge A.json B.json … -o ALL.json

Joins the run.json files of the shards of a fanned-out run (dlcompat run
--shard k/n on several machines, a CI job matrix, a Kubernetes Indexed
Job) into one results document that report and diff read like any other.

It refuses, with exit 2 and the files named: files written with
different result schema versions (rerun with one dlcompat release), and
two files holding the same cell (overlapping shards, or one shard given
twice). A device ID that two machines both use (each has a gpu:0) stays
two devices: the later one becomes gpu:0@HOSTNAME. Shards missing from
1…n, and shards run with different configurations, become notes.

The exit code follows the merged cells, as for run: 1 when any did not
pass.

Examples:
  dlcompat run --shard 1/2 -o results/shard-1
  dlcompat run --shard 2/2 -o results/shard-2
  dlcompat merge results/shard-1/run.json results/shard-2/run.json -o results/all.json
  dlcompat report results/all.json --format md
`,
	run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
		out := fs.String("o", "", "write the merged document to FILE (required)")
		pos, err := parse(fs, args)
		if err != nil {
			return err
		}
		if *out == "" {
			return usagef("merge needs -o FILE for the merged document")
		}
		if len(pos) == 0 {
			return usagef("merge takes the shards' results files, got none")
		}
		if err := checkOutFile(*out, "all.json"); err != nil {
			return err
		}
		if st, err := os.Stat(*out); err == nil {
			for _, in := range pos {
				if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
					return usagef("-o %s is one of the files being merged; write the merged document elsewhere", *out)
				}
			}
		}
		inputs, err := matrix.ReadShards(pos)
		if err != nil {
			return usageError{err}
		}
		merged, err := matrix.Merge(inputs)
		if err != nil {
			return usageError{err}
		}
		if err := matrix.WriteFileAtomic(*out, func(w io.Writer) error { return matrix.WriteJSON(w, merged) }); err != nil {
			return infraError{err}
		}
		fmt.Fprintf(e.stdout, "merged %s into %s: %s\n", matrix.Plural(len(inputs), "file"), *out, merged.Summary())
		for i, n := range merged.Notes {
			if i == 10 {
				fmt.Fprintf(e.stdout, "  … %d more notes in %s\n", len(merged.Notes)-i, *out)
				break
			}
			fmt.Fprintln(e.stdout, "  note: "+n)
		}
		if merged.Failed() {
			return errCellsFailed
		}
		return nil
	},
}
