package render

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"

	"github.com/dlcompat/dlcompat/core/testenv"
)

func TestJUnitStructure(t *testing.T) {
	r := matrixtest.EveryStatus()
	var b bytes.Buffer
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if doc.Tests != len(r.Cells) || doc.Failures != 1 || doc.Errors != 4 || doc.Skipped != 1 {
		t.Errorf("totals tests %d failures %d errors %d skipped %d", doc.Tests, doc.Failures, doc.Errors, doc.Skipped)
	}
	if len(doc.Suites) != 2 || doc.Suites[0].Name != "gorgonia v0.9.18 on cpu (Test CPU)" || doc.Suites[1].Name != "gorgonia v0.9.18 on gpu:0" {
		t.Errorf("suites %q / %q", doc.Suites[0].Name, doc.Suites[len(doc.Suites)-1].Name)
	}
	if strings.ContainsAny(b.String(), "\x1b\x00") {
		t.Error("control characters reached the XML")
	}
}

// junitReader reads a JUnit file with junitparser, a consumer CI tools
// use, and prints what it understood.
const junitReader = `
import json, sys
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
out = {"declared": [xml.tests, xml.failures, xml.errors, xml.skipped], "cases": []}
for suite in xml:
    for case in suite:
        res = [{"kind": type(r).__name__, "message": r.message, "type": r.type} for r in case.result]
        out["cases"].append({"suite": suite.name, "classname": case.classname, "name": case.name,
                             "time": case.time, "result": res, "system_err": case.system_err})
xml.update_statistics()
out["counted"] = [xml.tests, xml.failures, xml.errors, xml.skipped]
print(json.dumps(out))
`

func TestJUnitReadByJunitparser(t *testing.T) {
	dir := os.Getenv("DLCOMPAT_TOOLS_DIR")
	if dir == "" {
		dir = "/opt/dlcompat-tools"
	}
	py := testenv.NeedTool(t, filepath.Join(dir, "junit-venv", "bin", "python"), "run scripts/setup.d/45-junitparser.sh (make test does)")
	r := matrixtest.EveryStatus()
	path := filepath.Join(t.TempDir(), "junit.xml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(f, r); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(py, "-c", junitReader, path).CombinedOutput()
	if err != nil {
		t.Fatalf("junitparser: %v\n%s", err, out)
	}
	var got struct {
		Declared, Counted []int
		Cases             []struct {
			Suite, Classname, Name string
			Time                   float64
			Result                 []struct{ Kind, Message, Type string }
			SystemErr              *string `json:"system_err"`
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := []int{len(r.Cells), 1, 4, 1}
	for i := range want {
		if got.Declared[i] != want[i] || got.Counted[i] != want[i] {
			t.Errorf("tests/failures/errors/skipped declared %v, counted by junitparser %v, want %v", got.Declared, got.Counted, want)
			break
		}
	}
	if len(got.Cases) != len(r.Cells) {
		t.Fatalf("junitparser read %d testcases, want one per cell (%d)", len(got.Cases), len(r.Cells))
	}
	kind := map[matrix.Status]string{matrix.Fail: "Failure", matrix.Error: "Error", matrix.Crash: "Error", matrix.Timeout: "Error", matrix.Unknown: "Error", matrix.Skip: "Skipped"}
	for i, c := range r.Cells {
		gc := got.Cases[i]
		if gc.Name != c.Model+" "+c.Check || gc.Time != 0 && gc.Time < 0 {
			t.Errorf("case %d: %q", i, gc.Name)
		}
		if c.Status == matrix.Pass {
			if len(gc.Result) != 0 {
				t.Errorf("%s passed but junitparser sees %+v", c.CellKey, gc.Result)
			}
			continue
		}
		if len(gc.Result) != 1 || gc.Result[0].Kind != kind[c.Status] || !strings.HasPrefix(c.Reason, gc.Result[0].Message) {
			t.Errorf("%s (%s): junitparser sees %+v", c.CellKey, c.Status, gc.Result)
		}
		if c.StderrTail != "" && (gc.SystemErr == nil || !strings.Contains(*gc.SystemErr, "goroutine 1") && !strings.Contains(*gc.SystemErr, "Traceback")) {
			t.Errorf("%s: stderr lost: %v", c.CellKey, gc.SystemErr)
		}
	}
}
