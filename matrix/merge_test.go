package matrix_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// shardOf is one machine's shard: gpu:0 (its own GPU) and the frameworks
// given.
func shardOf(k, n int, host string, gpu matrix.Device, frameworks ...string) *matrix.Run {
	s := matrixtest.Spec{ID: "run-" + host, Host: host, Seed: uint64(k), Devices: []matrix.Device{gpu}}
	for _, f := range frameworks {
		s.Frameworks = append(s.Frameworks, [2]string{f, "1.0"})
	}
	r := s.Run()
	r.Shard = (matrix.Shard{K: k, N: n}).String()
	return r
}

func TestMergeJoinsShardsOfSeveralMachines(t *testing.T) {
	g := matrixtest.A100(0, "550.54.15")
	other := matrixtest.A100(0, "550.54.15")
	other.UUID = "GPU-other-machine"
	a := shardOf(2, 2, "node-b", other, "pytorch")
	b := shardOf(1, 2, "node-a", g, "tensorflow", "keras")
	m, err := matrix.Merge([]matrix.MergeInput{{"b.json", a}, {"a.json", b}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Cells) != len(a.Cells)+len(b.Cells) {
		t.Fatalf("%d cells, want %d", len(m.Cells), len(a.Cells)+len(b.Cells))
	}
	// Ordered by shard: 1/2 first.
	if m.Shards[0].Shard != "1/2" || m.Shards[1].File != "b.json" || m.Shard != "" {
		t.Errorf("shards %+v", m.Shards)
	}
	// Both machines call their GPU gpu:0: the second becomes gpu:0@node-b.
	if len(m.Devices) != 2 || m.Devices[0].ID != "gpu:0" || m.Devices[1].ID != "gpu:0@node-b" {
		t.Fatalf("devices %+v", m.Devices)
	}
	for _, c := range m.Cells {
		want := "gpu:0"
		if c.Framework == "pytorch" {
			want = "gpu:0@node-b"
		}
		if c.Device != want {
			t.Errorf("%s on %s, want %s", c.Framework, c.Device, want)
		}
	}
	if !strings.Contains(m.Host.Hostname, "node-a") || !strings.Contains(m.Host.Hostname, "node-b") || !strings.HasPrefix(m.RunID, "merged-") {
		t.Errorf("host %q, run id %q", m.Host.Hostname, m.RunID)
	}
	if len(m.Notes) != 0 {
		t.Errorf("notes %q", m.Notes)
	}
	// The same GPU in two shards (fewer devices than shards, one machine)
	// stays one device.
	c := shardOf(1, 2, "node-a", g, "caffe")
	m2, err := matrix.Merge([]matrix.MergeInput{{"a.json", b}, {"c.json", withShard(c, "2/2")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.Devices) != 1 {
		t.Errorf("one GPU seen by two shards became %d devices", len(m2.Devices))
	}
}

func withShard(r *matrix.Run, s string) *matrix.Run { r.Shard = s; return r }

func TestMergeRefusesOverlapsAndNotesGaps(t *testing.T) {
	g := matrixtest.A100(0, "550.54.15")
	a := shardOf(1, 3, "node-a", g, "pytorch")
	b := shardOf(2, 3, "node-a", g, "pytorch")
	_, err := matrix.Merge([]matrix.MergeInput{{"a.json", a}, {"b.json", b}})
	if !errors.Is(err, matrix.ErrOverlap) || !strings.Contains(err.Error(), "a.json and b.json both hold the cell pytorch 1.0 × gpu:0") {
		t.Errorf("overlapping cells: %v", err)
	}
	_, err = matrix.Merge([]matrix.MergeInput{{"a.json", a}, {"a-again.json", shardOf(1, 3, "node-a", g, "keras")}})
	if !errors.Is(err, matrix.ErrOverlap) || !strings.Contains(err.Error(), "both shard 1/3") {
		t.Errorf("same shard twice: %v", err)
	}
	c := shardOf(3, 3, "node-c", matrixtest.A100(0, "x"), "keras")
	c.ConfigHash = "another"
	m, err := matrix.Merge([]matrix.MergeInput{{"a.json", a}, {"c.json", c}})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(m.Notes, "\n")
	if !strings.Contains(notes, "shards missing from the merge: 2/3") || !strings.Contains(notes, "2 different configurations") {
		t.Errorf("notes:\n%s", notes)
	}
}

func TestReadShardsRefusesMixedSchemas(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.json")
	f, _ := os.Create(good)
	matrix.WriteJSON(f, shardOf(1, 2, "node-a", matrixtest.A100(0, "1"), "pytorch"))
	f.Close()
	future := filepath.Join(dir, "b.json")
	os.WriteFile(future, []byte(`{"schema_version": 2, "cells": []}`), 0o644)
	_, err := matrix.ReadShards([]string{good, future})
	if !errors.Is(err, matrix.ErrMixedSchema) || !strings.Contains(err.Error(), "a.json has schema_version 1") || !strings.Contains(err.Error(), "b.json has schema_version 2") {
		t.Errorf("mixed schemas: %v", err)
	}
	ins, err := matrix.ReadShards([]string{good})
	if err != nil || len(ins) != 1 || len(ins[0].Run.Cells) != 8 {
		t.Errorf("one good file: %v", err)
	}
	notJSON := filepath.Join(dir, "c.json")
	os.WriteFile(notJSON, []byte("hello"), 0o644)
	if _, err := matrix.ReadShards([]string{good, notJSON}); !errors.Is(err, matrix.ErrSchema) || !strings.Contains(err.Error(), "c.json") {
		t.Errorf("not JSON: %v", err)
	}
}
