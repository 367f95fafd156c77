package pyshim

import (
	"bufio"
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

// hello is the worker's first frame.
type hello struct {
	Type       string `json:"type"`
	Protocol   int    `json:"protocol"`
	Python     string `json:"python"`
	Executable string `json:"executable"`
	Numpy      string `json:"numpy"`
	OK         bool   `json:"ok"`
	Error      string `json:"error"`
	Missing    bool   `json:"missing"`
	Describe   struct {
		Framework string            `json:"framework"`
		Version   string            `json:"version"`
		Build     map[string]string `json:"build"`
		Devices   []struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
			Name string `json:"name"`
			UUID string `json:"uuid"`
		} `json:"devices"`
		Warnings []string `json:"warnings"`
	} `json:"describe"`
}

// result is the worker's answer to a run request.
type result struct {
	Type            string   `json:"type"`
	Status          string   `json:"status"`
	Message         string   `json:"message"`
	PeakMemoryBytes int64    `json:"peak_memory_bytes"`
	MemoryKind      string   `json:"memory_kind"`
	Warnings        []string `json:"warnings"`
	ComputeSeconds  float64  `json:"compute_seconds"`
	Timings         []struct {
		Name    string    `json:"name"`
		Unit    string    `json:"unit"`
		Batch   int       `json:"batch"`
		Samples []float64 `json:"samples"`
	} `json:"timings"`
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
	if errors.Is(err, errGarbage) {
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
	if errors.Is(err, errGarbage) {
		what = "wrote garbage and " + what
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
