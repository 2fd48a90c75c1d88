package workflow

import (
	"bytes"
	"cmp"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// IsWorkflow reports whether GitHub runs the file at p as a workflow: a
// YAML file directly in .github/workflows (GitHub ignores subfolders).
func IsWorkflow(p string) bool {
	dir, base := path.Split(p)
	ext := path.Ext(base)
	return dir == ".github/workflows/" && (ext == ".yml" || ext == ".yaml")
}

// IsAction reports whether p is an action metadata file.
func IsAction(p string) bool {
	b := path.Base(p)
	return b == "action.yml" || b == "action.yaml"
}

// ParseWorkflow reads a workflow with actionlint's parser and runs
// actionlint's rules over it. It never fails: what cannot be read is in
// Unreadable and Diagnostics. Path is left empty (the result is cached by
// content).
func ParseWorkflow(src []byte) (f *File) {
	f = &File{Kind: KindWorkflow}
	defer recoverInto(f)
	w, errs := actionlint.Parse(src)
	for _, e := range errs {
		f.Diagnostics = append(f.Diagnostics, diagnostic(e, 0, 0))
	}
	if w == nil {
		f.Unreadable = unreadable(errs)
		return f
	}
	f.Diagnostics = append(f.Diagnostics, lint(w)...)
	sortDiagnostics(f.Diagnostics)

	c := &conv{loc: newLocator(src)}
	for _, ev := range w.On {
		f.Triggers = append(f.Triggers, Trigger{Event: ev.EventName(), Pos: c.eventPos(ev)})
	}
	f.Permissions = c.permissions(w.Permissions)
	for _, j := range w.Jobs {
		f.Jobs = append(f.Jobs, c.job(j))
	}
	slices.SortFunc(f.Jobs, func(a, b *Job) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.ID, b.ID))
	})
	return f
}

// ParseAction reads an action metadata file. The steps of a composite
// action are read by actionlint's parser too (see compositeWorkflow), so
// that they are held to the same checks as a workflow's.
func ParseAction(src []byte) (f *File) {
	f = &File{Kind: KindAction}
	defer recoverInto(f)
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		f.Unreadable = "invalid YAML: " + err.Error()
		return f
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		f.Unreadable = "action metadata is not a YAML mapping"
		return f
	}
	runs := mapValue(doc.Content[0], "runs")
	if runs == nil || runs.Kind != yaml.MappingNode {
		f.Unreadable = "action metadata has no runs mapping"
		return f
	}
	if u := mapValue(runs, "using"); u != nil {
		f.Using = u.Value
	}
	if img := mapValue(runs, "image"); img != nil && img.Kind == yaml.ScalarNode {
		f.Image = &Value{Value: img.Value, Pos: Pos{img.Line, img.Column}}
	}
	stepsKey := mapKey(runs, "steps")
	if !strings.EqualFold(f.Using, "composite") || stepsKey == nil {
		return f
	}
	text, sh := compositeWorkflow(src, stepsKey, mapValue(runs, "steps"))
	w, errs := actionlint.Parse(text)
	for _, e := range errs {
		f.Diagnostics = append(f.Diagnostics, diagnostic(e, sh.lines, sh.cols))
	}
	if w == nil {
		f.Unreadable = unreadable(errs)
		return f
	}
	c := &conv{loc: newLocator(src), shift: sh}
	for _, j := range w.Jobs {
		f.Steps = append(f.Steps, c.job(j).Steps...)
	}
	return f
}

// recoverInto turns a parser panic on hostile input into an unreadable
// file rather than a crashed scan.
func recoverInto(f *File) {
	if r := recover(); r != nil {
		*f = File{Kind: f.Kind, Unreadable: fmt.Sprintf("parser panic: %v", r)}
	}
}

func unreadable(errs []*actionlint.Error) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, fmt.Sprintf("line %d: %s", e.Line, e.Message))
	}
	if len(msgs) == 0 {
		return "actionlint could not parse the file"
	}
	return strings.Join(msgs, "; ")
}

