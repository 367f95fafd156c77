package matrix

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Errors of Merge. Both are bad input (exit 2).
var (
	// ErrMixedSchema: the inputs were written by dlcompat releases with
	// different result schemas.
	ErrMixedSchema = errors.New("mixed schema versions")
	// ErrOverlap: two inputs hold the same cell, so they are not disjoint
	// shards of one run.
	ErrOverlap = errors.New("overlapping shards")
)

// MergeInput is one document to merge and the name used in messages.
type MergeInput struct {
	Name string
	Run  *Run
}

// ReadShards reads the documents to merge, several at a time. It refuses
// a set whose schema versions differ before decoding any of them, naming
// a file of each version, and any file this build cannot read. It holds
// the decoded shards, never their bytes: the versions come from the head
// of each file, and each is read a window at a time (Read).
func ReadShards(paths []string) ([]MergeInput, error) {
	versions := make([]int, len(paths))
	errs := make([]error, len(paths))
	parallel(len(paths), func(i int) { versions[i], errs[i] = probeSchemaVersion(paths[i]) })
	byVersion := map[int]string{}
	var seen []int
	for i, v := range versions {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if v < 0 {
			continue
		}
		if _, ok := byVersion[v]; !ok {
			byVersion[v] = paths[i]
			seen = append(seen, v)
		}
	}
	if len(seen) > 1 {
		sort.Ints(seen)
		var parts []string
		for _, v := range seen {
			parts = append(parts, fmt.Sprintf("%s has schema_version %d", byVersion[v], v))
		}
		return nil, fmt.Errorf("%w: %s; run every shard with the same dlcompat release (this one writes %d)", ErrMixedSchema, strings.Join(parts, ", "), SchemaVersion)
	}
	out := make([]MergeInput, len(paths))
	parallel(len(paths), func(i int) {
		r, err := Read(paths[i])
		out[i], errs[i] = MergeInput{Name: paths[i], Run: r}, err
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// probeSchemaVersion reads the schema_version from the head of a file
// (dlcompat writes it first); -1 when the head has none.
func probeSchemaVersion(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	head, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return 0, err
	}
	return schemaVersionOf(head), nil
}

// parallel runs fn(0 … n-1) on GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Merge joins the results of shards into one run.
//
//   - Every input must have this build's schema version (ErrSchema
//     otherwise; ReadShards reports a mixed set as ErrMixedSchema).
//   - No cell may appear in two inputs (ErrOverlap, naming both).
//   - Devices are joined by identity: a GPU by its UUID, the CPU by its
//     host. When two shards use one ID for different devices (gpu:0 of
//     two machines), the later one is renamed ID@hostname, in its cells
//     too, so that both stay in the matrix.
//   - Inputs that carry a shard label ("k/n") are ordered by k; shards
//     missing from 1 … n, or configurations that differ, become notes.
func Merge(inputs []MergeInput) (*Run, error) {
	if len(inputs) == 0 {
		return nil, fmt.Errorf("%w: nothing to merge", ErrSchema)
	}
	for _, in := range inputs {
		if in.Run.SchemaVersion != SchemaVersion {
			return nil, fmt.Errorf("%s: %w: schema_version %d, this dlcompat reads %d", in.Name, ErrSchema, in.Run.SchemaVersion, SchemaVersion)
		}
	}
	ins := append([]MergeInput(nil), inputs...)
	sort.SliceStable(ins, func(i, j int) bool {
		si, erri := ParseShard(ins[i].Run.Shard)
		sj, errj := ParseShard(ins[j].Run.Shard)
		return erri == nil && errj == nil && si.K < sj.K
	})

	first := ins[0].Run
	out := &Run{
		SchemaVersion: SchemaVersion, Started: first.Started, Finished: first.Finished, Host: first.Host,
		DlcompatVersion: first.DlcompatVersion, Config: first.Config, ConfigHash: first.ConfigHash,
	}
	total := 0
	for _, in := range ins {
		total += len(in.Run.Cells)
	}
	out.Cells = make([]Cell, 0, total)

	owner := make(map[CellKey]int, total) // cell → input index
	devIndex := map[string]int{}          // merged device ID → index in out.Devices
	devHost := map[string]string{}        // merged device ID → host of its shard
	suffix := map[string]int{}            // "ID@host" → the next #N to try
	hosts, versions := newUniq(), newUniq()
	configs := map[string]string{} // config hash → first file
	shardLabels := map[string]string{}
	frameworks := map[string]bool{}
	deviceNotes := map[string]bool{}
	var ids []string
	n := 0
	for idx, in := range ins {
		r := in.Run
		ids = append(ids, r.RunID)
		hosts.add(r.Host.Hostname)
		versions.add(r.DlcompatVersion)
		if _, ok := configs[r.ConfigHash]; !ok {
			configs[r.ConfigHash] = in.Name
		}
		if r.Shard != "" {
			if prev, ok := shardLabels[r.Shard]; ok {
				return nil, fmt.Errorf("%w: %s and %s are both shard %s; merge each fanned-out run's shards once (merge separate runs' merged files instead)", ErrOverlap, prev, in.Name, r.Shard)
			}
			shardLabels[r.Shard] = in.Name
			if sh, err := ParseShard(r.Shard); err == nil {
				n = max(n, sh.N)
			}
		}
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		if r.Finished.After(out.Finished) {
			out.Finished = r.Finished
		}
		rename := map[string]string{}
		for _, d := range r.Devices {
			id := d.ID
			if j, ok := devIndex[id]; ok {
				if sameDevice(out.Devices[j], devHost[id], d, r.Host.Hostname) {
					continue
				}
				id = qualifiedID(d.ID, r.Host.Hostname, devIndex, suffix)
				rename[d.ID] = id
			}
			d.ID = id
			devIndex[id] = len(out.Devices)
			devHost[id] = r.Host.Hostname
			out.Devices = append(out.Devices, d)
		}
		for _, note := range r.DeviceNotes {
			if !deviceNotes[note] {
				deviceNotes[note] = true
				out.DeviceNotes = append(out.DeviceNotes, note)
			}
		}
		for _, f := range r.Frameworks {
			k := f.Name + "\x00" + f.Version + "\x00" + f.Executor + "\x00" + f.Image
			if !frameworks[k] {
				frameworks[k] = true
				out.Frameworks = append(out.Frameworks, f)
			}
		}
		prefix := ""
		if r.Shard != "" {
			prefix = "shard " + r.Shard + ": "
		}
		for _, note := range r.Notes {
			out.Notes = append(out.Notes, prefix+note)
		}
		for _, c := range r.Cells {
			if id, ok := rename[c.Device]; ok {
				c.Device = id
			}
			if prev, ok := owner[c.CellKey]; ok {
				return nil, fmt.Errorf("%w: %s and %s both hold the cell %s; merge the shards of one run, each once", ErrOverlap, ins[prev].Name, in.Name, c.CellKey)
			}
			owner[c.CellKey] = idx
			out.Cells = append(out.Cells, c)
		}
		out.Shards = append(out.Shards, ShardInfo{File: in.Name, RunID: r.RunID, Shard: r.Shard, Hostname: r.Host.Hostname,
			Started: r.Started, Finished: r.Finished, Cells: len(r.Cells)})
	}
	sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	out.RunID = "merged-" + hex.EncodeToString(sum[:6])
	out.Host.Hostname = hosts.String()
	out.DlcompatVersion = versions.String()
	if len(configs) > 1 {
		var files []string
		for _, f := range configs {
			files = append(files, f)
		}
		sort.Strings(files)
		out.Notes = append(out.Notes, fmt.Sprintf("the shards were run with %s (see %s): their cells may not be comparable", Plural(len(configs), "different configuration"), strings.Join(files, ", ")))
		out.ConfigHash = ""
	}
	if n > 0 {
		var missing []string
		for k := 1; k <= n; k++ {
			if label := (Shard{K: k, N: n}).String(); shardLabels[label] == "" {
				missing = append(missing, label)
			}
		}
		if len(missing) > 0 {
			out.Notes = append(out.Notes, "shards missing from the merge: "+strings.Join(missing, ", ")+"; their cells are absent, not passed")
		}
	}
	return out, nil
}

// sameDevice reports whether two shards' devices are one: GPUs by UUID,
// devices without one (the CPU) by host, kind and name.
func sameDevice(a Device, aHost string, b Device, bHost string) bool {
	if a.UUID != "" || b.UUID != "" {
		return a.UUID == b.UUID
	}
	return aHost == bHost && a.Kind == b.Kind && a.Name == b.Name
}

// qualifiedID names a device whose ID another shard's device already
// has: "gpu:0@host", then "gpu:0@host#2" and so on. next remembers, per
// "ID@host", the suffix to try next, so that n devices of one ID on one
// host take linear time, not quadratic.
func qualifiedID(id, host string, taken map[string]int, next map[string]int) string {
	if host == "" {
		host = "shard"
	}
	base := id + "@" + host
	for i := next[base]; ; { // 0: base itself, not yet tried
		q := base
		if i > 0 {
			q += "#" + strconv.Itoa(i)
		}
		i = max(i+1, 2)
		if _, ok := taken[q]; !ok {
			next[base] = i
			return q
		}
	}
}

// uniq collects distinct strings in first-seen order.
type uniq struct {
	seen map[string]bool
	list []string
}

func newUniq() *uniq { return &uniq{seen: map[string]bool{}} }

func (u *uniq) add(s string) {
	if !u.seen[s] {
		u.seen[s] = true
		u.list = append(u.list, s)
	}
}

// String joins up to three values, then says how many more there are.
func (u *uniq) String() string {
	if len(u.list) <= 3 {
		return strings.Join(u.list, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(u.list[:3], ", "), len(u.list)-3)
}

// schemaVersionOf reads a document's top-level schema_version without
// decoding the rest (it comes first in what dlcompat writes); -1 when it
// has none or is not a JSON object, which Decode then explains. b may be
// the head of a document only.
func schemaVersionOf(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return -1
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return -1
		}
		if t == "schema_version" {
			var v int
			if dec.Decode(&v) != nil {
				return -1
			}
			return v
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return -1
		}
	}
	return -1
}
