package web

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// Trend chart geometry, in SVG user units; CSS scales it to the page.
const (
	chartW, chartH             = 720.0, 200.0
	padL, padR, padT, padB     = 44.0, 12.0, 12.0, 28.0
	plotW, plotH               = chartW - padL - padR, chartH - padT - padB
	minTrendPoints             = 2
	trendTitle                 = "Share of passing checks per scan"
	trendDescriptionFormatting = "%d scans from %s to %s; the last at %.0f%%."
)

type trendPoint struct {
	at  time.Time
	pct float64
}

// trendChart draws the share of passing results of each finished scan,
// oldest to newest, as an inline SVG built here from numbers only (the
// few words in it are escaped), so that the page needs no script and the
// Content-Security-Policy no exception. It returns the chart and how many
// scans it shows.
func trendChart(scans []rampart.ScanRun) (template.HTML, int) {
	var pts []trendPoint
	for i := len(scans) - 1; i >= 0; i-- { // scans come newest first
		sc := scans[i]
		n := sc.Pass + sc.Fail + sc.Errors
		if sc.State != "done" || n == 0 {
			continue
		}
		pts = append(pts, trendPoint{at: sc.StartedAt, pct: 100 * float64(sc.Pass) / float64(n)})
	}
	if len(pts) < minTrendPoints {
		return "", len(pts)
	}
	t0, t1 := pts[0].at, pts[len(pts)-1].at
	span := t1.Sub(t0).Seconds()
	x := func(t time.Time) float64 {
		if span <= 0 {
			return padL + plotW
		}
		return padL + plotW*t.Sub(t0).Seconds()/span
	}
	y := func(pct float64) float64 { return padT + plotH*(1-pct/100) }

	var b strings.Builder
	desc := fmt.Sprintf(trendDescriptionFormatting, len(pts), t0.UTC().Format(time.DateOnly), t1.UTC().Format(time.DateOnly), pts[len(pts)-1].pct)
	fmt.Fprintf(&b, `<svg class="trend" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="trend-title trend-desc" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH)
	fmt.Fprintf(&b, `<title id="trend-title">%s</title><desc id="trend-desc">%s</desc>`, html.EscapeString(trendTitle), html.EscapeString(desc))
	for _, g := range []float64{0, 25, 50, 75, 100} {
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, padL, y(g), padL+plotW, y(g))
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="end">%.0f%%</text>`, padL-6, y(g)+4, g)
	}
	var line strings.Builder
	for i, p := range pts {
		if i > 0 {
			line.WriteByte(' ')
		}
		fmt.Fprintf(&line, "%.1f,%.1f", x(p.at), y(p.pct))
	}
	fmt.Fprintf(&b, `<polygon class="area" points="%.1f,%.1f %s %.1f,%.1f"/>`, x(t0), y(0), line.String(), x(t1), y(0))
	fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, line.String())
	last := pts[len(pts)-1]
	fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="4"/>`, x(last.at), y(last.pct))
	fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f">%s</text>`, padL, chartH-8, t0.UTC().Format(time.DateOnly))
	fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, padL+plotW, chartH-8, t1.UTC().Format(time.DateOnly))
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), len(pts) // #nosec G203 -- numbers and escaped text only
}
