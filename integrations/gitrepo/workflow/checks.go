package workflow

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/rampart-dev/rampart"
)

const kind rampart.Kind = "git-repo"

// Checks returns the scanner's checks, in the order they are documented.
func Checks() []*rampart.Check {
	return []*rampart.Check{
		ActionPinned, TokenPermissions, UntrustedCheckout, ScriptInjection,
		SecretsInherit, SelfHostedRunner, CheckoutCredentials, Actionlint,
	}
}

const docPage = " See docs/integrations/workflows.md."

// ActionPinned requires third-party actions to be pinned to a commit.
var ActionPinned = &rampart.Check{
	ID: "GHA-ACTION-PIN", Version: 1, Kind: kind,
	Title:    "Third-party actions are pinned to a full commit SHA",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GHA-01"},
	Doc: "Reads every `uses:` of workflow steps, reusable-workflow jobs and composite-action steps, and " +
		"`runs.image` of Docker actions. A tag or branch can be moved by whoever controls the action's " +
		"repository, and the new code then runs with the workflow's token and secrets; only a full " +
		"40-character commit SHA (or an image digest for docker://) is immutable. Actions owned by " +
		"`actions/` and `github/` are first-party and may be used by tag; local actions (./) are " +
		"reviewed with the repository." + docPage,
	Remediation: "Replace the tag with the commit it points to and keep the tag as a comment " +
		"(`uses: owner/action@<40-hex sha> # v1.2.3`); let Dependabot or Renovate update the SHA. " +
		"Pin docker:// images by digest (`@sha256:…`).",
	Run: rampart.Typed(runActionPinned),
}

// TokenPermissions requires least-privilege GITHUB_TOKEN permissions.
var TokenPermissions = &rampart.Check{
	ID: "GHA-PERMISSIONS", Version: 1, Kind: kind,
	Title:    "Workflows grant the GITHUB_TOKEN least privilege",
	Severity: rampart.SeverityMedium,
	Controls: []string{"GHA-08"},
	Doc: "Reads the top-level and job-level `permissions:` of every workflow. Without a top-level " +
		"block, jobs that set none get the repository's default token permissions, which may be " +
		"read-write on every scope; `write-all` grants everything; a write scope at the top level " +
		"of a workflow with several jobs is granted to all of them. Workflows triggered only by " +
		"workflow_call are exempt from the top-level rule (they run with their caller's token), and " +
		"so are workflows whose every job sets its own permissions." + docPage,
	Remediation: "Add `permissions: {}` (or `contents: read`) at the top of the workflow and grant " +
		"each write scope in the job that needs it; never use write-all.",
	Run: rampart.Typed(runPermissions),
}

// UntrustedCheckout finds privileged workflows that run pull-request code.
var UntrustedCheckout = &rampart.Check{
	ID: "GHA-UNTRUSTED-CHECKOUT", Version: 1, Kind: kind,
	Title:    "Privileged workflows do not check out untrusted pull-request code",
	Severity: rampart.SeverityCritical,
	Controls: []string{"GHA-08", "GH-04"},
	Doc: "Reads workflows triggered by pull_request_target, workflow_run or issue_comment, which run " +
		"in the base repository's context with its secrets and a write token even for pull requests " +
		"from forks. A step that checks out the pull request's head (actions/checkout with `ref:` or " +
		"`repository:` naming github.event.pull_request.head.*, github.head_ref, " +
		"github.event.workflow_run.head_*, or refs/pull/…; or a script running `gh pr checkout` or " +
		"git with those references) lets the pull request's author run code in that context: the " +
		"\"pwn request\"." + docPage,
	Remediation: "Build and test untrusted code in a `pull_request` workflow, which has no secrets " +
		"and a read-only token; if results must be published, upload them as an artifact and have " +
		"the privileged workflow read only that artifact, never execute it.",
	Run: rampart.Typed(runUntrustedCheckout),
}

