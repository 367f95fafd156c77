package pyshim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// tapped is the fake plugin in mode on py, behind a wrapper interpreter
// that copies every byte the worker writes to its protocol stream into
// the file tap: the frames exactly as the library emitted them.
func tapped(t *testing.T, mode, py string) (p *Plugin, tap string) {
	t.Helper()
	dir := t.TempDir()
	tap = filepath.Join(dir, "frames")
	wrapper := filepath.Join(dir, "python")
	// exec: the interpreter stays the plugin's child, so killing it is
	// killing Python; -a: a worker restarted after a crash appends.
	script := fmt.Sprintf("#!/bin/bash\nexec '%s' \"$@\" > >(tee -a '%s')\n", py, tap)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return fakeOn(t, mode, wrapper), tap
}

// exerciseModes runs the fake plugin on py over the gRPC adapter in the
// modes that reach every frame and field the worker library writes: a
// healthy worker through every check (and a check it does not know), one
// whose check raises, and one whose framework is missing or broken. It
// returns the responses as they travel and the frames the worker wrote.
func exerciseModes(t *testing.T, py string) (msgs []proto.Message, frames []json.RawMessage) {
	t.Helper()
	for _, mode := range []string{"ok", "raise", "missing", "broken"} {
		p, tap := tapped(t, mode, py)
		msgs = append(msgs, plugintest.Exercise(t, plugintest.Wire(t, p))...)
		p.Close() // the worker exits, so the tap is complete
		frames = append(frames, readTap(t, tap)...)
	}
	return msgs, frames
}

// readTap returns the headers of the frames in the file tap.
func readTap(t *testing.T, tap string) []json.RawMessage {
	t.Helper()
	f, err := os.Open(tap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var out []json.RawMessage
	for {
		var h json.RawMessage
		if _, err := readFrame(r, &h); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s, frame %d: %v", tap, len(out), err)
		}
		out = append(out, h)
	}
}

// envelopeKeys are the JSON keys that the Go type of a frame's envelope
// declares.
func envelopeKeys(v any) map[string]bool {
	keys := map[string]bool{}
	rt := reflect.TypeOf(v)
	for i := 0; i < rt.NumField(); i++ {
		if name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
}

// schemaProblems lists every key of frames that neither the envelope
// (worker.go) nor framework.proto declares, with its path.
func schemaProblems(frames []json.RawMessage) []string {
	var out []string
	for i, raw := range frames {
		var obj map[string]json.RawMessage
		var typ string
		if err := json.Unmarshal(raw, &obj); err == nil {
			_ = json.Unmarshal(obj["type"], &typ)
		}
		where := fmt.Sprintf("frame %d (%s)", i, typ)
		var envelope map[string]bool
		var payload string
		switch typ {
		case "hello":
			envelope, payload = envelopeKeys(hello{}), "describe"
			if d, ok := obj[payload]; ok {
				out = append(out, plugintest.UnknownKeys(plugintest.DescribeResponseDesc, d, where+"."+payload)...)
			}
		case "result":
			envelope, payload = envelopeKeys(resultFrame{}), "response"
			if r, ok := obj[payload]; ok {
				out = append(out, plugintest.UnknownKeys(plugintest.RunResponseDesc, r, where+"."+payload)...)
			} else {
				out = append(out, where+": no response")
			}
		default:
			out = append(out, fmt.Sprintf("%s: a frame type the Go side does not read: %s", where, raw))
			continue
		}
		for k := range obj {
			if !envelope[k] {
				out = append(out, fmt.Sprintf("%s.%s: neither the envelope (worker.go) nor framework.proto declares it", where, k))
			}
		}
	}
	return out
}

// TestWorkerKeysAreInTheSchema runs the worker library on every Python
// that set-up provides and compares every key of every frame it writes
// with the schema: the envelope's keys with worker.go's frame types, the
// payloads' keys (at any depth) with framework.proto's DescribeResponse
// and RunResponse. The Go side rejects such a key too (it decodes
// strictly); this test names each one, on each Python.
func TestWorkerKeysAreInTheSchema(t *testing.T) {
	pys := map[string]string{"default": python(t)}
	dir := os.Getenv("DLCOMPAT_PYVERS_DIR")
	if dir == "" {
		dir = "/opt/dlcompat"
	}
	for _, v := range pythonVersions {
		// TestWorkerOnEveryPython insists that each one set-up could make
		// is there; here the ones present are enough.
		if py := filepath.Join(dir, "venv-py"+v, "bin", "python3"); fileExists(py) {
			pys[v] = py
		}
	}
	for name, py := range pys {
		t.Run(name, func(t *testing.T) {
			_, frames := exerciseModes(t, py)
			// ok: hello + 5 results; raise: hello + 5; missing, broken: hello.
			if len(frames) != 14 {
				t.Errorf("%d frames, want 14", len(frames))
			}
			for _, p := range schemaProblems(frames) {
				t.Error(p)
			}
		})
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestSchemaCatchesAnUnknownKey shows that both checks bite: a key that
// framework.proto lacks, deep inside a payload or in the envelope, is
// named by the test's walk and refused by the Go side's decoder.
func TestSchemaCatchesAnUnknownKey(t *testing.T) {
	for _, tc := range []struct {
		desc, frame, want string
	}{
		{"a RunResponse key", `{"type":"result","blobs":[],"response":{"status":"ok","peak_memory":1}}`, `response.peak_memory`},
		{"a Timing key", `{"type":"result","blobs":[],"response":{"status":"ok","timings":[{"name":"latency","batch_size":1}]}}`, `timings[0].batch_size`},
		{"a Device key", `{"type":"hello","protocol":2,"ok":true,"blobs":[],"describe":{"devices":[{"id":"cpu","memory":1}]}}`, `devices[0].memory`},
		{"an envelope key", `{"type":"hello","protocol":2,"ok":true,"blobs":[],"pid":7}`, `.pid`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			problems := strings.Join(schemaProblems([]json.RawMessage{json.RawMessage(tc.frame)}), "\n")
			if !strings.Contains(problems, tc.want) {
				t.Errorf("the walk missed %s: %q", tc.want, problems)
			}
			var err error
			if strings.Contains(tc.frame, `"hello"`) {
				err = json.Unmarshal([]byte(tc.frame), &hello{})
			} else {
				err = json.Unmarshal([]byte(tc.frame), &result{})
			}
			if !errors.Is(err, pluginapi.ErrSchema) {
				t.Errorf("the decoder took it: %v", err)
			}
		})
	}
}

// TestPythonKitFillsEveryResponseField runs the fake plugin (the real
// worker library and this package's Go side) over the gRPC adapter and
// fails on a field of the response schema that no response set: a field
// the proto declares and the Python kit never fills is a schema nobody
// keeps. Nothing is exempt: the fake fills what a framework fills (a
// device's uuid, warnings), and the missing mode makes Unavailable.
func TestPythonKitFillsEveryResponseField(t *testing.T) {
	msgs, _ := exerciseModes(t, python(t))
	for _, p := range plugintest.Unfilled(msgs, nil) {
		t.Error(p)
	}
}
