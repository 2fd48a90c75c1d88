// Package dockerfile is the git-repo scanner for Dockerfiles: it parses
// each one with BuildKit's own parser and checks that images are built in
// several stages from allowed, digest-pinned bases, run as a non-root
// user, fetch nothing unverified and hold no secrets.
package dockerfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
)

// Name keys this scanner's facts and cache entries.
const Name = "dockerfile"

// cacheKey versions cached analyses: bump it when File changes shape.
const cacheKey = "v1:"

// DefaultAllowedBaseImages are the base images the seed allows for what
// ships: scratch, Alpine and distroless.
var DefaultAllowedBaseImages = []string{"scratch", "alpine", "gcr.io/distroless/"}

// Facts are the analyses of every Dockerfile of the tree.
type Facts struct {
	// AllowedBaseImages is the allow-list the final stages were held to.
	AllowedBaseImages []string `json:"allowedBaseImages"`
	Files             []File   `json:"files"`
}

// File is one Dockerfile.
type File struct {
	Path string `json:"path"`
	// Error is why the file could not be parsed; Stages is then empty.
	Error     string  `json:"error,omitempty"`
	ErrorLine int     `json:"errorLine,omitempty"`
	Stages    []Stage `json:"stages"`
}

// Stage is one FROM and what follows it.
type Stage struct {
	Name string `json:"name,omitempty"`
	Line int    `json:"line"`
	// Base is the FROM argument after build-argument expansion.
	Base string `json:"base"`
	// BaseStage is the index of the earlier stage Base names, or -1.
	BaseStage int `json:"baseStage"`
	// Image is the parsed base image, nil for stages built on an earlier
	// stage or whose base could not be parsed.
	Image *Image `json:"image,omitempty"`
	// Unresolved names the build arguments Base uses without a default.
	Unresolved []string `json:"unresolved,omitempty"`
	// User is the last USER of the stage, empty when there is none.
	User     string `json:"user,omitempty"`
	UserLine int    `json:"userLine,omitempty"`
	// Healthcheck is "set", "none" (HEALTHCHECK NONE) or empty.
	Healthcheck     string     `json:"healthcheck,omitempty"`
	HealthcheckLine int        `json:"healthcheckLine,omitempty"`
	RemoteAdds      []Remote   `json:"remoteAdds,omitempty"`
	SecretVars      []Variable `json:"secretVars,omitempty"`
	// PipeToShell lists RUN lines that pipe a download into a shell.
	PipeToShell []int `json:"pipeToShell,omitempty"`
}

