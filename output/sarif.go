package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/rampart-dev/rampart"
)

// Names SARIF consumers see. GitHub code scanning resolves %SRCROOT% to
// the repository root and keys alert identity on partialFingerprints.
const (
	srcRoot        = "%SRCROOT%"
	fingerprintKey = "rampart/v1"
	registerFile   = "rampart.yaml"
	// schemaURI is where OASIS publishes the SARIF 2.1.0 schema (with
	// errata 01).
	schemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

// securitySeverity is the CVSS-like score GitHub code scanning reads from
// a rule's "security-severity" property to rank alerts; info has none, so
// GitHub falls back to the level, "note".
var securitySeverity = map[rampart.Severity]string{
	rampart.SeverityCritical: "9.5",
	rampart.SeverityHigh:     "7.5",
	rampart.SeverityMedium:   "5.0",
	rampart.SeverityLow:      "2.5",
}

func sarifLevel(s rampart.Severity) string {
	switch {
	case s >= rampart.SeverityHigh:
		return sarif.LevelError
	case s == rampart.SeverityMedium:
		return sarif.LevelWarning
	}
	return sarif.LevelNote
}

type sarifWriter struct {
	r         *Report
	ruleIndex map[string]int
}

func writeSARIF(w io.Writer, r *Report) error {
	entries := r.entries()
	sw := &sarifWriter{r: r, ruleIndex: map[string]int{}}

	driver := sarif.NewToolComponent()
	driver.Name = ptr(toolName(r))
	if r.Tool.Version != "" {
		driver.Version = ptr(r.Tool.Version)
	}
	if r.Tool.InformationURI != "" {
		driver.InformationURI = ptr(r.Tool.InformationURI)
	}
	for i := range entries {
		e := &entries[i]
		if _, ok := sw.ruleIndex[e.res.CheckID]; ok {
			continue
		}
		sw.ruleIndex[e.res.CheckID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sw.rule(e))
	}

	run := sarif.NewRun()
	run.Tool = sarif.NewTool()
	run.Tool.Driver = driver
	if filepath.IsAbs(r.Root) {
		base := sarif.NewArtifactLocation()
		base.URI = ptr(fileURI(r.Root, true))
		run.OriginalUriBaseIds = map[string]sarif.ArtifactLocation{srcRoot: *base}
	}
	inv := sarif.NewInvocation()
	// The scan ran to the end; a check that could not tell is reported as
	// an error notification, not as a failed execution.
	inv.ExecutionSuccessful = ptr(true)
	run.Invocations = []*sarif.Invocation{inv}

	for i := range entries {
		e := &entries[i]
		switch e.status() {
		case rampart.StatusFail:
			if len(e.findings) == 0 {
				run.Results = append(run.Results, sw.result(e, -1))
			}
			for j := range e.findings {
				run.Results = append(run.Results, sw.result(e, j))
			}
		case rampart.StatusError:
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sw.notification(e))
		}
	}

	rep := sarif.NewReport()
	rep.Schema = schemaURI
	rep.AddRun(run)
	var buf bytes.Buffer
	if err := rep.Write(&buf); err != nil {
		return err
	}
	return writeCompact(w, buf.Bytes())
}

// writeCompact re-encodes the library's SARIF without the members it
// always writes at their schema defaults: empty arrays and the -1 that
// means "none" for indexes, offsets and rank. A consumer reads the same
// log, and a scan of a large estate stays well under upload limits
// (GitHub takes 10 MB compressed). Object keys come out sorted, which
// keeps the output stable.
func writeCompact(w io.Writer, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("re-read sarif: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(prune(doc))
}

// defaultMinusOne lists members whose -1 is the schema's default.
var defaultMinusOne = map[string]bool{
	"index": true, "parentIndex": true, "id": true, "byteOffset": true, "charOffset": true, "rank": true,
}

// keepEmpty lists arrays whose presence means something even when empty:
// a run's results say "scanned, found nothing".
var keepEmpty = map[string]bool{"results": true, "runs": true}

func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			switch x := val.(type) {
			case []any:
				if len(x) == 0 && !keepEmpty[k] {
					delete(t, k)
					continue
				}
			case map[string]any:
				if len(x) == 0 && k == "properties" {
					delete(t, k)
					continue
				}
			case json.Number:
				if defaultMinusOne[k] && x.String() == "-1" {
					delete(t, k)
					continue
				}
			}
			t[k] = prune(val)
		}
		return t
	case []any:
		for i := range t {
			t[i] = prune(t[i])
		}
		return t
	}
	return v
}

