package matrix_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// TestCodecRoundTrip: what WriteJSON writes, Read gives back exactly,
// as json.Unmarshal does; and documents of any JSON layout read the same.
func TestCodecRoundTrip(t *testing.T) {
	r := matrixtest.Hostile() // strings with quotes, brackets, braces, escapes
	r.Cells[0].Reason = `a "quoted" [bracket] {brace} \ backslash , comma "cells": null`
	r.Cells[1].MaxRelErr = matrix.F(math.Inf(1)) // survives as "Infinity"
	r.Config = json.RawMessage(`{"cells": null, "nested": {"cells": [1, 2]}}`)
	var b bytes.Buffer
	if err := matrix.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n    {\"framework\""); n != len(r.Cells) {
		t.Errorf("%d cell lines, want one per cell (%d)", n, len(r.Cells))
	}
	got, err := matrix.Decode("written", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var plain matrix.Run
	if err := json.Unmarshal(b.Bytes(), &plain); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &plain) {
		t.Error("Decode and json.Unmarshal differ")
	}
	indented, _ := json.MarshalIndent(r, "", "\t")
	for desc, doc := range map[string][]byte{"fully indented": indented, "compact": mustMarshal(t, r)} {
		got, err := matrix.Decode(desc, doc)
		if err == nil {
			got.Config = plain.Config // raw JSON: the same value, laid out otherwise
		}
		if err != nil || !reflect.DeepEqual(got, &plain) {
			t.Errorf("%s: %v", desc, err)
		}
	}
	empty := &matrix.Run{SchemaVersion: matrix.SchemaVersion, RunID: "empty", Started: matrixtest.Start} // a shard with no cells
	b.Reset()
	matrix.WriteJSON(&b, empty)
	if got, err := matrix.Decode("empty", b.Bytes()); err != nil || got.RunID != "empty" || len(got.Cells) != 0 {
		t.Errorf("empty run: %v %+v", err, got)
	}
	// Shapes that are not JSON, or not a run document's.
	for _, doc := range []string{
		`{"schema_version": 1, "cells": null}`,
		`{"schema_version": 1, "cells": [1, {"status": "pass"}]}`,
		`{"schema_version": 1, "cells": [{"status": "pass"} {"status": "pass"}]}`,
		`{"schema_version": 1, "cells": [{"status": "pass"},]}`,
		`{"schema_version": 1, "cells": [{"status": "pass"}]`,
		"{\n  \"cells\": [\n    {\"status\": \"pass\"},\n    {\"status\": \"pass\"},\n  ]\n}",
		"{\n  \"cells\": [\n    {\"status\": \"pass\"}\n    {\"status\": \"pass\"}\n  ]\n}",
	} {
		if _, err := matrix.Decode("x.json", []byte(doc)); err == nil {
			t.Errorf("accepted %s", doc)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
