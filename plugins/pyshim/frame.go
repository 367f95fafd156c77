package pyshim

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dlcompat/dlcompat/core/pluginapi"
)

// frameMagic starts every frame, so that anything else on the worker's
// stdout is recognised as garbage at once rather than misread as a length.
var frameMagic = [4]byte{'D', 'L', 'C', 'W'}

// Limits that keep a corrupted stream from allocating gigabytes.
const (
	maxHeaderBytes = 16 << 20
	maxBlobBytes   = 1 << 30
)

// errGarbage marks a stream that does not hold frames.
var errGarbage = errors.New("not a protocol frame")

// garbageError carries what was read instead of a frame.
type garbageError struct{ got []byte }

func (e garbageError) Error() string {
	return fmt.Sprintf("%v: the worker wrote %q to its stdout", errGarbage, e.got)
}
func (e garbageError) Unwrap() error { return errGarbage }

// writeFrame writes header (with its "blobs" lengths set) and the blobs.
func writeFrame(w io.Writer, header map[string]any, blobs ...[]byte) error {
	lens := make([]int, len(blobs))
	for i, b := range blobs {
		lens[i] = len(b)
	}
	header["blobs"] = lens
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	buf := make([]byte, 8, 8+len(h))
	copy(buf, frameMagic[:])
	binary.LittleEndian.PutUint32(buf[4:], uint32(len(h)))
	if _, err := w.Write(append(buf, h...)); err != nil {
		return err
	}
	for _, b := range blobs {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// readFrame reads one frame, decoding its JSON header into header.
func readFrame(r io.Reader, header any) ([][]byte, error) {
	var head [8]byte
	n, err := io.ReadFull(r, head[:])
	if err != nil {
		if n > 0 && !bytesEqual(head[:min(n, 4)], frameMagic[:min(n, 4)]) {
			return nil, garbageError{append(head[:n:n], readSome(r)...)}
		}
		return nil, err
	}
	if !bytesEqual(head[:4], frameMagic[:]) {
		return nil, garbageError{append(head[:], readSome(r)...)}
	}
	hl := binary.LittleEndian.Uint32(head[4:])
	if hl > maxHeaderBytes {
		return nil, fmt.Errorf("%w: header of %d bytes", errGarbage, hl)
	}
	hb, err := io.ReadAll(io.LimitReader(r, int64(hl)))
	if err == nil && len(hb) < int(hl) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, fmt.Errorf("reading a %d-byte header: %w", hl, err)
	}
	var meta struct {
		Blobs []int64 `json:"blobs"`
	}
	if err := json.Unmarshal(hb, &meta); err != nil {
		return nil, fmt.Errorf("%w: header %q: %v", errGarbage, truncate(hb, 200), err)
	}
	if err := json.Unmarshal(hb, header); err != nil {
		if errors.Is(err, pluginapi.ErrSchema) {
			// A frame, but not a response the schema describes.
			return nil, fmt.Errorf("%w\nthe header: %s", err, truncate(hb, 400))
		}
		return nil, fmt.Errorf("%w: header %q: %v", errGarbage, truncate(hb, 200), err)
	}
	blobs := make([][]byte, len(meta.Blobs))
	for i, l := range meta.Blobs {
		if l < 0 || l > maxBlobBytes {
			return nil, fmt.Errorf("%w: blob of %d bytes", errGarbage, l)
		}
		// Read as it arrives rather than allocate what the header claims:
		// a short, broken stream must not cost a gigabyte.
		b, err := io.ReadAll(io.LimitReader(r, l))
		if err == nil && int64(len(b)) < l {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, fmt.Errorf("reading a %d-byte blob: %w", l, err)
		}
		blobs[i] = b
	}
	return blobs, nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// readSome returns what else is readable right away (up to 200 bytes), so
// a garbage report shows more than the first 8 bytes. It may block until
// the worker writes more or exits; the worker is killed right after.
func readSome(r io.Reader) []byte {
	buf := make([]byte, 200)
	type res struct{ n int }
	ch := make(chan res, 1)
	go func() {
		n, _ := r.Read(buf)
		ch <- res{n}
	}()
	select {
	case got := <-ch:
		return buf[:got.n]
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
