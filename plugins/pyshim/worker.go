package pyshim

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/core/pluginapi"
)

//go:embed worker/dlcompat_worker.py
var librarySource string

// LibraryModule is the name under which the shared worker library is
// importable inside the worker.
const LibraryModule = "dlcompat_worker"

// LibrarySource returns the shared worker library's source.
func LibrarySource() string { return librarySource }

// bootstrap is passed with -c. It keeps the real stdout for frames, points
// fd 1 at stderr, reads the modules from the first message (uint32 LE
// length + JSON), registers their sources with linecache (so tracebacks
// show the lines) and calls main(proto_out) of the last one.
const bootstrap = `import json,linecache,os,struct,sys,types
o=os.fdopen(os.dup(1),'wb');os.dup2(2,1);sys.stdout=sys.stderr
r=sys.stdin.buffer;h=r.read(4)
if len(h)<4:sys.exit('dlcompat-worker: no modules on stdin')
d=json.loads(r.read(struct.unpack('<I',h)[0]).decode('utf-8'))
for k,s in d['modules']:
 f=k+'.py';linecache.cache[f]=(len(s),None,s.splitlines(True),f);m=types.ModuleType(k);m.__file__=f;sys.modules[k]=m;exec(compile(s,f,'exec'),m.__dict__)
sys.modules[d['modules'][-1][0]].main(o)
`

// rawStderr is the plugin's own stderr as it was before go-plugin's Serve
// replaced os.Stderr: the host reads it directly, so the worker's lines
// reach the cell's stderr tail even when the plugin dies right after.
var rawStderr io.Writer = os.Stderr

// The worker's frames. Each header is an envelope declared here (the
// frame's type and blob lengths, and in the hello the interpreter's facts)
// around one payload that framework.proto declares: the hello's
// "describe" is a DescribeResponse, the result's "response" a RunResponse,
// both in proto JSON with the schema's field names. Both layers are
// decoded strictly, so a key that neither declares is an error, never a
// field silently dropped (TestWorkerKeysAreInTheSchema walks every key the
// worker library emits). workerProtocol is the library's PROTOCOL.
const workerProtocol = 2

// hello is the worker's first frame.
type hello struct {
	Type       string `json:"type"`
	Protocol   int    `json:"protocol"`
	Python     string `json:"python"`
	Executable string `json:"executable"`
	Numpy      string `json:"numpy"`
	OK         bool   `json:"ok"`
	Error      string `json:"error"`   // why the framework did not import
	Missing    bool   `json:"missing"` // it is not installed at all
	// RawDescribe is the framework's describe(), a DescribeResponse with
	// what the framework knows of itself (framework, version, build,
	// devices, warnings); Plugin.Describe fills the rest. Describe is
	// RawDescribe decoded.
	RawDescribe json.RawMessage            `json:"describe,omitempty"`
	Describe    pluginapi.DescribeResponse `json:"-"`
	Blobs       []int64                    `json:"blobs"` // none; read by readFrame
}

// UnmarshalJSON decodes a hello strictly. A frame of another type is left
// for startWorker to report.
func (h *hello) UnmarshalJSON(b []byte) error {
	var t struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &t); err != nil || t.Type != "hello" {
		h.Type = t.Type
		return err
	}
	type plain hello
	if err := decodeStrict(b, (*plain)(h)); err != nil {
		return fmt.Errorf("%w: the worker's hello: %v", pluginapi.ErrSchema, err)
	}
	if len(h.RawDescribe) == 0 {
		return nil
	}
	d, err := pluginapi.DescribeResponseFromJSON(h.RawDescribe)
	if err != nil {
		return fmt.Errorf("the framework's describe(): %w", err)
	}
	h.Describe = d
	return nil
}

// result is the worker's answer to a run request. Outputs travel as the
// frame's one blob, not in Response.
type result struct {
	pluginapi.RunResponse
}

// resultFrame is the envelope of a result.
type resultFrame struct {
	Type     string          `json:"type"`
	Response json.RawMessage `json:"response"`
	Blobs    []int64         `json:"blobs"` // read by readFrame
}

// UnmarshalJSON decodes a result strictly.
func (r *result) UnmarshalJSON(b []byte) error {
	var env resultFrame
	if err := decodeStrict(b, &env); err != nil {
		return fmt.Errorf("%w: the worker's result: %v", pluginapi.ErrSchema, err)
	}
	if env.Type != "result" {
		return fmt.Errorf("%w: a frame of type %q where a result was due", pluginapi.ErrSchema, env.Type)
	}
	resp, err := pluginapi.RunResponseFromJSON(env.Response)
	if err != nil {
		return fmt.Errorf("the worker's result: %w", err)
	}
	r.RunResponse = resp
	return nil
}