func (sw *sarifWriter) rule(e *entry) *sarif.ReportingDescriptor {
	rd := sarif.NewReportingDescriptor()
	rd.ID = ptr(e.res.CheckID)
	rd.Name = ptr(ruleName(e.title(), e.res.CheckID))
	rd.ShortDescription = message(e.title())
	doc := e.title()
	if e.check != nil && e.check.Doc != "" {
		doc = e.check.Doc
	}
	rd.FullDescription = message(doc)

	controls := dedupe(e.controls())
	criteria := sw.criteria(controls)
	if e.check != nil && e.check.Remediation != "" {
		help := message(e.check.Remediation)
		md := e.check.Remediation
		if len(controls) > 0 {
			md += "\n\n**Controls:** " + strings.Join(controls, ", ")
		}
		if len(criteria) > 0 {
			md += "\n\n**Criteria:** " + strings.Join(criteria, ", ")
		}
		help.Markdown = ptr(md)
		rd.Help = help
	}

	cfg := sarif.NewReportingConfiguration()
	cfg.Level = sarifLevel(e.severity)
	rd.DefaultConfiguration = cfg

	props := sarif.NewPropertyBag()
	props.Tags = append([]string{"security"}, controls...)
	props.Tags = dedupe(props.Tags)
	if s, ok := securitySeverity[e.severity]; ok {
		props.Add("security-severity", s)
	}
	props.Add("severity", e.severity.String())
	if e.check != nil && e.check.Kind != "" {
		props.Add("kind", string(e.check.Kind))
	}
	if len(criteria) > 0 {
		props.Add("criteria", criteria)
	}
	rd.Properties = props
	return rd
}

