// Package terraform is the git-repo scanner for Terraform and OpenTofu: it
// parses .tf, .tofu and .tfvars files with hashicorp/hcl/v2 and checks
// that the CLI, providers and modules are pinned, that no secret is
// written into the code, and that the resources of the providers the
// platform uses (GitHub, Cloudflare, Vault, Kubernetes and Helm, Proxmox)
// are not configured into known risks.
package terraform

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/tree"
)

// Name keys this scanner's facts and cache entries.
const Name = "terraform"

// LockFile is the dependency lock file `terraform init` writes.
const LockFile = ".terraform.lock.hcl"

const cacheKey = "v1:"

// Facts are the Terraform modules of the tree: one per directory holding
// configuration files.
type Facts struct {
	// TerraformVersion is the version required_version must pin, if the
	// register names one.
	TerraformVersion string   `json:"terraformVersion,omitempty"`
	Modules          []Module `json:"modules"`
	// VarFiles are the .tfvars files, read for literal secrets only.
	VarFiles []File `json:"varFiles,omitempty"`
}

// Module is one directory of configuration.
type Module struct {
	Dir string `json:"dir"`
	// Root is false for directories another module calls by a local
	// source ("./modules/x"): those are child modules.
	Root     bool   `json:"root"`
	LockFile bool   `json:"lockFile"`
	Files    []File `json:"files"`
	// Children are the module directories this one calls locally.
	Children []string `json:"children,omitempty"`
}

// File is the analysis of one file. Values of attributes whose names
// suggest secrets are never kept.
type File struct {
	Path              string       `json:"path"`
	Error             string       `json:"error,omitempty"`
	ErrorLine         int          `json:"errorLine,omitempty"`
	RequiredVersions  []Constraint `json:"requiredVersions,omitempty"`
	RequiredProviders []Provider   `json:"requiredProviders,omitempty"`
	// ProviderBlocks are the provider configurations (provider "x" {}).
	ProviderBlocks []Named     `json:"providerBlocks,omitempty"`
	ModuleCalls    []Call      `json:"moduleCalls,omitempty"`
	Resources      []Resource  `json:"resources,omitempty"`
	Data           []Named     `json:"data,omitempty"`
	Secrets        []SecretRef `json:"secrets,omitempty"`
}

// Constraint is a required_version value.
type Constraint struct {
	Value string `json:"value"`
	Line  int    `json:"line"`
}

// Provider is a required_providers entry.
type Provider struct {
	Name    string `json:"name"`
	Source  string `json:"source,omitempty"`
	Version string `json:"version,omitempty"`
	Line    int    `json:"line"`
}

// Named is a labelled block.
type Named struct {
	Name string `json:"name"`
	Line int    `json:"line"`
}

// Call is a module block.
type Call struct {
	Name string `json:"name"`
	// Source has any credentials in its URL removed.
	Source  string `json:"source"`
	Version string `json:"version,omitempty"`
	Line    int    `json:"line"`
}

// Resource is a resource block. Body is kept only for the types the
// misconfiguration checks read.
type Resource struct {
	Type string `json:"type"`
	Name string `json:"name"`
	Line int    `json:"line"`
	Body *Block `json:"body,omitempty"`
	// Privileged lists lines that make a workload privileged.
	Privileged []int `json:"privileged,omitempty"`
}

// Block is a block body: literal attribute values and nested blocks.
type Block struct {
	Type   string          `json:"type,omitempty"`
	Line   int             `json:"line"`
	Attrs  map[string]Attr `json:"attrs,omitempty"`
	Blocks []*Block        `json:"blocks,omitempty"`
}

// Attr is an attribute. Value holds literal scalars only (strings, numbers
// and booleans rendered as text); Literal is false for expressions.
type Attr struct {
	Value   string `json:"value,omitempty"`
	Literal bool   `json:"literal"`
	Line    int    `json:"line"`
}

// SecretRef locates a secret-named attribute holding a literal value.
type SecretRef struct {
	Name string `json:"name"`
	Line int    `json:"line"`
}

// Scanner is the Terraform scanner.
type Scanner struct{}

var _ scan.Scanner = Scanner{}

// New returns the scanner.
func New() Scanner { return Scanner{} }

// Name implements scan.Scanner.
func (Scanner) Name() string { return Name }

func kind(p string) string {
	if strings.HasPrefix(p, ".terraform/") || strings.Contains(p, "/.terraform/") {
		return ""
	}
	switch path.Ext(p) {
	case ".tf", ".tofu":
		return "config"
	case ".tfvars":
		return "vars"
	}
	return ""
}