// decodeStrict is json.Unmarshal that rejects a key v does not declare.
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// worker is one running interpreter.
type worker struct {
	argv   []string
	cmd    *osexec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *pluginapi.Tail
	exited chan struct{} // closed once the process has been waited for
	err    error         // the exit status, valid after exited
	hello  hello
}

// startWorker starts argv with the bootstrap, sends it the modules and
// reads its hello. A worker that dies or talks nonsense before its hello
// is an error that carries its last lines.
func startWorker(ctx context.Context, argv []string, env []string, modules [][2]string) (*worker, error) {
	args := append(append([]string{}, argv[1:]...), "-u", "-c", bootstrap)
	cmd := osexec.Command(argv[0], args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr()
	w := &worker{argv: argv, cmd: cmd, stderr: pluginapi.NewTail(16 << 10), exited: make(chan struct{})}
	cmd.Stderr = io.MultiWriter(rawStderr, w.stderr)
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", strings.Join(argv, " "), err)
	}
	w.stdin, w.stdout = stdin, bufio.NewReaderSize(stdout, 1<<20)
	go func() {
		w.err = cmd.Wait()
		close(w.exited)
	}()
	first, _ := json.Marshal(map[string]any{"modules": modules})
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(first)))
	if _, err := w.stdin.Write(append(n[:], first...)); err != nil {
		return nil, w.fail("sending the worker its code", err)
	}
	var h hello
	if _, err := w.call(ctx, nil, &h); err != nil {
		return nil, w.fail("starting the worker", err)
	}
	if h.Type != "hello" {
		return nil, w.fail("starting the worker", fmt.Errorf("first frame is %q, not hello", h.Type))
	}
	if h.Protocol != workerProtocol {
		return nil, w.fail("starting the worker", fmt.Errorf("its library speaks protocol %d, this plugin %d", h.Protocol, workerProtocol))
	}
	w.hello = h
	return w, nil
}

// call sends a request (when req is not nil) and reads one frame into
// resp. On ctx's end the worker is killed, which unblocks the read.
func (w *worker) call(ctx context.Context, req map[string]any, resp any, blobs ...[]byte) ([][]byte, error) {
	type res struct {
		blobs [][]byte
		err   error
	}
	ch := make(chan res, 1)
	go func() {
		if req != nil {
			if err := writeFrame(w.stdin, req, blobs...); err != nil {
				ch <- res{nil, fmt.Errorf("writing the request: %w", err)}
				return
			}
		}
		b, err := readFrame(w.stdout, resp)
		ch <- res{b, err}
	}()
	select {
	case r := <-ch:
		return r.blobs, r.err
	case <-ctx.Done():
		w.kill()
		return nil, ctx.Err()
	}
}

// fail kills the worker and wraps err with what the worker said last.
func (w *worker) fail(doing string, err error) error {
	if errors.Is(err, errGarbage) || errors.Is(err, pluginapi.ErrSchema) {
		// Give what it writes to stderr around the garbage a moment to
		// arrive: it is the best clue to what went wrong.
		select {
		case <-w.exited:
		case <-time.After(250 * time.Millisecond):
		}
	} else {
		// A read that hit end of input: the worker is exiting; let it, so
		// that its exit status and last lines are complete.
		select {
		case <-w.exited:
		case <-time.After(3 * time.Second):
		}
	}
	w.kill()
	var what string
	select {
	case <-w.exited:
		what = "exited"
		if w.err != nil {
			what = "exited (" + w.err.Error() + ")"
		}
	default:
		what = "was killed"
	}
	switch {
	case errors.Is(err, errGarbage):
		what = "wrote garbage and " + what
	case errors.Is(err, pluginapi.ErrSchema):
		what = "answered outside the schema and " + what
	}
	msg := fmt.Sprintf("%s: the python worker (%s) %s: %v", doing, strings.Join(w.argv, " "), what, err)
	if t := pluginapi.LastLines(w.stderr.String(), 20); t != "" {
		msg += "\nits last lines:\n" + t
	} else {
		msg += "\n(it wrote nothing to stderr)"
	}
	return errors.New(msg)
}

// kill ends the worker now and waits (briefly) for it to be reaped.
func (w *worker) kill() {
	if w.cmd.Process != nil {
		_ = w.cmd.Process.Kill()
	}
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
	}
}

// close ends a healthy worker: end of input makes it return.
func (w *worker) close() {
	_ = w.stdin.Close()
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		w.kill()
	}
}

func (w *worker) alive() bool {
	select {
	case <-w.exited:
		return false
	default:
		return true
	}
}