// ScriptInjection finds attacker-controlled text expanded into scripts.
var ScriptInjection = &rampart.Check{
	ID: "GHA-SCRIPT-INJECTION", Version: 1, Kind: kind,
	Title:    "Untrusted event text is not expanded into scripts",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GHA-08"},
	Doc: "Reads every `${{ }}` expression inside `run:` scripts and the `script:` input of " +
		"actions/github-script, in workflows and composite actions. Expressions are substituted " +
		"into the script text before it runs, so an issue title, pull-request body or branch name, " +
		"comment, review, commit message, author name or e-mail, or page name (actionlint's list " +
		"of attacker-controlled inputs, from GitHub's security guidance) becomes code. Each finding " +
		"is at the exact line and column of the expression." + docPage,
	Remediation: "Pass the value through an environment variable (`env: TITLE: ${{ " +
		"github.event.issue.title }}`) and use it quoted in the script (\"$TITLE\"); in " +
		"github-script read it from `context.payload`.",
	Run: rampart.Typed(runScriptInjection),
}

// SecretsInherit finds reusable-workflow calls that pass every secret.
var SecretsInherit = &rampart.Check{
	ID: "GHA-SECRETS-INHERIT", Version: 1, Kind: kind,
	Title:    "Reusable workflows receive only the secrets they need",
	Severity: rampart.SeverityMedium,
	Controls: []string{"GHA-08", "GHA-02"},
	Doc: "Reads jobs that call a reusable workflow (`jobs.<id>.uses`). `secrets: inherit` hands the " +
		"called workflow every secret the caller can read, so a change to it (or to any action it " +
		"uses) can read secrets unrelated to its job." + docPage,
	Remediation: "List the secrets the called workflow declares under `secrets:` instead of inherit.",
	Run:         rampart.Typed(runSecretsInherit),
}

// SelfHostedRunner finds self-hosted runners in public repositories.
var SelfHostedRunner = &rampart.Check{
	ID: "GHA-SELF-HOSTED", Version: 1, Kind: kind,
	Title:    "Public repositories do not run jobs on self-hosted runners",
	Severity: rampart.SeverityHigh,
	Controls: []string{"GHA-08", "GH-04"},
	Doc: "Reads `runs-on:` of every job when the resource says the repository is public " +
		"(`public: true`); not applicable otherwise. Anyone can open a pull request on a public " +
		"repository, and a self-hosted runner that runs it keeps what the job leaves behind and " +
		"sits on the company's network." + docPage,
	Remediation: "Use GitHub-hosted runners for public repositories, or ephemeral, isolated " +
		"self-hosted runners restricted to private repositories through a runner group.",
	Run: rampart.Typed(runSelfHosted),
}

// CheckoutCredentials finds checkouts that leave the token on disk.
var CheckoutCredentials = &rampart.Check{
	ID: "GHA-CHECKOUT-CREDENTIALS", Version: 1, Kind: kind,
	Title:    "actions/checkout does not persist credentials where no step pushes",
	Severity: rampart.SeverityLow,
	Controls: []string{"GHA-08", "GHA-02"},
	Doc: "Reads actions/checkout steps. Unless `persist-credentials: false` is set, the action " +
		"writes the GITHUB_TOKEN into .git/config, where every later step, and any artifact made " +
		"of the workspace, can read it. Steps followed in the same job by a script running " +
		"`git push` are exempt: they need it." + docPage,
	Remediation: "Add `with: persist-credentials: false` to the checkout step.",
	Run:         rampart.Typed(runCheckoutCredentials),
}

// Actionlint reports actionlint's own diagnostics.
var Actionlint = &rampart.Check{
	ID: "GHA-ACTIONLINT", Version: 1, Kind: kind,
	Title:    "Workflows pass actionlint",
	Severity: rampart.SeverityLow,
	Controls: []string{"GHA-09"},
	Doc: "Reports the syntax errors and rule diagnostics of actionlint (v1.7.12, as a library: the " +
		"rules the actionlint command runs, without shellcheck and pyflakes) for workflows, and " +
		"parse errors for action metadata files. Its untrusted-input diagnostics are reported by " +
		"GHA-SCRIPT-INJECTION instead." + docPage,
	Remediation: "Fix the reported problem; run actionlint locally or in CI to catch them before merge.",
	Run:         rampart.Typed(runActionlint),
}

// collector gathers findings with unique items: the same item twice in
// one file (two identical steps) gets a counter, so fingerprints differ.
type collector struct {
	list []rampart.Finding
	seen map[string]int
}