// Scan implements scan.Scanner.
func (Scanner) Scan(ctx context.Context, t *scan.Tree, cache scan.Cache) (any, error) {
	var files []scan.File
	for _, f := range t.Files {
		if kind(f.Path) != "" {
			files = append(files, f)
		}
	}
	analyses := make([]File, len(files))
	err := scan.ForEach(ctx, len(files), func(i int) error {
		var a File
		key := cacheKey + kind(files[i].Path) + ":" + files[i].Hash
		if !cache.Get(Name, key, &a) {
			b, err := t.Read(files[i].Path)
			if err != nil {
				return err
			}
			if kind(files[i].Path) == "vars" {
				a = AnalyzeVars(b)
			} else {
				a = Analyze(b)
			}
			cache.Put(Name, key, a)
		}
		a.Path = files[i].Path
		analyses[i] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	facts := &Facts{TerraformVersion: t.Options.TerraformVersion, Modules: []Module{}}
	byDir := map[string]*Module{}
	var dirs []string
	for i, f := range files {
		if kind(f.Path) == "vars" {
			facts.VarFiles = append(facts.VarFiles, analyses[i])
			continue
		}
		dir := path.Dir(f.Path)
		m, ok := byDir[dir]
		if !ok {
			m = &Module{Dir: dir, Root: true, LockFile: tree.HasFile(t, path.Join(dir, LockFile))}
			byDir[dir] = m
			dirs = append(dirs, dir)
		}
		m.Files = append(m.Files, analyses[i])
	}
	for _, dir := range dirs {
		m := byDir[dir]
		for _, f := range m.Files {
			for _, c := range f.ModuleCalls {
				if !localSource(c.Source) {
					continue
				}
				child := path.Clean(path.Join(dir, c.Source))
				if cm, ok := byDir[child]; ok && child != dir {
					cm.Root = false
					if !slices.Contains(m.Children, child) {
						m.Children = append(m.Children, child)
					}
				}
			}
		}
	}
	slices.Sort(dirs)
	for _, dir := range dirs {
		facts.Modules = append(facts.Modules, *byDir[dir])
	}
	return facts, nil
}

func localSource(s string) bool { return strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") }

// bodyTypes are the resource types whose bodies the misconfiguration
// checks read; other resources keep only their type, name and line.
func keepBody(typ string) bool {
	switch {
	case strings.HasPrefix(typ, "github_repository"), strings.HasPrefix(typ, "github_branch_protection"),
		strings.HasPrefix(typ, "cloudflare_zone_setting"), typ == "proxmox_virtual_environment_vm",
		typ == "proxmox_vm_qemu":
		return true
	}
	return false
}

func privilegedType(typ string) bool {
	return strings.HasPrefix(typ, "kubernetes_") || typ == "helm_release"
}

// Analyze parses one configuration file.
func Analyze(src []byte) File {
	f, diags := hclsyntax.ParseConfig(src, "main.tf", hcl.InitialPos)
	if diags.HasErrors() {
		return parseFailure(diags)
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return File{Error: "unexpected body type"}
	}
	var a File
	a.Secrets = secrets(body, "")
	for _, b := range body.Blocks {
		ln := b.TypeRange.Start.Line
		switch b.Type {
		case "terraform":
			for _, attr := range sortedAttrs(b.Body) {
				if attr.Name == "required_version" {
					v, _ := literalString(attr.Expr)
					a.RequiredVersions = append(a.RequiredVersions, Constraint{Value: v, Line: attr.SrcRange.Start.Line})
				}
			}
			for _, rp := range b.Body.Blocks {
				if rp.Type == "required_providers" {
					a.RequiredProviders = append(a.RequiredProviders, requiredProviders(rp.Body)...)
				}
			}
		case "provider":
			if len(b.Labels) == 1 {
				a.ProviderBlocks = append(a.ProviderBlocks, Named{Name: b.Labels[0], Line: ln})
			}
		case "module":
			if len(b.Labels) == 1 {
				c := Call{Name: b.Labels[0], Line: ln}
				if attr, ok := b.Body.Attributes["source"]; ok {
					s, _ := literalString(attr.Expr)
					c.Source = StripCredentials(s)
				}
				if attr, ok := b.Body.Attributes["version"]; ok {
					c.Version, _ = literalString(attr.Expr)
				}
				a.ModuleCalls = append(a.ModuleCalls, c)
			}
		case "resource":
			if len(b.Labels) == 2 {
				r := Resource{Type: b.Labels[0], Name: b.Labels[1], Line: ln}
				if keepBody(r.Type) {
					r.Body = block(b)
				}
				if privilegedType(r.Type) {
					r.Privileged = privileged(b)
				}
				a.Resources = append(a.Resources, r)
			}
		case "data":
			if len(b.Labels) == 2 {
				a.Data = append(a.Data, Named{Name: b.Labels[0], Line: ln})
			}
		}
	}
	return a
}

// AnalyzeVars parses a .tfvars file, for literal secrets.
func AnalyzeVars(src []byte) File {
	f, diags := hclsyntax.ParseConfig(src, "terraform.tfvars", hcl.InitialPos)
	if diags.HasErrors() {
		return parseFailure(diags)
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return File{Error: "unexpected body type"}
	}
	return File{Secrets: secrets(body, "")}
}

func parseFailure(diags hcl.Diagnostics) File {
	f := File{Error: diags.Error()}
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject != nil {
			f.ErrorLine = d.Subject.Start.Line
			f.Error = d.Summary + ": " + d.Detail
			break
		}
	}
	// The message names our placeholder file name; keep only the text.
	f.Error = strings.TrimSpace(f.Error)
	return f
}

func sortedAttrs(b *hclsyntax.Body) []*hclsyntax.Attribute {
	attrs := make([]*hclsyntax.Attribute, 0, len(b.Attributes))
	for _, a := range b.Attributes {
		attrs = append(attrs, a)
	}
	slices.SortFunc(attrs, func(x, y *hclsyntax.Attribute) int { return x.SrcRange.Start.Byte - y.SrcRange.Start.Byte })
	return attrs
}

func requiredProviders(b *hclsyntax.Body) []Provider {
	var out []Provider
	for _, attr := range sortedAttrs(b) {
		p := Provider{Name: attr.Name, Line: attr.SrcRange.Start.Line}
		switch e := attr.Expr.(type) {
		case *hclsyntax.ObjectConsExpr:
			for _, it := range e.Items {
				k, ok := objectKey(it.KeyExpr)
				if !ok {
					continue
				}
				v, _ := literalString(it.ValueExpr)
				switch k {
				case "source":
					p.Source = v
				case "version":
					p.Version = v
				}
			}
		default:
			// The pre-0.13 form: name = "constraint".
			p.Version, _ = literalString(attr.Expr)
		}
		out = append(out, p)
	}
	return out
}

// literal evaluates an expression that uses no variables or functions.
func literal(e hclsyntax.Expression) (cty.Value, bool) {
	if len(e.Variables()) > 0 {
		return cty.NilVal, false
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}

func literalString(e hclsyntax.Expression) (string, bool) {
	v, ok := literal(e)
	if !ok {
		return "", false
	}
	return scalar(v)
}

func scalar(v cty.Value) (string, bool) {
	switch v.Type() {
	case cty.String:
		return v.AsString(), true
	case cty.Bool:
		if v.True() {
			return "true", true
		}
		return "false", true
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), true
	}
	return "", false
}

func objectKey(e hclsyntax.Expression) (string, bool) {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		if name := hcl.ExprAsKeyword(k.Wrapped); name != "" {
			return name, true
		}
		return literalString(k.Wrapped)
	}
	return literalString(e)
}

// block records a block's literal attributes and nested blocks; dynamic
// blocks count as the blocks they generate.
func block(b *hclsyntax.Block) *Block {
	out := &Block{Type: b.Type, Line: b.TypeRange.Start.Line}
	body := b.Body
	if b.Type == "dynamic" && len(b.Labels) == 1 {
		out.Type = b.Labels[0]
		for _, c := range b.Body.Blocks {
			if c.Type == "content" {
				body = c.Body
			}
		}
	}
	for _, attr := range body.Attributes {
		if out.Attrs == nil {
			out.Attrs = map[string]Attr{}
		}
		a := Attr{Line: attr.SrcRange.Start.Line}
		if !SecretName(attr.Name) {
			a.Value, a.Literal = literalString(attr.Expr)
		}
		out.Attrs[attr.Name] = a
	}
	for _, c := range body.Blocks {
		if b.Type == "dynamic" && c.Type == "content" {
			continue
		}
		out.Blocks = append(out.Blocks, block(c))
	}
	return out
}

var privilegedYAML = regexp.MustCompile(`(?m)\bprivileged["']?\s*:\s*["']?true\b`)

// privileged finds what makes a kubernetes_* or helm_release workload
// privileged: `privileged = true` in a security_context, a Helm `set` of a
// privileged key to true, or values that say privileged: true.
func privileged(b *hclsyntax.Block) []int {
	var lines []int
	var walk func(b *hclsyntax.Block, inSecurityContext bool)
	walk = func(b *hclsyntax.Block, inSC bool) {
		inSC = inSC || b.Type == "security_context" || (b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == "security_context")
		if b.Type == "set" {
			name, _ := literalString(exprOf(b.Body, "name"))
			value, _ := literalString(exprOf(b.Body, "value"))
			last := name[strings.LastIndex(name, ".")+1:]
			if strings.EqualFold(last, "privileged") && value == "true" {
				lines = append(lines, b.TypeRange.Start.Line)
			}
		}
		for _, attr := range b.Body.Attributes {
			if inSC && attr.Name == "privileged" {
				if v, ok := literalString(attr.Expr); ok && v == "true" {
					lines = append(lines, attr.SrcRange.Start.Line)
				}
			}
			if attr.Name == "values" {
				lines = append(lines, privilegedValues(attr.Expr)...)
			}
		}
		for _, c := range b.Body.Blocks {
			walk(c, inSC)
		}
	}
	walk(b, false)
	slices.Sort(lines)
	return slices.Compact(lines)
}

func exprOf(b *hclsyntax.Body, name string) hclsyntax.Expression {
	if a, ok := b.Attributes[name]; ok {
		return a.Expr
	}
	return &hclsyntax.LiteralValueExpr{Val: cty.NullVal(cty.String)}
}

// privilegedValues reads Helm values given as YAML text or as HCL objects
// (yamlencode({...})).
func privilegedValues(e hclsyntax.Expression) []int {
	var lines []int
	_ = hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		switch n := n.(type) {
		case *hclsyntax.TemplateExpr:
			if s, ok := literalString(n); ok && len(n.Parts) > 0 {
				// A heredoc's text starts on the line after its marker:
				// count from the first part, not from the expression.
				start := n.Parts[0].Range().Start.Line
				for _, loc := range privilegedYAML.FindAllStringIndex(s, -1) {
					lines = append(lines, start+strings.Count(s[:loc[0]], "\n"))
				}
			}
		case *hclsyntax.ObjectConsExpr:
			for _, it := range n.Items {
				if k, ok := objectKey(it.KeyExpr); ok && k == "privileged" {
					if v, ok := literalString(it.ValueExpr); ok && v == "true" {
						lines = append(lines, it.KeyExpr.Range().Start.Line)
					}
				}
			}
		}
		return nil
	})
	return lines
}

