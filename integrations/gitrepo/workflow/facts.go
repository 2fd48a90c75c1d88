package workflow

import "strconv"

// Facts are what the scanner read from every workflow and action metadata
// file of the tree.
type Facts struct {
	// Public is the resource's setting: self-hosted runners are a finding
	// only in public repositories.
	Public bool    `json:"public"`
	Files  []*File `json:"files"`
}

// Kinds of File.
const (
	KindWorkflow = "workflow"
	KindAction   = "action"
)

// File is one workflow (.github/workflows/*.yml) or action metadata file
// (action.yml). Positions are 1-based line and column in that file.
type File struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	// Unreadable is why nothing could be read from the file (invalid YAML,
	// not a mapping); every other field is then empty.
	Unreadable string `json:"unreadable,omitempty"`
	// Diagnostics are actionlint's syntax errors and rule diagnostics.
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"`

	// Triggers are the events of a workflow's `on:`.
	Triggers []Trigger `json:"triggers,omitempty"`
	// Permissions is the workflow's top-level `permissions:`, nil when
	// absent.
	Permissions *Permissions `json:"permissions,omitempty"`
	Jobs        []*Job       `json:"jobs,omitempty"`

	// Using is an action's `runs.using` (composite, docker, node20…).
	Using string `json:"using,omitempty"`
	// Image is a Docker action's `runs.image`.
	Image *Value `json:"image,omitempty"`
	// Steps are a composite action's `runs.steps`.
	Steps []*Step `json:"steps,omitempty"`
}

// Pos is a position in a file.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Value is a string of the file with its position.
type Value struct {
	Value string `json:"value"`
	Pos   Pos    `json:"pos"`
}

// Diagnostic is one actionlint error.
type Diagnostic struct {
	// Rule is actionlint's rule name ("syntax-check", "expression", …).
	Rule    string `json:"rule"`
	Message string `json:"message"`
	Pos     Pos    `json:"pos"`
}

// Trigger is one event of `on:`.
type Trigger struct {
	Event string `json:"event"`
	Pos   Pos    `json:"pos"`
}

// Permissions is a `permissions:` block: either one value for every scope
// (All: read-all, write-all, or {} written as "none") or per-scope values.
type Permissions struct {
	All    string  `json:"all,omitempty"`
	Scopes []Scope `json:"scopes,omitempty"`
	Pos    Pos     `json:"pos"`
}

// Scope is one scope of a permissions block.
type Scope struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Pos   Pos    `json:"pos"`
}

// Job is one job of a workflow.
type Job struct {
	ID          string       `json:"id"`
	Pos         Pos          `json:"pos"`
	Permissions *Permissions `json:"permissions,omitempty"`
	// RunsOn are the runner labels of `runs-on:`.
	RunsOn []Value `json:"runsOn,omitempty"`
	// RunsOnExpr is `runs-on:` when it is an expression.
	RunsOnExpr string `json:"runsOnExpr,omitempty"`
	// RunnerGroup is `runs-on.group`.
	RunnerGroup string `json:"runnerGroup,omitempty"`
	// Uses is the reusable workflow a job calls.
	Uses *Value `json:"uses,omitempty"`
	// SecretsInherit is `secrets: inherit` on a reusable workflow call.
	SecretsInherit bool    `json:"secretsInherit,omitempty"`
	Steps          []*Step `json:"steps,omitempty"`
}

// Step is one step of a job or of a composite action.
type Step struct {
	// Index is the 1-based position of the step in its job.
	Index int    `json:"index"`
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Pos   Pos    `json:"pos"`
	// Uses is the action the step runs.
	Uses *Value `json:"uses,omitempty"`
	// With are the action's inputs, in file order.
	With []Input `json:"with,omitempty"`
	// Run is the step's script.
	Run *Script `json:"run,omitempty"`
}

// Input is one `with:` input of a step.
type Input struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Pos   Pos    `json:"pos"`
	// Exprs are the ${{ }} expressions of a script input
	// (actions/github-script's `script`).
	Exprs []Expr `json:"exprs,omitempty"`
}

// Script is a `run:` script.
type Script struct {
	Source string `json:"source"`
	Pos    Pos    `json:"pos"`
	Exprs  []Expr `json:"exprs,omitempty"`
}

// Expr is one ${{ }} placeholder in a script, at its exact position.
type Expr struct {
	Text string `json:"text"`
	Pos  Pos    `json:"pos"`
	// Untrusted lists the attacker-controlled inputs the expression reads
	// ("github.event.issue.title"), by actionlint's list.
	Untrusted []string `json:"untrusted,omitempty"`
}

// label names a step for items and messages: its id, else its name,
// else its index.
func (s *Step) label() string {
	switch {
	case s.ID != "":
		return s.ID
	case s.Name != "":
		return s.Name
	}
	return "#" + strconv.Itoa(s.Index)
}

// input returns the step's input by (lower-case) name.
func (s *Step) input(name string) (Input, bool) {
	for _, in := range s.With {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}

// stepList is the steps of one job, or of a composite action.
type stepList struct {
	// where names the list in items: "job build" or "composite action".
	where string
	steps []*Step
}

// stepLists returns every list of steps of the file.
func (f *File) stepLists() []stepList {
	var out []stepList
	for _, j := range f.Jobs {
		out = append(out, stepList{where: "job " + j.ID, steps: j.Steps})
	}
	if len(f.Steps) > 0 {
		out = append(out, stepList{where: "composite action", steps: f.Steps})
	}
	return out
}