func diagnostic(e *actionlint.Error, dl, dc int) Diagnostic {
	return Diagnostic{Rule: e.Kind, Message: e.Message, Pos: Pos{e.Line - dl, max(1, e.Column-dc)}}
}

func sortDiagnostics(ds []Diagnostic) {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Column, b.Pos.Column))
	})
}

// lint runs actionlint's rules (those the actionlint command runs,
// without the shellcheck and pyflakes processes) on a parsed workflow.
// Local actions and reusable workflows are not read from disk: the result
// must depend on the file's content only, as it is cached by hash.
func lint(w *actionlint.Workflow) []Diagnostic {
	actions := actionlint.NewLocalActionsCache(nil, nil)
	workflows := actionlint.NewLocalReusableWorkflowCache(nil, "", nil)
	rules := []actionlint.Rule{
		actionlint.NewRuleMatrix(),
		actionlint.NewRuleCredentials(),
		actionlint.NewRuleShellName(),
		actionlint.NewRuleRunnerLabel(),
		actionlint.NewRuleEvents(),
		actionlint.NewRuleJobNeeds(),
		actionlint.NewRuleAction(actions),
		actionlint.NewRuleEnvVar(),
		actionlint.NewRuleID(),
		actionlint.NewRuleGlob(),
		actionlint.NewRulePermissions(),
		actionlint.NewRuleWorkflowCall("", workflows),
		actionlint.NewRuleExpression(actions, workflows),
		actionlint.NewRuleDeprecatedCommands(),
		actionlint.NewRuleIfCond(),
	}
	v := actionlint.NewVisitor()
	for _, r := range rules {
		v.AddPass(r)
	}
	if err := v.Visit(w); err != nil {
		return []Diagnostic{{Rule: "actionlint", Message: err.Error(), Pos: Pos{1, 1}}}
	}
	var out []Diagnostic
	for _, r := range rules {
		for _, e := range r.Errs() {
			// Script injection has its own check, with the exact position.
			if e.Kind == "expression" && strings.Contains(e.Message, "potentially untrusted") {
				continue
			}
			out = append(out, diagnostic(e, 0, 0))
		}
	}
	return out
}

// conv converts actionlint's tree into facts, placing positions in the
// scanned file: shifted back for a composite action's synthetic workflow.
type conv struct {
	loc   *locator
	shift shift
}

func (c *conv) pos(p *actionlint.Pos) Pos {
	if p == nil {
		return Pos{1, 1}
	}
	return c.shift.pos(Pos{p.Line, p.Col})
}

func str(s *actionlint.String) string {
	if s == nil {
		return ""
	}
	return s.Value
}

func (c *conv) value(s *actionlint.String) *Value {
	if s == nil {
		return nil
	}
	return &Value{Value: s.Value, Pos: c.pos(s.Pos)}
}

func (c *conv) eventPos(ev actionlint.Event) Pos {
	switch e := ev.(type) {
	case *actionlint.WebhookEvent:
		return c.pos(e.Pos)
	case *actionlint.ScheduledEvent:
		return c.pos(e.Pos)
	case *actionlint.WorkflowDispatchEvent:
		return c.pos(e.Pos)
	case *actionlint.RepositoryDispatchEvent:
		return c.pos(e.Pos)
	case *actionlint.WorkflowCallEvent:
		return c.pos(e.Pos)
	case *actionlint.ImageVersionEvent:
		return c.pos(e.Pos)
	}
	return Pos{1, 1}
}

func (c *conv) permissions(p *actionlint.Permissions) *Permissions {
	if p == nil {
		return nil
	}
	out := &Permissions{All: str(p.All), Pos: c.pos(p.Pos)}
	for _, s := range p.Scopes {
		if s == nil || s.Name == nil {
			continue
		}
		out.Scopes = append(out.Scopes, Scope{Name: s.Name.Value, Value: str(s.Value), Pos: c.pos(s.Name.Pos)})
	}
	slices.SortFunc(out.Scopes, func(a, b Scope) int { return cmp.Compare(a.Name, b.Name) })
	if out.All == "" && len(out.Scopes) == 0 {
		out.All = "none" // permissions: {}
	}
	return out
}