// Image is a base image reference.
type Image struct {
	// Name is the familiar name ("alpine", "gcr.io/distroless/static").
	Name   string `json:"name"`
	Tag    string `json:"tag,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Remote is an ADD of a URL; credentials and query are dropped.
type Remote struct {
	Line int    `json:"line"`
	URL  string `json:"url"`
}

// Variable is an ENV or ARG with a secret-looking name and a literal value.
// The value itself is never kept.
type Variable struct {
	Instruction string `json:"instruction"`
	Name        string `json:"name"`
	Line        int    `json:"line"`
}

// Scanner is the Dockerfile scanner.
type Scanner struct{}

var _ scan.Scanner = Scanner{}

// New returns the scanner.
func New() Scanner { return Scanner{} }

// Name implements scan.Scanner.
func (Scanner) Name() string { return Name }

// IsDockerfile reports whether a path names a Dockerfile by the usual
// conventions: Dockerfile, Dockerfile.*, *.Dockerfile, Containerfile.
func IsDockerfile(p string) bool {
	b := strings.ToLower(path.Base(p))
	return b == "dockerfile" || b == "containerfile" ||
		strings.HasPrefix(b, "dockerfile.") || strings.HasSuffix(b, ".dockerfile") ||
		strings.HasPrefix(b, "containerfile.")
}

// Scan implements scan.Scanner.
func (Scanner) Scan(ctx context.Context, tree *scan.Tree, cache scan.Cache) (any, error) {
	var files []scan.File
	for _, f := range tree.Files {
		if IsDockerfile(f.Path) {
			files = append(files, f)
		}
	}
	facts := &Facts{AllowedBaseImages: tree.Options.AllowedBaseImages, Files: make([]File, len(files))}
	if len(facts.AllowedBaseImages) == 0 {
		facts.AllowedBaseImages = DefaultAllowedBaseImages
	}
	err := scan.ForEach(ctx, len(files), func(i int) error {
		var a File
		if !cache.Get(Name, cacheKey+files[i].Hash, &a) {
			b, err := tree.Read(files[i].Path)
			if err != nil {
				return err
			}
			a = Analyze(b)
			cache.Put(Name, cacheKey+files[i].Hash, a)
		}
		a.Path = files[i].Path
		facts.Files[i] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	return facts, nil
}

// Analyze parses one Dockerfile and records what the checks read. A file
// BuildKit cannot parse gives a File with Error set.
func Analyze(content []byte) File {
	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return parseFailure(err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		f := parseFailure(err)
		// instructions.Parse names the line only in its message; find the
		// instruction that fails on its own.
		for _, n := range res.AST.Children {
			if _, err := instructions.ParseInstruction(n); err != nil && f.ErrorLine == 0 {
				f.ErrorLine = n.StartLine
			}
		}
		return f
	}
	if len(stages) == 0 {
		return File{Error: "no FROM instruction", Stages: []Stage{}}
	}
	lex := shell.NewLex(res.EscapeToken)
	meta := env{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				meta[kv.Key] = *kv.Value
			}
		}
	}
	out := File{Stages: make([]Stage, 0, len(stages))}
	names := map[string]int{}
	for i, st := range stages {
		s := Stage{Name: st.Name, Line: line(st.Location), BaseStage: -1}
		base, unmatched, err := lex.ProcessWord(st.BaseName, meta)
		if err != nil {
			base = st.BaseName
		}
		s.Base = base
		for k := range unmatched {
			s.Unresolved = append(s.Unresolved, k)
		}
		if len(s.Unresolved) > 0 {
			slices.Sort(s.Unresolved)
			s.Base = st.BaseName
		}
		if j, ok := names[strings.ToLower(base)]; ok {
			s.BaseStage = j
		} else if len(s.Unresolved) == 0 {
			s.Image = parseImage(base)
		}
		if st.Name != "" {
			names[strings.ToLower(st.Name)] = i
		}
		for _, a := range metaArgs {
			s.SecretVars = append(s.SecretVars, secretArgs(&a)...)
		}
		stageEnv := env{}
		for k, v := range meta {
			stageEnv[k] = v
		}
		for _, c := range st.Commands {
			analyzeCommand(&s, c, lex, stageEnv)
		}
		out.Stages = append(out.Stages, s)
	}
	// Meta ARGs sit before the first stage; report them once.
	for i := 1; i < len(out.Stages); i++ {
		out.Stages[i].SecretVars = dropMeta(out.Stages[i].SecretVars, metaArgs)
	}
	return out
}

func parseFailure(err error) File {
	f := File{Error: err.Error(), Stages: []Stage{}}
	var loc *parser.LocationError
	if errors.As(err, &loc) && len(loc.Locations) > 0 && len(loc.Locations[0]) > 0 {
		f.ErrorLine = loc.Locations[0][0].Start.Line
	}
	return f
}

func line(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

func analyzeCommand(s *Stage, c instructions.Command, lex *shell.Lex, e env) {
	loc, _ := c.(interface{ Location() []parser.Range })
	ln := 0
	if loc != nil {
		ln = line(loc.Location())
	}
	switch c := c.(type) {
	case *instructions.UserCommand:
		u, _, err := lex.ProcessWord(c.User, e)
		if err != nil {
			u = c.User
		}
		s.User, s.UserLine = u, ln
	case *instructions.HealthCheckCommand:
		s.Healthcheck, s.HealthcheckLine = "set", ln
		if c.Health != nil && len(c.Health.Test) > 0 && strings.EqualFold(c.Health.Test[0], "NONE") {
			s.Healthcheck = "none"
		}
	case *instructions.AddCommand:
		for _, src := range c.SourcePaths {
			if u, ok := remoteSource(src); ok {
				s.RemoteAdds = append(s.RemoteAdds, Remote{Line: ln, URL: u})
			}
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			e[kv.Key] = kv.Value
			if SecretName(kv.Key) && literal(kv.Value) {
				s.SecretVars = append(s.SecretVars, Variable{Instruction: "ENV", Name: kv.Key, Line: ln})
			}
		}
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			if kv.Value != nil {
				e[kv.Key] = *kv.Value
			}
		}
		s.SecretVars = append(s.SecretVars, secretArgs(c)...)
	case *instructions.RunCommand:
		script := strings.Join(c.CmdLine, " ")
		for _, f := range c.Files {
			script += "\n" + f.Data
		}
		if PipesToShell(script) {
			s.PipeToShell = append(s.PipeToShell, ln)
		}
	}
}

func secretArgs(c *instructions.ArgCommand) []Variable {
	var out []Variable
	for _, kv := range c.Args {
		if kv.Value != nil && SecretName(kv.Key) && literal(*kv.Value) {
			out = append(out, Variable{Instruction: "ARG", Name: kv.Key, Line: line(c.Location())})
		}
	}
	return out
}

func dropMeta(vars []Variable, meta []instructions.ArgCommand) []Variable {
	metaLines := map[int]bool{}
	for _, a := range meta {
		metaLines[line(a.Location())] = true
	}
	out := vars[:0]
	for _, v := range vars {
		if v.Instruction != "ARG" || !metaLines[v.Line] {
			out = append(out, v)
		}
	}
	return out
}

// env feeds build arguments to BuildKit's word expansion.
type env map[string]string

func (e env) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }

func (e env) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	return keys
}

func parseImage(base string) *Image {
	if strings.EqualFold(base, "scratch") {
		return &Image{Name: "scratch"}
	}
	ref, err := reference.ParseNormalizedNamed(base)
	if err != nil {
		return nil
	}
	img := &Image{Name: reference.FamiliarName(ref)}
	if t, ok := ref.(reference.Tagged); ok {
		img.Tag = t.Tag()
	}
	if d, ok := ref.(reference.Digested); ok {
		img.Digest = d.Digest().String()
	}
	return img
}

var remoteScheme = regexp.MustCompile(`^(?i)(https?|git|ssh)://|^git@`)

// remoteSource reports whether an ADD source is fetched over the network,
// and returns it without credentials or query.
func remoteSource(src string) (string, bool) {
	if !remoteScheme.MatchString(src) {
		return "", false
	}
	if u, err := url.Parse(src); err == nil && u.Host != "" {
		u.User, u.RawQuery, u.Fragment = nil, "", ""
		return u.String(), true
	}
	// scp-like git@host:path has no userinfo beyond "git".
	return src, true
}

var secretName = regexp.MustCompile(`(?i)(passw(or)?d|passwd|secret|token|api_?key|apikey|access_?key|private_?key|credential|auth_?key)`)

// SecretName reports whether a variable name suggests it holds a secret.
// Names of files, paths and directories holding secrets do not count.
func SecretName(name string) bool {
	up := strings.ToUpper(name)
	for _, s := range []string{"_FILE", "_PATH", "_DIR", "_URL"} {
		if strings.HasSuffix(up, s) {
			return false
		}
	}
	return secretName.MatchString(name)
}

var onlyReference = regexp.MustCompile(`^\$(\{[A-Za-z_][A-Za-z0-9_]*(:?[-+?][^}]*)?\}|[A-Za-z_][A-Za-z0-9_]*)$`)

// literal reports whether a value is written out rather than taken from a
// variable: an empty value or a bare $VAR reference is not a literal.
func literal(v string) bool {
	v = strings.Trim(v, `"'`)
	return v != "" && !onlyReference.MatchString(v)
}

var (
	pipeToShell = regexp.MustCompile(`(^|[;&|(\n]|\$\()\s*(sudo\s+(-\S+\s+)*)?(curl|wget)\b[^|;&\n]*\|\s*(sudo\s+(-\S+\s+)*)?(env\s+(\S+=\S*\s+)*)?(\S*/)?(ba|z|da|k|a)?sh\b`)
	shellOfDown = regexp.MustCompile(`\b(ba|z|da|k|a)?sh\b\s+(-\S+\s+)*["']?(\$\(|<\()\s*(curl|wget)\b`)
)

// PipesToShell reports whether a shell script runs a downloaded script
// unverified: curl … | sh, wget -O- … | bash, sh -c "$(curl …)",
// bash <(curl …).
func PipesToShell(script string) bool {
	return pipeToShell.MatchString(script) || shellOfDown.MatchString(script)
}
