package render

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
)

// JUnit XML, the de facto schema CI systems ingest (Jenkins, GitLab,
// GitHub test reporters): one <testsuite> per framework version and
// device, one <testcase> per cell. fail is a <failure>; error, crash,
// timeout and unknown are <error>s (the check could not judge the
// numbers); skip is <skipped>. Text that XML cannot carry (control
// characters in a plugin's stderr) becomes U+FFFD, as encoding/xml does.
// The preflight is a suite of its own ("preflight"), one <testcase> per
// check: bad is an <error> of type "preflight" (the machine, not a
// framework), warn says so in <system-out>, n/a is <skipped>.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string       `xml:"name,attr"`
	Classname string       `xml:"classname,attr"`
	Time      string       `xml:"time,attr"`
	Failure   *junitResult `xml:"failure,omitempty"`
	Error     *junitResult `xml:"error,omitempty"`
	Skipped   *junitResult `xml:"skipped,omitempty"`
	SystemOut string       `xml:"system-out,omitempty"`
	SystemErr string       `xml:"system-err,omitempty"`
}

type junitResult struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit renders the run as JUnit XML.
func WriteJUnit(w io.Writer, r *matrix.Run) error {
	type suiteKey struct{ framework, version, device string }
	devs := map[string]matrix.Device{}
	for _, d := range r.Devices {
		devs[d.ID] = d
	}
	fws := map[[2]string]matrix.Framework{}
	for _, f := range r.Frameworks {
		fws[[2]string{f.Name, f.Version}] = f
	}
	var order []suiteKey
	suites := map[suiteKey]*junitSuite{}
	seconds := map[suiteKey]float64{}
	doc := junitSuites{Name: "dlcompat " + r.RunID}
	var total float64
	for i := range r.Cells {
		c := &r.Cells[i]
		k := suiteKey{c.Framework, c.FrameworkVersion, c.Device}
		s := suites[k]
		if s == nil {
			dev := devs[c.Device]
			name := fmt.Sprintf("%s %s on %s", c.Framework, c.FrameworkVersion, c.Device)
			if dev.Name != "" {
				name += " (" + dev.Name + ")"
			}
			s = &junitSuite{Name: name, Hostname: r.Host.Hostname}
			if !r.Started.IsZero() {
				s.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
			}
			s.Properties = suiteProperties(r, dev, fws[[2]string{c.Framework, c.FrameworkVersion}])
			suites[k] = s
			order = append(order, k)
		}
		tc := junitCase{
			Name:      c.Model + " " + c.Check,
			Classname: "dlcompat." + classPart(c.Framework) + "." + classPart(c.FrameworkVersion) + "." + classPart(c.Device),
			Time:      fmt.Sprintf("%.3f", c.Seconds),
			SystemOut: cellSummary(c),
			SystemErr: c.StderrTail,
		}
		msg := firstLineOf(c.Reason)
		if msg == "" {
			msg = string(c.Status)
		}
		body := cellFailureText(c)
		switch c.Status {
		case matrix.Pass:
		case matrix.Fail:
			tc.Failure = &junitResult{Message: msg, Type: string(c.Status), Text: body}
			s.Failures++
		case matrix.Skip:
			tc.Skipped = &junitResult{Message: msg}
			s.Skipped++
		default: // error, crash, timeout, unknown
			tc.Error = &junitResult{Message: msg, Type: string(c.Status), Text: body}
			s.Errors++
		}
		s.Tests++
		s.Cases = append(s.Cases, tc)
		seconds[k] += c.Seconds
		total += c.Seconds
	}
	if len(r.Preflight) > 0 {
		s := junitSuite{Name: "preflight", Hostname: r.Host.Hostname, Time: "0.000"}
		for _, p := range r.Preflight {
			tc := junitCase{Name: p.Device + " " + p.Name, Classname: "dlcompat.preflight." + classPart(p.Device), Time: "0.000",
				SystemOut: string(p.Status) + ": " + p.Detail}
			switch p.Status {
			case matrix.PreflightBad:
				tc.Error = &junitResult{Message: p.Detail, Type: "preflight"}
				s.Errors++
			case matrix.PreflightNA:
				tc.Skipped = &junitResult{Message: p.Detail}
				s.Skipped++
			}
			s.Tests++
			s.Cases = append(s.Cases, tc)
		}
		doc.Tests, doc.Errors, doc.Skipped = doc.Tests+s.Tests, doc.Errors+s.Errors, doc.Skipped+s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	for _, k := range order {
		s := suites[k]
		s.Time = fmt.Sprintf("%.3f", seconds[k])
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, *s)
	}
	doc.Time = fmt.Sprintf("%.3f", total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func suiteProperties(r *matrix.Run, d matrix.Device, f matrix.Framework) []junitProperty {
	var ps []junitProperty
	add := func(name, value string) {
		if value != "" {
			ps = append(ps, junitProperty{name, value})
		}
	}
	add("run_id", r.RunID)
	add("dlcompat_version", r.DlcompatVersion)
	add("shard", r.Shard)
	add("device.name", d.Name)
	add("device.uuid", d.UUID)
	add("device.driver_version", d.DriverVersion)
	add("device.cuda_driver_version", d.CUDADriverVersion)
	add("device.vbios_version", d.VBIOSVersion)
	add("device.inforom_version", d.InfoROMVersion)
	add("device.fingerprint", fingerprint(d))
	add("framework.executor", f.Executor)
	add("framework.image", f.Image)
	add("framework.interpreter", f.Interpreter)
	if f.Packages != nil {
		add("framework.packages_digest", f.Packages.Digest)
	}
	return ps
}

// classPart keeps a classname segment free of the dots CI systems split
// classnames on.
func classPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == ' ' || r == '/' {
			return '_'
		}
		return r
	}, s)
}

