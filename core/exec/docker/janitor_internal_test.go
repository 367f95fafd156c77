package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	dc "github.com/ory/dockertest/v3/docker"

	"github.com/dlcompat/dlcompat/core/testenv"
)

// A host killed while its create is in flight: the engine finishes the
// create after the janitor's first listing. The janitor's later passes
// remove that container too; a host that closed cleanly gets one pass.
func TestJanitorRemovesALateCreate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := Connect(ctx, "")
	testenv.Need(t, err == nil, fmt.Sprintf("needs a Docker engine: start one with scripts/setup.d/10-docker.sh (as root): %v", err))
	if _, err := pool.Client.InspectImage("dlcompat/gorgonia:scratch"); err != nil {
		testenv.Need(t, false, "needs dlcompat/gorgonia:scratch: run scripts/build-images.sh gorgonia")
	}
	runID := fmt.Sprintf("janitor-%d", time.Now().UnixNano())
	owner := "test-host/1/dead"
	create := func() string {
		c, err := pool.Client.CreateContainer(dc.CreateContainerOptions{
			Config: &dc.Config{Image: "dlcompat/gorgonia:scratch", Entrypoint: []string{"/none"},
				Labels: map[string]string{LabelRun: runID, LabelOwner: owner}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: c.ID, Force: true}) })
		return c.ID
	}
	left := func() int {
		cs, err := pool.Client.ListContainers(dc.ListContainersOptions{All: true,
			Filters: map[string][]string{"label": {LabelRun + "=" + runID}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	dir, err := os.MkdirTemp("", runDirPrefix+"janitor-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)

	create()
	j, err := startJanitor(janitorConfig{RunID: runID, Owner: owner, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	j.pipe.Close() // the host died: no cleanExit
	// The first pass removes the first container; then the late create.
	deadline := time.Now().Add(janitorSettle)
	for left() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left() != 0 {
		t.Fatalf("the janitor's first pass left the container of its dead host")
	}
	create()
	select {
	case <-j.done:
	case <-time.After(time.Minute):
		t.Fatal("the janitor did not exit")
	}
	if n := left(); n != 0 {
		t.Errorf("%d containers created after the janitor's first pass are left", n)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the socket directory %s is left: %v", filepath.Base(dir), err)
	}

	// A clean close: one pass, and the janitor is gone when release returns.
	dir2, err := os.MkdirTemp("", runDirPrefix+"janitor-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir2)
	j, err = startJanitor(janitorConfig{RunID: runID, Owner: owner, Dir: dir2})
	if err != nil {
		t.Fatal(err)
	}
	j.release()
	select {
	case <-j.done:
	default:
		t.Error("a cleanly released janitor still runs")
	}
}