func (c *collector) add(path string, p Pos, item, msg string, sev *rampart.Severity) {
	if c.seen == nil {
		c.seen = map[string]int{}
	}
	item = path + ": " + item
	c.seen[item]++
	if n := c.seen[item]; n > 1 {
		item = fmt.Sprintf("%s (%d)", item, n)
	}
	c.list = append(c.list, rampart.Finding{
		Item: item, Message: msg, Severity: sev,
		Location: rampart.Location{Path: path, Line: p.Line, Column: p.Column},
	})
}

func severity(s rampart.Severity) *rampart.Severity { return &s }

// verdict fails with the findings. Files that could not be read are
// GHA-ACTIONLINT's findings and are skipped here; with none readable, the
// check cannot tell.
func verdict(f *Facts, kinds []string, c *collector, pass string) rampart.Evaluation {
	var n int
	var bad []*File
	for _, file := range f.Files {
		if slices.Contains(kinds, file.Kind) {
			n++
			if file.Unreadable != "" {
				bad = append(bad, file)
			}
		}
	}
	what := strings.Join(kinds, " or ")
	switch {
	case n == 0:
		return rampart.NotApplicable("no " + what + " files")
	case len(c.list) > 0:
		return rampart.Failed(c.list...)
	case len(bad) == n:
		return rampart.Errored(fmt.Errorf("none of the %d %s files could be read (%s: %s)", n, what, bad[0].Path, bad[0].Unreadable))
	}
	reason := fmt.Sprintf("%d %s file(s): %s", n-len(bad), what, pass)
	if len(bad) > 0 {
		reason += fmt.Sprintf("; %d unreadable file(s) skipped (see GHA-ACTIONLINT)", len(bad))
	}
	return rampart.Pass(reason)
}

var (
	both      = []string{KindWorkflow, KindAction}
	workflows = []string{KindWorkflow}
)

var fullSHA = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

// firstParty owners publish GitHub's own actions, used by tag.
var firstParty = []string{"actions", "github"}

// pinProblem says why a `uses:` reference is not pinned, or "" if it is
// (or needs not be).
func pinProblem(uses string) string {
	u := strings.TrimSpace(uses)
	switch {
	case u == "" || strings.HasPrefix(u, "./") || strings.HasPrefix(u, "../"):
		return ""
	case strings.Contains(u, "${{"):
		return "is an expression, so what it runs cannot be pinned or reviewed"
	case strings.HasPrefix(u, "docker://"):
		if strings.Contains(u, "@sha256:") {
			return ""
		}
		return "is a Docker image not pinned by digest (@sha256:…)"
	}
	name, ref, _ := strings.Cut(u, "@")
	owner, _, _ := strings.Cut(name, "/")
	switch {
	case ref == "":
		return "has no version"
	case fullSHA.MatchString(ref), slices.Contains(firstParty, strings.ToLower(owner)):
		return ""
	}
	if shortSHA.MatchString(ref) {
		return fmt.Sprintf("is pinned to %q, a short commit SHA that a new commit or tag can be made to shadow; use all 40 characters", ref)
	}
	return fmt.Sprintf("is pinned to %q, a tag or branch its owner can move, not a full commit SHA", ref)
}

var shortSHA = regexp.MustCompile(`^[0-9a-f]{7,39}$`)

