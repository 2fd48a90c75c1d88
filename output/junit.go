package output

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/rampart-dev/rampart"
)

// The JUnit XML shape GitLab and Jenkins read: a suite per resource, a
// test case per check. There is no official schema; these are the
// elements and attributes both consume.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

func writeJUnit(w io.Writer, r *Report) error {
	entries := r.entries()
	out := junitSuites{Name: toolName(r)}
	for i := range entries {
		e := &entries[i]
		if n := len(out.Suites); n == 0 || out.Suites[n-1].Name != e.res.ResourceID {
			s := junitSuite{Name: e.res.ResourceID}
			if k := e.kind(); k != "" {
				s.Properties = []junitProperty{{Name: "kind", Value: k}}
			}
			out.Suites = append(out.Suites, s)
		}
		s := &out.Suites[len(out.Suites)-1]
		c := junitCase{Classname: e.res.ResourceID, Name: e.res.CheckID + ": " + e.title()}
		switch e.status() {
		case rampart.StatusPass:
			c.SystemOut = e.res.Reason
		case rampart.StatusFail:
			c.Failure = junitFailure(e, r.Root)
			s.Failures++
		case rampart.StatusNotApplicable:
			c.Skipped = &junitSkipped{Message: e.res.Reason}
			s.Skipped++
		default:
			reason := e.res.Reason
			if e.res.Status != rampart.StatusError {
				reason = fmt.Sprintf("unknown status %q: %s", e.res.Status, reason)
			}
			c.Error = &junitProblem{Message: reason, Type: "error", Text: reason}
			s.Errors++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	for _, s := range out.Suites {
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitFailure summarizes a failing check in the message and lists its
// findings, one a line, in the body CI systems show when the case is
// opened.
func junitFailure(e *entry, root string) *junitProblem {
	p := &junitProblem{Type: e.severity.String()}
	open, suppressed, excepted := 0, 0, 0
	var b strings.Builder
	for i := range e.findings {
		f := &e.findings[i]
		text := f.Message
		if text == "" {
			text = f.Item
		}
		if where := location(f, root); where != "" {
			text = where + "  " + text
		}
		fmt.Fprintf(&b, "[%s] %s\n", e.findingSeverity(f), text)
		if f.Suppressed != "" {
			fmt.Fprintf(&b, "  suppressed: %s\n", f.Suppressed)
		}
		if x := e.excepted[i]; x != nil {
			fmt.Fprintf(&b, "  excepted: %s\n", exceptionNote(x))
		}
		switch {
		case f.Suppressed != "":
			suppressed++
		case e.excepted[i] != nil:
			excepted++
		default:
			open++
		}
	}
	if len(e.findings) == 0 {
		p.Message = e.res.Reason
		if p.Message == "" {
			p.Message = e.title()
		}
		p.Text = p.Message
		if e.exception != nil {
			p.Text += "\n  excepted: " + exceptionNote(e.exception) + "\n"
		}
		return p
	}
	var aside []string
	if suppressed > 0 {
		aside = append(aside, fmt.Sprintf("%d suppressed", suppressed))
	}
	if excepted > 0 {
		aside = append(aside, fmt.Sprintf("%d excepted", excepted))
	}
	p.Message = plural(open, "finding", "findings")
	if len(aside) > 0 {
		p.Message += " (" + strings.Join(aside, ", ") + ")"
	}
	p.Text = b.String()
	return p
}
