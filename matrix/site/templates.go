package site

import (
	"fmt"
	"html/template"

	"github.com/dlcompat/dlcompat/matrix/history"
)

const css = `<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}a{color:#0645ad}
.pass{background:#d9f2d9}.fail{background:#f8c9c9}.error{background:#f6d3a8}.crash{background:#e7b3e7}.timeout{background:#f3e3a0}
.skip{background:#eee;color:#666}.unknown{background:#ddd}.infra{background:repeating-linear-gradient(45deg,#ccc,#ccc 4px,#eee 4px,#eee 8px);color:#444}
.stale{color:#a00;font-weight:bold}.fresh{color:#070}.reg{color:#a00;font-weight:bold}.flaky{color:#a60}
svg text{font:11px sans-serif;fill:#444}rect.pass{fill:#3a3}rect.fail{fill:#d33}rect.error{fill:#e80}rect.crash{fill:#a3a}rect.timeout{fill:#cb0}rect.skip{fill:#bbb}rect.unknown,rect.infra{fill:#777}
</style>`

var funcs = template.FuncMap{
	"class":  statusClass,
	"word":   statusWord,
	"median": median,
	"key":    func(k history.Key) string { return k.String() },
	"cell": func(dv *deviceView, row, col string) *cellSummary {
		if m := dv.Cells[row]; m != nil {
			return m[col]
		}
		return nil
	},
	"pct": func(f float64) string { return fmt.Sprintf("%.0f", f) },
	"errs": func(p *float64) string {
		if p == nil {
			return ""
		}
		return fmt.Sprintf("%.2g", *p)
	},
}

var indexTmpl = template.Must(template.New("index").Funcs(funcs).Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>dlcompat nightly</title>` + css + `</head><body>
<h1>dlcompat nightly</h1>
<p>Generated {{.Generated}}. A runner silent for more than {{.Stale}} is stale. Striped cells are infrastructure failures (nothing ran), not the framework's.</p>
<h2>Runners</h2>
<table><tr><th>runner</th><th>last run</th><th>age</th><th>state</th><th>runs</th><th>infrastructure failures</th></tr>
{{range .Runners}}<tr><td>{{.Runner}}</td><td>{{.Last}}</td><td>{{.Age}}</td><td>{{if .Stale}}<span class="stale">stale</span>{{else if .Infra}}<span class="stale">last run: infrastructure failure</span>{{else}}<span class="fresh">fresh</span>{{end}}</td><td>{{.Runs}}</td><td>{{.InfraRuns}}</td></tr>
{{end}}</table>
{{range .Devices}}{{$dv := .}}<h2>{{.Device}}</h2>
<p><a href="{{.DriverPg}}">compare drivers on this device model</a> ({{len .Drivers}} seen)</p>
<table><tr><th></th>{{range .Cols}}<th>{{.}}</th>{{end}}</tr>
{{range $row := .Rows}}<tr><th>{{$row}}</th>{{range $col := $dv.Cols}}{{with cell $dv $row $col}}<td class="{{class .Latest}}"><a href="{{.Page}}">{{word .Latest}}</a>{{with median .Latest}} {{.}}{{end}}{{range .Regress}} <span class="reg" title="{{.What}}">▼ since {{.FirstBad.Night}}</span>{{end}}{{if .Flaky}} <span class="flaky">flaky</span>{{end}}<br><small>{{.Latest.Night}} · {{.Latest.FrameworkVersion}}</small></td>{{else}}<td></td>{{end}}{{end}}</tr>
{{end}}</table>
{{end}}</body></html>
`))

var cellTmpl = template.Must(template.New("cell").Funcs(funcs).Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{key .Key}}</title>` + css + `</head><body>
<p><a href="index.html">← latest matrix</a></p>
<h1>{{key .Key}}</h1>
<p>{{.Nights}} nights. Reproduce: <code>{{.Reproduce}}</code></p>
{{range .Regressions}}<p class="reg">Regression: {{.What}}, since {{.FirstBad.Night}}{{with .Changed}} — that night: {{range $i, $c := .}}{{if $i}}; {{end}}{{$c}}{{end}}{{end}}</p>{{end}}
{{with .Flaky}}<p class="flaky">Flaky: {{.Flips}} status flips in the last {{.Nights}} nights (listed, not gating).</p>{{end}}
<h2>Status per night</h2>
<svg width="{{.W}}" height="30" role="img" aria-label="status per night">{{range .Strip}}<rect class="{{.Class}}" x="{{.X}}" y="4" width="3" height="20"><title>{{.Title}}</title></rect>{{end}}</svg>
{{range .Charts}}<h3>{{.Title}}</h3>{{if .Empty}}<p>no data</p>{{else}}
<svg width="{{.W}}" height="{{.H}}" role="img" aria-label="{{.Title}}">
<polygon points="{{.Band}}" fill="#9cf" fill-opacity="0.45"/>
<polyline points="{{.Line}}" fill="none" stroke="#036" stroke-width="1.5"/>
{{range .Marks}}<line x1="{{.X}}" x2="{{.X}}" y1="10" y2="160" stroke="#c60" stroke-dasharray="3,3"><title>change on {{.Label}}</title></line>{{end}}
{{range .Throttled}}<text x="{{.X}}" y="{{.Y}}" fill="#c00" text-anchor="middle">◆</text>{{end}}
<text x="2" y="14">{{.YMax}}</text><text x="2" y="150">{{.YMin}}</text><text x="30" y="176">{{.XFirst}}</text><text x="800" y="176">{{.XLast}}</text>
</svg>{{end}}{{end}}
{{with .Changes}}<h2>Change nights (dashed lines)</h2><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Last 30 nights</h2>
<table><tr><th>night</th><th>status</th><th>max abs err</th><th>median</th><th>framework version</th><th>driver</th><th>image digest</th><th>dlcompat</th><th>runner</th><th>reason</th></tr>
{{range .Rows}}<tr><td>{{.N.Night}}</td><td class="{{.Class}}">{{.Status}}</td><td>{{errs .N.MaxAbsErr}}</td><td>{{median .N}}</td><td>{{.N.FrameworkVersion}}</td><td>{{.N.Driver}}</td><td>{{.N.ImageDigest}}</td><td>{{.N.DlcompatVersion}}</td><td>{{.N.Runner}}</td><td>{{.N.Reason}}</td></tr>
{{end}}</table></body></html>
`))

var driversTmpl = template.Must(template.New("drivers").Funcs(funcs).Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>drivers on {{.D.Device}}</title>` + css + `</head><body>
<p><a href="index.html">← latest matrix</a></p>
<h1>Drivers on {{.D.Device}}</h1>
<p>Each cell's latest night under each driver; Δ is the change of the first series' median from the first driver to the last.</p>
<table><tr><th>cell</th>{{range .D.Drivers}}<th>driver {{.}}</th>{{end}}<th>Δ median</th></tr>
{{range .Rows}}<tr><td><a href="{{.Cell.Page}}">{{key .Cell.Key}}</a></td>{{range $i, $n := .By}}<td class="{{class $n}}">{{word $n}} {{median $n}}<br><small>{{$n.Night}}</small></td>{{end}}<td>{{.Delta}}</td></tr>
{{end}}</table></body></html>
`))