// cellSummary is what a cell measured, for <system-out>.
func cellSummary(c *matrix.Cell) string {
	var lines []string
	if c.MaxAbsErr != nil && c.MaxRelErr != nil {
		l := fmt.Sprintf("max abs err %.3g, max rel err %.3g", float64(*c.MaxAbsErr), float64(*c.MaxRelErr))
		if c.Tolerance != nil {
			l += fmt.Sprintf(" (tolerance rtol %g, atol %g)", c.Tolerance.RTol, c.Tolerance.ATol)
		}
		if c.Worst != "" {
			l += "; worst: " + c.Worst
		}
		lines = append(lines, l)
	}
	for _, t := range c.Timings {
		s := t.Summary
		l := fmt.Sprintf("%s b%d: median %s, p90 %s, p99 %s, cv %.1f%%, n %d", t.Name, t.Batch, fmtSeconds(s.Median), fmtSeconds(s.P90), fmtSeconds(s.P99), 100*s.CV, s.N)
		if t.ItemsPerSecond > 0 {
			l += ", " + fmtRate(t.ItemsPerSecond) + " items/s"
		}
		if t.GFLOPs > 0 {
			l += fmt.Sprintf(", %.3g GFLOP/s", t.GFLOPs)
		}
		if t.PercentOfPeak > 0 {
			l += fmt.Sprintf(" (%.1f%% of peak)", t.PercentOfPeak)
		}
		if t.Noisy {
			l += " NOISY"
		}
		if tel := t.Telemetry; tel != nil {
			l += fmt.Sprintf("; device: SM %.0f MHz, %.0f W median, %.3g J", tel.SMClockMedianMHz, tel.PowerMedianW, tel.EnergyJ)
			if tel.JoulesPerItem > 0 {
				l += fmt.Sprintf(", %.3g J/item", tel.JoulesPerItem)
			}
			if tel.Throttled {
				l += " THROTTLED (" + strings.Join(tel.ThrottleReasons, ", ") + ")"
			}
		}
		lines = append(lines, l)
	}
	if c.PeakMemoryBytes > 0 {
		lines = append(lines, fmt.Sprintf("peak memory %s (%s)", fmtBytes(c.PeakMemoryBytes), c.MemoryKind))
	}
	for _, w := range c.Warnings {
		lines = append(lines, "warning: "+w)
	}
	if c.Reproduce != "" {
		lines = append(lines, "reproduce: "+c.Reproduce)
	}
	return strings.Join(lines, "\n")
}

// cellFailureText is the body of a <failure> or <error>.
func cellFailureText(c *matrix.Cell) string {
	var b strings.Builder
	b.WriteString(c.CellKey.String() + ": " + string(c.Status) + "\n")
	if c.Reason != "" {
		b.WriteString(c.Reason + "\n")
	}
	if c.FirstDivergingLayer != "" {
		b.WriteString("first diverging layer: " + c.FirstDivergingLayer + "\n")
	}
	if s := cellSummary(c); s != "" {
		b.WriteString(s + "\n")
	}
	return b.String()
}