func (c *conv) job(j *actionlint.Job) *Job {
	out := &Job{ID: str(j.ID), Pos: c.pos(j.Pos), Permissions: c.permissions(j.Permissions)}
	if j.ID != nil && j.ID.Pos != nil {
		out.Pos = c.pos(j.ID.Pos)
	}
	if r := j.RunsOn; r != nil {
		for _, l := range r.Labels {
			if l != nil {
				out.RunsOn = append(out.RunsOn, *c.value(l))
			}
		}
		out.RunsOnExpr = str(r.LabelsExpr)
		out.RunnerGroup = str(r.Group)
	}
	if call := j.WorkflowCall; call != nil {
		out.Uses = c.value(call.Uses)
		out.SecretsInherit = call.InheritSecrets
	}
	for i, s := range j.Steps {
		out.Steps = append(out.Steps, c.step(i+1, s))
	}
	return out
}

func (c *conv) step(index int, s *actionlint.Step) *Step {
	out := &Step{Index: index, ID: str(s.ID), Name: str(s.Name), Pos: c.pos(s.Pos)}
	switch e := s.Exec.(type) {
	case *actionlint.ExecRun:
		if e.Run != nil {
			out.Run = &Script{Source: e.Run.Value, Pos: c.pos(e.Run.Pos)}
			out.Run.Exprs = c.loc.exprs(e.Run.Value, out.Run.Pos, e.Run.Quoted)
		}
	case *actionlint.ExecAction:
		out.Uses = c.value(e.Uses)
		script := out.Uses != nil && isGitHubScript(out.Uses.Value)
		for name, in := range e.Inputs {
			if in == nil {
				continue
			}
			v := Input{Name: name, Value: str(in.Value), Pos: c.pos(in.Name.Pos)}
			if in.Value != nil {
				v.Pos = c.pos(in.Value.Pos)
			}
			if script && name == "script" {
				v.Exprs = c.loc.exprs(v.Value, v.Pos, in.Value != nil && in.Value.Quoted)
			}
			out.With = append(out.With, v)
		}
		slices.SortFunc(out.With, func(a, b Input) int {
			return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Name, b.Name))
		})
	}
	return out
}

func isGitHubScript(uses string) bool {
	return strings.HasPrefix(strings.ToLower(uses), "actions/github-script@")
}

// locator maps between byte offsets and positions of one file, and finds
// ${{ }} expressions of a string value at their exact place in it.
type locator struct {
	src   []byte
	lines []int // byte offset of each line start
}

func newLocator(src []byte) *locator {
	l := &locator{src: src, lines: []int{0}}
	for i, b := range src {
		if b == '\n' {
			l.lines = append(l.lines, i+1)
		}
	}
	return l
}

func (l *locator) offset(p Pos) int {
	if p.Line < 1 || p.Line > len(l.lines) {
		return 0
	}
	off := l.lines[p.Line-1]
	for c := 1; c < p.Column && off < len(l.src) && l.src[off] != '\n'; c++ {
		_, n := utf8.DecodeRune(l.src[off:])
		off += n
	}
	return off
}

func (l *locator) pos(off int) Pos {
	line, _ := slices.BinarySearch(l.lines, off+1)
	start := l.lines[line-1]
	return Pos{Line: line, Column: utf8.RuneCount(l.src[start:off]) + 1}
}