// shorten keeps items readable: actionlint's type errors list whole
// object types.
func shorten(s string) string {
	const n = 100
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func runActionPinned(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	for _, file := range f.Files {
		for _, j := range file.Jobs {
			if j.Uses != nil {
				if p := pinProblem(j.Uses.Value); p != "" {
					c.add(file.Path, j.Uses.Pos, "job "+j.ID+": "+j.Uses.Value, "reusable workflow "+j.Uses.Value+" "+p, nil)
				}
			}
		}
		for _, l := range file.stepLists() {
			for _, s := range l.steps {
				if s.Uses == nil {
					continue
				}
				if p := pinProblem(s.Uses.Value); p != "" {
					c.add(file.Path, s.Uses.Pos, l.where+" step "+s.label()+": "+s.Uses.Value, "action "+s.Uses.Value+" "+p, nil)
				}
			}
		}
		if file.Image != nil && strings.HasPrefix(file.Image.Value, "docker://") {
			if p := pinProblem(file.Image.Value); p != "" {
				c.add(file.Path, file.Image.Pos, "runs.image: "+file.Image.Value, "action image "+file.Image.Value+" "+p, nil)
			}
		}
	}
	return verdict(f, both, &c, "every third-party action pinned to a commit SHA")
}

func onlyWorkflowCall(f *File) bool {
	for _, t := range f.Triggers {
		if t.Event != "workflow_call" {
			return false
		}
	}
	return len(f.Triggers) > 0
}

func runPermissions(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	high := severity(rampart.SeverityHigh)
	for _, file := range f.Files {
		if file.Kind != KindWorkflow || file.Unreadable != "" {
			continue
		}
		switch p := file.Permissions; {
		case p == nil:
			unset := 0
			for _, j := range file.Jobs {
				if j.Permissions == nil {
					unset++
				}
			}
			if unset > 0 && !onlyWorkflowCall(file) {
				c.add(file.Path, Pos{1, 1}, "top-level permissions",
					fmt.Sprintf("no top-level permissions: %d job(s) without their own get the repository's default token permissions, possibly write on every scope", unset), nil)
			}
		case p.All == "write-all":
			c.add(file.Path, p.Pos, "permissions: write-all", "the workflow grants every job write access to every scope", high)
		case len(file.Jobs) > 1:
			for _, s := range p.Scopes {
				if s.Value == "write" {
					c.add(file.Path, s.Pos, "permissions."+s.Name+": write",
						fmt.Sprintf("top-level %s: write is granted to all %d jobs; grant it in the job that needs it", s.Name, len(file.Jobs)), nil)
				}
			}
		}
		for _, j := range file.Jobs {
			if j.Permissions != nil && j.Permissions.All == "write-all" {
				c.add(file.Path, j.Permissions.Pos, "job "+j.ID+": permissions: write-all", "job "+j.ID+" has write access to every scope", high)
			}
		}
	}
	return verdict(f, workflows, &c, "token permissions set at the top level, no write-all")
}

// privilegedTriggers run with the base repository's secrets and write
// token even when a fork's pull request or comment starts them.
var privilegedTriggers = []string{"pull_request_target", "workflow_run", "issue_comment"}

var (
	untrustedRef = regexp.MustCompile(`github\.event\.pull_request\.head\.|github\.head_ref|github\.event\.workflow_run\.head_|github\.event\.pull_request\.merge_commit_sha|refs/pull/`)
	ghPRCheckout = regexp.MustCompile(`\bgh\s+pr\s+checkout\b`)
	gitCommand   = regexp.MustCompile(`\bgit\s+(fetch|checkout|switch|pull|clone|worktree)\b`)
)

func isCheckout(uses string) bool {
	return strings.HasPrefix(strings.ToLower(uses), "actions/checkout@")
}

func runUntrustedCheckout(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	for _, file := range f.Files {
		var trigger string
		for _, t := range file.Triggers {
			if slices.Contains(privilegedTriggers, t.Event) {
				trigger = t.Event
				break
			}
		}
		if trigger == "" {
			continue
		}
		for _, j := range file.Jobs {
			for _, s := range j.Steps {
				item := "job " + j.ID + " step " + s.label()
				if s.Uses != nil && isCheckout(s.Uses.Value) {
					for _, in := range s.With {
						if (in.Name == "ref" || in.Name == "repository") && untrustedRef.MatchString(in.Value) {
							c.add(file.Path, in.Pos, item, fmt.Sprintf(
								"on %s, checks out untrusted code (%s: %s) in a job with the base repository's secrets and write token",
								trigger, in.Name, in.Value), nil)
							break
						}
					}
				}
				if s.Run == nil {
					continue
				}
				src := s.Run.Source
				if ghPRCheckout.MatchString(src) || (gitCommand.MatchString(src) && untrustedRef.MatchString(src)) {
					p := s.Run.Pos
					for _, e := range s.Run.Exprs {
						if untrustedRef.MatchString(e.Text) {
							p = e.Pos
							break
						}
					}
					c.add(file.Path, p, item, fmt.Sprintf(
						"on %s, the script fetches the pull request's code in a job with the base repository's secrets and write token", trigger), nil)
				}
			}
		}
	}
	return verdict(f, workflows, &c, "no privileged workflow checks out pull-request code")
}

func runScriptInjection(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	for _, file := range f.Files {
		for _, l := range file.stepLists() {
			for _, s := range l.steps {
				var exprs []Expr
				what := "run: script"
				if s.Run != nil {
					exprs = s.Run.Exprs
				}
				if in, ok := s.input("script"); ok && s.Uses != nil && isGitHubScript(s.Uses.Value) {
					exprs, what = in.Exprs, "github-script script"
				}
				for _, e := range exprs {
					for _, u := range e.Untrusted {
						c.add(file.Path, e.Pos, l.where+" step "+s.label()+": "+u, fmt.Sprintf(
							"%s expands attacker-controlled %s into the %s, where it becomes code; pass it through env: and quote it",
							e.Text, u, what), nil)
					}
				}
			}
		}
	}
	return verdict(f, both, &c, "no untrusted input expanded into a script")
}

func runSecretsInherit(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	for _, file := range f.Files {
		for _, j := range file.Jobs {
			if j.Uses != nil && j.SecretsInherit {
				c.add(file.Path, j.Uses.Pos, "job "+j.ID+": secrets: inherit",
					"job "+j.ID+" passes every secret of the repository to "+j.Uses.Value+"; pass only those it declares", nil)
			}
		}
	}
	return verdict(f, workflows, &c, "no reusable workflow inherits every secret")
}

func runSelfHosted(_ context.Context, f *Facts) rampart.Evaluation {
	if !f.Public {
		return rampart.NotApplicable("the repository is not public (set public: true on the resource if it is)")
	}
	var c collector
	for _, file := range f.Files {
		for _, j := range file.Jobs {
			for _, l := range j.RunsOn {
				if strings.EqualFold(l.Value, "self-hosted") {
					c.add(file.Path, l.Pos, "job "+j.ID+": runs-on self-hosted",
						"job "+j.ID+" of a public repository runs on a self-hosted runner", nil)
				}
			}
			if strings.Contains(strings.ToLower(j.RunsOnExpr), "self-hosted") {
				c.add(file.Path, j.Pos, "job "+j.ID+": runs-on self-hosted",
					"job "+j.ID+" of a public repository may run on a self-hosted runner ("+j.RunsOnExpr+")", nil)
			}
		}
	}
	return verdict(f, workflows, &c, "public repository, every job on GitHub-hosted runners")
}

var gitPush = regexp.MustCompile(`\bgit\b[^\n]*\bpush\b`)

func runCheckoutCredentials(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	for _, file := range f.Files {
		for _, l := range file.stepLists() {
			for i, s := range l.steps {
				if s.Uses == nil || !isCheckout(s.Uses.Value) {
					continue
				}
				p := s.Uses.Pos
				if in, ok := s.input("persist-credentials"); ok {
					if strings.EqualFold(strings.TrimSpace(in.Value), "false") {
						continue
					}
					p = in.Pos
				}
				if pushesLater(l.steps[i+1:]) {
					continue
				}
				c.add(file.Path, p, l.where+" step "+s.label(),
					"actions/checkout leaves the GITHUB_TOKEN in .git/config for every later step, and no later step pushes; set persist-credentials: false", nil)
			}
		}
	}
	return verdict(f, both, &c, "every checkout that does not push sets persist-credentials: false")
}

func pushesLater(steps []*Step) bool {
	for _, s := range steps {
		if s.Run != nil && gitPush.MatchString(s.Run.Source) {
			return true
		}
	}
	return false
}

func runActionlint(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	for _, file := range f.Files {
		for _, d := range file.Diagnostics {
			c.add(file.Path, d.Pos, d.Rule+": "+shorten(d.Message), d.Message+" ["+d.Rule+"]", nil)
		}
		if file.Unreadable != "" && len(file.Diagnostics) == 0 {
			c.add(file.Path, Pos{1, 1}, "unreadable", file.Unreadable, nil)
		}
	}
	return verdict(f, both, &c, "no actionlint diagnostics")
}