var secretAttr = regexp.MustCompile(`(?i)(password|passwd|secret|token|api_?key|access_?key|private_?key|secret_?key|credentials?)$`)

// SecretName reports whether an attribute or variable name suggests a
// secret value.
func SecretName(name string) bool { return secretAttr.MatchString(name) }

// secrets finds secret-named attributes with literal string values, in
// every block and in object values, and secret-named variables with a
// literal default.
func secrets(body *hclsyntax.Body, prefix string) []SecretRef {
	var out []SecretRef
	for _, attr := range sortedAttrs(body) {
		name := prefix + attr.Name
		if SecretName(attr.Name) {
			if v, ok := literalString(attr.Expr); ok && v != "" {
				out = append(out, SecretRef{Name: name, Line: attr.SrcRange.Start.Line})
			}
		}
		out = append(out, objectSecrets(attr.Expr, name+".")...)
	}
	for _, b := range body.Blocks {
		p := prefix + strings.Join(append([]string{b.Type}, b.Labels...), ".") + "."
		if b.Type == "variable" && len(b.Labels) == 1 && SecretName(b.Labels[0]) {
			if d, ok := b.Body.Attributes["default"]; ok {
				if v, ok := literalString(d.Expr); ok && v != "" {
					out = append(out, SecretRef{Name: "var." + b.Labels[0], Line: d.SrcRange.Start.Line})
				}
			}
		}
		out = append(out, secrets(b.Body, p)...)
	}
	return out
}

func objectSecrets(e hclsyntax.Expression, prefix string) []SecretRef {
	var out []SecretRef
	switch e := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		for _, it := range e.Items {
			k, ok := objectKey(it.KeyExpr)
			if !ok {
				continue
			}
			if SecretName(k) {
				if v, ok := literalString(it.ValueExpr); ok && v != "" {
					out = append(out, SecretRef{Name: prefix + k, Line: it.KeyExpr.Range().Start.Line})
				}
			}
			out = append(out, objectSecrets(it.ValueExpr, prefix+k+".")...)
		}
	case *hclsyntax.TupleConsExpr:
		for _, x := range e.Exprs {
			out = append(out, objectSecrets(x, prefix)...)
		}
	case *hclsyntax.FunctionCallExpr:
		for _, x := range e.Args {
			out = append(out, objectSecrets(x, prefix)...)
		}
	}
	return out
}

var urlCredentials = regexp.MustCompile(`://[^/@?#]*:[^/@?#]*@`)

// StripCredentials removes user:password@ from URLs in a module source.
func StripCredentials(src string) string {
	return urlCredentials.ReplaceAllString(src, "://")
}