// exprs lists the ${{ }} placeholders of a string value and the untrusted
// inputs each reads. actionlint places a value at its first character
// only (a block scalar's lines are not tracked), so each placeholder is
// searched for in the file from there on: a script's injection is then
// reported on its own line.
func (l *locator) exprs(v string, at Pos, quoted bool) []Expr {
	var out []Expr
	cursor := l.offset(at)
	for i := 0; ; {
		idx := strings.Index(v[i:], "${{")
		if idx < 0 {
			break
		}
		start := i + idx
		_, n, lexErr := actionlint.LexExpression(v[start+3:])
		if lexErr != nil {
			break
		}
		text := v[start : start+3+n]
		e := Expr{Text: text, Pos: at, Untrusted: untrusted(v[start+3:])}
		if o := bytes.Index(l.src[cursor:], []byte(text)); o >= 0 {
			e.Pos = l.pos(cursor + o)
			cursor += o + len(text)
		} else if quoted {
			e.Pos.Column++
		}
		out = append(out, e)
		i = start + 3 + n
	}
	return out
}

var quotedPath = regexp.MustCompile(`"([A-Za-z0-9_.*-]+)"`)

// untrusted runs actionlint's untrusted-input checker over one expression
// (src starts after "${{") and returns the inputs it reads.
func untrusted(src string) []string {
	expr, err := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(src))
	if err != nil {
		return nil
	}
	c := actionlint.NewUntrustedInputChecker(actionlint.BuiltinUntrustedInputs)
	c.Init()
	actionlint.VisitExprNode(expr, func(n, _ actionlint.ExprNode, entering bool) {
		if entering {
			c.OnVisitNodeEnter(n)
		} else {
			c.OnVisitNodeLeave(n)
		}
	})
	c.OnVisitEnd()
	var out []string
	for _, e := range c.Errs() {
		// The checker reports paths only in its messages, quoted.
		msg, _, _ := strings.Cut(e.Message, ". avoid")
		for _, m := range quotedPath.FindAllStringSubmatch(msg, -1) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func mapKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// shift maps positions of the synthetic workflow back to the action file.
type shift struct{ lines, cols int }

func (sh shift) pos(p Pos) Pos { return Pos{p.Line - sh.lines, max(1, p.Column-sh.cols)} }

// header is the smallest workflow a composite action's steps can be
// parsed in; its last line holds the job's keys at the steps' indentation.
const header = "on: push\njobs:\n composite:\n"

// compositeWorkflow builds a workflow whose only job holds the composite
// action's `steps:` block, copied line for line from the action file, so
// that actionlint's parser reads the steps and its positions map back to
// the file by a constant shift. actionlint has no exported parser for
// action metadata steps, and reading them with another parser would hold
// composite actions to different rules than workflows.
func compositeWorkflow(src []byte, key, steps *yaml.Node) ([]byte, shift) {
	lines := strings.Split(string(src), "\n")
	indent := key.Column - 1
	cols := max(0, 2-indent)
	// The header takes four lines; the block starts at the same line as in
	// the file when there is room above it.
	at := max(key.Line, 5)
	sh := shift{lines: at - key.Line, cols: cols}

	last := lastLine(steps, key.Line)
	end := len(lines)
	for i := last; i < len(lines); i++ { // lines[i] is line i+1
		t := strings.TrimLeft(lines[i], " ")
		if t != "" && len(lines[i])-len(t) <= indent {
			end = i
			break
		}
	}
	var b strings.Builder
	b.WriteString(header)
	b.WriteString(strings.Repeat(" ", indent+cols) + "runs-on: ubuntu-latest\n")
	for range at - 5 {
		b.WriteByte('\n')
	}
	pad := strings.Repeat(" ", cols)
	for i := key.Line - 1; i < end; i++ {
		if strings.TrimSpace(lines[i]) != "" {
			b.WriteString(pad)
		}
		b.WriteString(lines[i])
		b.WriteByte('\n')
	}
	return []byte(b.String()), sh
}

// lastLine is the last line any node under n starts on.
func lastLine(n *yaml.Node, min int) int {
	if n == nil {
		return min
	}
	m := max(min, n.Line)
	for _, c := range n.Content {
		m = max(m, lastLine(c, m))
	}
	return m
}