// criteria lists the criteria the controls support, sorted, when the
// report carries the controls.
func (sw *sarifWriter) criteria(controls []string) []string {
	var out []string
	for _, id := range controls {
		if c := sw.r.Controls[id]; c != nil {
			out = append(out, c.Criteria...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// result turns finding i (or, for a failure without itemized findings,
// the failure itself: i < 0) into a SARIF result.
func (sw *sarifWriter) result(e *entry, i int) *sarif.Result {
	var f *rampart.Finding
	x := e.exception
	if i >= 0 {
		f, x = &e.findings[i], e.excepted[i]
	}
	res := sarif.NewResult()
	res.RuleID = ptr(e.res.CheckID)
	res.RuleIndex = sw.ruleIndex[e.res.CheckID]
	sev := e.severity
	var text, fp, item string
	if f == nil {
		text = e.res.Reason
		if text == "" {
			text = e.title()
		}
		fp = rampart.Fingerprint(e.res.CheckID, e.res.ResourceID, "")
	} else {
		sev = e.findingSeverity(f)
		text, item, fp = f.Message, f.Item, fingerprint(e, f)
		if text == "" {
			text = e.title() + ": " + f.Item
		}
	}
	res.Level = sarifLevel(sev)
	loc, inRepo := sw.location(e, f)
	if f != nil && !inRepo && f.Location.Path != "" {
		// A file on a host rather than in the repository: the alert sits
		// on the resource's register entry and names the file itself.
		text = location(f, "") + ": " + text
	}
	res.Message = sarif.NewMessage()
	res.Message.Text = ptr(text)
	res.Locations = []*sarif.Location{loc}
	res.PartialFingerprints = map[string]string{fingerprintKey: fp}
	if f != nil && f.Suppressed != "" {
		s := sarif.NewSuppression()
		s.Kind = ptr("inSource")
		s.Justification = ptr(f.Suppressed)
		res.Suppressions = append(res.Suppressions, s)
	}
	if x != nil {
		// An accepted risk lives in Rampart's store, outside the code.
		s := sarif.NewSuppression()
		s.Kind = ptr("external")
		s.Justification = ptr(exceptionNote(x))
		res.Suppressions = append(res.Suppressions, s)
	}
	props := sarif.NewPropertyBag()
	props.Add("resource", e.res.ResourceID)
	if item != "" {
		props.Add("item", item)
	}
	props.Add("severity", sev.String())
	res.Properties = props
	return res
}

// location is where GitHub shows a result. Code scanning needs a file in
// the repository, so a finding without one (or with one on a host) points
// at the resource's entry in the register; a logical location names the
// resource either way. inRepo reports whether the finding's own file was
// used.
func (sw *sarifWriter) location(e *entry, f *rampart.Finding) (loc *sarif.Location, inRepo bool) {
	loc = sarif.NewLocation()
	loc.LogicalLocations = []*sarif.LogicalLocation{sw.logical(e)}
	phys := sarif.NewPhysicalLocation()
	art := sarif.NewArtifactLocation()
	region := sarif.NewRegion()
	line, col := 0, 0
	if f != nil && f.Location.Path != "" {
		if rel, ok := relativeTo(sw.r.Root, f.Location.Path); ok {
			art.URI = ptr(fileURI(rel, false))
			line, col = f.Location.Line, f.Location.Column
			inRepo = true
		}
	}
	if !inRepo {
		file := registerFile
		if e.resource != nil && e.resource.Source.File != "" {
			if rel, ok := relativeTo(sw.r.Root, e.resource.Source.File); ok {
				file = rel
			} else {
				file = filepath.Base(e.resource.Source.File)
			}
		}
		art.URI = ptr(fileURI(file, false))
		if e.resource != nil {
			line = e.resource.Source.Line
		}
	}
	art.URIBaseID = ptr(srcRoot)
	phys.ArtifactLocation = art
	if line > 0 {
		region.StartLine = ptr(line)
		if col > 0 {
			region.StartColumn = ptr(col)
		}
		phys.Region = region
	}
	loc.PhysicalLocation = phys
	return loc, inRepo
}

func (sw *sarifWriter) logical(e *entry) *sarif.LogicalLocation {
	ll := sarif.NewLogicalLocation()
	ll.Name = ptr(e.res.ResourceID)
	ll.Kind = ptr("resource")
	if k := e.kind(); k != "" {
		ll.FullyQualifiedName = ptr(k + "/" + e.res.ResourceID)
	}
	return ll
}

func (sw *sarifWriter) notification(e *entry) *sarif.Notification {
	n := sarif.NewNotification()
	n.Level = sarif.LevelError
	reason := e.res.Reason
	if reason == "" {
		reason = "no reason given"
	}
	if e.res.Status != rampart.StatusError {
		reason = fmt.Sprintf("unknown status %q: %s", e.res.Status, reason)
	}
	n.Message = sarif.NewMessage()
	n.Message.Text = ptr(fmt.Sprintf("%s on %s could not be evaluated: %s", e.res.CheckID, e.res.ResourceID, reason))
	ref := sarif.NewReportingDescriptorReference()
	ref.ID = ptr(e.res.CheckID)
	ref.Index = sw.ruleIndex[e.res.CheckID]
	n.AssociatedRule = ref
	loc := sarif.NewLocation()
	loc.LogicalLocations = []*sarif.LogicalLocation{sw.logical(e)}
	n.Locations = []*sarif.Location{loc}
	return n
}

// relativeTo returns p as a slash-separated path relative to root, or
// false when p is absolute and not under root: such a file is not in the
// repository the SARIF describes.
func relativeTo(root, p string) (string, bool) {
	if !filepath.IsAbs(p) && !strings.HasPrefix(p, "/") {
		p = path.Clean(filepath.ToSlash(p))
		if p == ".." || strings.HasPrefix(p, "../") || p == "." {
			return "", false
		}
		return p, true
	}
	if root == "" {
		return "", false
	}
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return "", false
	}
	rel = filepath.ToSlash(rel)
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

// fileURI percent-encodes a slash-separated path as a URI reference; an
// absolute path becomes a file URI, a directory gets a trailing slash.
func fileURI(p string, dir bool) string {
	p = filepath.ToSlash(p)
	if dir && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	u := url.URL{Path: p}
	if strings.HasPrefix(p, "/") {
		return "file://" + u.EscapedPath()
	}
	return u.String()
}

func message(text string) *sarif.MultiformatMessageString {
	m := sarif.NewMultiformatMessageString()
	m.Text = ptr(text)
	return m
}

// ruleName turns a title into the CamelCase identifier SARIF viewers show
// as a rule's name ("Certificate is expired" -> "CertificateIsExpired").
func ruleName(title, fallback string) string {
	var b strings.Builder
	up := true
	for _, r := range title {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return fallback
	}
	return b.String()
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
