package output

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-dev/rampart"
)

// ANSI SGR sequences; the table emits them only with Options.Color.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiDim     = "\x1b[2m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiBlue    = "\x1b[34m"
	ansiMagenta = "\x1b[35m"
	ansiBoldRed = "\x1b[1;31m"
)

// minText is the narrowest column text is wrapped into, however narrow
// the width asked for.
const minText = 20

const (
	checkIndent  = "  "
	detailIndent = "      "
	suppIndent   = "        "
)

type table struct {
	w     *bufio.Writer
	color bool
	width int
	root  string
}

func writeTable(w io.Writer, r *Report, opt Options) error {
	t := &table{w: bufio.NewWriter(w), color: opt.Color, width: opt.Width, root: r.Root}
	entries := r.entries()
	visible := func(e *entry) bool {
		s := e.status()
		return opt.ShowPassing || s == rampart.StatusFail || s == rampart.StatusError
	}
	idWidth := 0
	for i := range entries {
		if visible(&entries[i]) {
			idWidth = max(idWidth, utf8.RuneCountInString(clean(entries[i].res.CheckID)))
		}
	}
	shown := 0
	for start := 0; start < len(entries); {
		end := start
		for end < len(entries) && entries[end].res.ResourceID == entries[start].res.ResourceID {
			end++
		}
		group := entries[start:end]
		start = end
		header := false
		for i := range group {
			e := &group[i]
			if !visible(e) {
				continue
			}
			if !header {
				if shown > 0 {
					t.line("")
				}
				t.resourceHeader(e)
				header = true
				shown++
			}
			t.checkLine(e, idWidth)
			t.details(e)
		}
	}
	c := count(entries)
	if shown == 0 && len(entries) > 0 {
		t.line(t.paint(ansiGreen, "No failing checks."))
	}
	if shown > 0 || len(entries) > 0 {
		t.line("")
	}
	t.line(fmt.Sprintf("%d passed, %s, %s, %d not applicable",
		c.Pass, plural(c.Fail, "failed", "failed"), plural(c.Error, "error", "errors"), c.NotApplicable))
	return t.w.Flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func (t *table) resourceHeader(e *entry) {
	head := t.paint(ansiBold, clean(e.res.ResourceID))
	if k := e.kind(); k != "" {
		head += " " + t.paint(ansiDim, "("+clean(k)+")")
	}
	t.line(head)
}

var statusSymbols = map[rampart.Status]string{
	rampart.StatusPass:          "✔",
	rampart.StatusFail:          "✖",
	rampart.StatusError:         "!",
	rampart.StatusNotApplicable: "–",
}

var statusColors = map[rampart.Status]string{
	rampart.StatusPass:          ansiGreen,
	rampart.StatusFail:          ansiRed,
	rampart.StatusError:         ansiMagenta,
	rampart.StatusNotApplicable: ansiDim,
}

var severityColors = [...]string{
	rampart.SeverityInfo:     ansiDim,
	rampart.SeverityLow:      ansiBlue,
	rampart.SeverityMedium:   ansiYellow,
	rampart.SeverityHigh:     ansiRed,
	rampart.SeverityCritical: ansiBoldRed,
}

func severityColor(s rampart.Severity) string {
	if s < 0 || int(s) >= len(severityColors) {
		return ""
	}
	return severityColors[s]
}

// checkLine prints "  ✖ critical  TLS-EXPIRED  Certificate is expired",
// cutting the title to the width, never the status, severity or id.
func (t *table) checkLine(e *entry, idWidth int) {
	st := e.status()
	sev := e.severity.String()
	id := clean(e.res.CheckID)
	prefix := fmt.Sprintf("%s%s %-8s  %s  ", checkIndent, statusSymbols[st], sev, pad(id, idWidth))
	title := clean(e.title())
	if t.width > 0 {
		title = truncate(title, t.width-utf8.RuneCountInString(prefix))
	}
	t.line(checkIndent + t.paint(statusColors[st], statusSymbols[st]) + " " +
		t.paint(severityColor(e.severity), fmt.Sprintf("%-8s", sev)) + "  " +
		pad(id, idWidth) + "  " + title)
}

// details prints what explains a line: the findings of a failure (with
// their suppressions), the reason of an error, or, for the passing and
// not-applicable checks ShowPassing adds, their reason, dimmed.
func (t *table) details(e *entry) {
	switch st := e.status(); st {
	case rampart.StatusFail:
		for i := range e.findings {
			f := &e.findings[i]
			where := location(f, t.root)
			text := f.Message
			if text == "" {
				text = f.Item
			}
			if fs := e.findingSeverity(f); fs != e.severity {
				text = "[" + fs.String() + "] " + text
			}
			style := ""
			if !e.counts(i) {
				style = ansiDim
			}
			if where == "" {
				t.text(detailIndent, "", text, style)
			} else {
				t.text(detailIndent, clean(where)+"  ", text, style)
			}
			if f.Suppressed != "" {
				t.text(suppIndent, "suppressed: ", f.Suppressed, ansiDim)
			}
			if x := e.excepted[i]; x != nil {
				t.text(suppIndent, "excepted: ", exceptionNote(x), ansiDim)
			}
		}
		if len(e.findings) == 0 && e.res.Reason != "" {
			t.text(detailIndent, "", e.res.Reason, "")
		}
		if e.exception != nil {
			t.text(suppIndent, "excepted: ", exceptionNote(e.exception), ansiDim)
		}
	case rampart.StatusError:
		reason := e.res.Reason
		if reason == "" {
			reason = "no reason given"
		}
		if e.res.Status != rampart.StatusError {
			reason = fmt.Sprintf("unknown status %q: %s", e.res.Status, reason)
		}
		t.text(detailIndent, "", reason, ansiMagenta)
	default:
		if e.res.Reason != "" {
			t.text(detailIndent, "", e.res.Reason, ansiDim)
		}
	}
}

// location is where a finding sits, for a person: "path:line:col", the
// path alone, or the item when the finding has no file. A path under root
// is shown relative to it.
func location(f *rampart.Finding, root string) string {
	l := f.Location
	p := l.Path
	if root != "" && filepath.IsAbs(p) {
		if rel, ok := relativeTo(root, p); ok {
			p = rel
		}
	}
	switch {
	case p == "":
		if f.Message == "" {
			return ""
		}
		return f.Item
	case l.Line == 0:
		return p
	case l.Column == 0:
		return fmt.Sprintf("%s:%d", p, l.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p, l.Line, l.Column)
}

// text prints lead+s under indent, s split at its own line breaks and
// wrapped to the width, continuation lines aligned under the first.
func (t *table) text(indent, lead, s, style string) {
	paras := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if t.width > 0 && lead != "" {
		room := t.width - utf8.RuneCountInString(indent+lead)
		if room < minText && room < utf8.RuneCountInString(clean(paras[0])) {
			// A long location takes its own line; the text goes under it.
			t.line(indent + truncate(strings.TrimRight(lead, " "), t.width-utf8.RuneCountInString(indent)))
			indent, lead = indent+"  ", ""
		}
	}
	hang := strings.Repeat(" ", utf8.RuneCountInString(lead))
	first := true
	for _, para := range paras {
		para = clean(para)
		avail := 0
		if t.width > 0 {
			avail = max(t.width-utf8.RuneCountInString(indent+lead), minText)
		}
		for _, ln := range wrap(para, avail) {
			if first {
				t.line(indent + lead + t.paint(style, ln))
				first = false
				continue
			}
			t.line(indent + hang + t.paint(style, ln))
		}
	}
}

// line writes s and a newline. A bufio.Writer keeps its first error and
// Flush returns it, so writeTable checks once, at the end.
func (t *table) line(s string) {
	_, _ = t.w.WriteString(s)
	_ = t.w.WriteByte('\n')
}

func (t *table) paint(code, s string) string {
	if !t.color || code == "" || s == "" {
		return s
	}
	return code + s + ansiReset
}

// clean makes text from the outside safe to print to a terminal: control
// characters (escape sequences among them) and the bidirectional
// overrides that can make a line read differently from what it holds
// become U+FFFD, and tabs become spaces.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if unsafeRune(r) || r == '\t' || r == utf8.RuneError {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case unsafeRune(r) || r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	if r == '\t' {
		return false
	}
	if unicode.IsControl(r) {
		return true
	}
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// truncate cuts s to n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	if n == 1 {
		return "…"
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}

// wrap splits s into lines of at most n runes at spaces, cutting words
// longer than a line; n <= 0 means one line.
func wrap(s string, n int) []string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return []string{s}
	}
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		for len(w) > n {
			if len(cur) > 0 {
				lines = append(lines, string(cur))
				cur = nil
			}
			lines = append(lines, string(w[:n]))
			w = w[n:]
		}
		switch {
		case len(cur) == 0:
			cur = append(cur, w...)
		case len(cur)+1+len(w) <= n:
			cur = append(append(cur, ' '), w...)
		default:
			lines = append(lines, string(cur))
			cur = append([]rune(nil), w...)
		}
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}
