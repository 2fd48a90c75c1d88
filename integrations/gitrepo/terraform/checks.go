package terraform

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/go-version"

	"github.com/rampart-dev/rampart"
)

// Checks implements scan.Scanner.
func (Scanner) Checks() []*rampart.Check {
	return []*rampart.Check{
		RequiredVersion, ProviderVersion, LockFilePresent, ModulePinned, LiteralSecret,
		GitHubPublicRepo, GitHubVulnerabilityAlerts, GitHubReviews,
		CloudflareSSL, CloudflareTLS, CloudflareHTTPS, CloudflareWAF,
		VaultAudit, Privileged, ProxmoxBackup, ProxmoxFirewall, Parse,
	}
}

func newCheck(c rampart.Check, run func(f *Facts) []rampart.Finding, applies func(f *Facts) bool) *rampart.Check {
	c.Version, c.Kind = 1, "git-repo"
	c.Run = rampart.Typed(func(_ context.Context, facts *Facts) rampart.Evaluation {
		if len(facts.Modules) == 0 && len(facts.VarFiles) == 0 {
			return rampart.NotApplicable("no Terraform or OpenTofu files in the repository")
		}
		if c.ID != "TF-PARSE" && !anyParsed(facts) {
			return rampart.Errored(fmt.Errorf("none of the Terraform files could be parsed"))
		}
		if applies != nil && !applies(facts) {
			return rampart.NotApplicable("no configuration this check reads")
		}
		return rampart.Verdict(run(facts), fmt.Sprintf("%d modules", len(facts.Modules)))
	})
	return &c
}

func finding(p string, ln int, item, msg string, args ...any) rampart.Finding {
	return rampart.Finding{
		Item:     item,
		Message:  fmt.Sprintf(msg, args...),
		Location: rampart.Location{Path: p, Line: ln},
	}
}

func firstFile(m *Module) string {
	if len(m.Files) == 0 {
		return m.Dir
	}
	return m.Files[0].Path
}

func anyParsed(f *Facts) bool {
	for i := range f.Modules {
		if len(parsed(&f.Modules[i])) > 0 {
			return true
		}
	}
	for _, v := range f.VarFiles {
		if v.Error == "" {
			return true
		}
	}
	return false
}

// complete reports whether every file of a module parsed: only then can a
// check claim something is absent from it.
func complete(m *Module) bool { return len(parsed(m)) == len(m.Files) }

// parsed yields the module's files that parsed.
func parsed(m *Module) []*File {
	var out []*File
	for i := range m.Files {
		if m.Files[i].Error == "" {
			out = append(out, &m.Files[i])
		}
	}
	return out
}

var pinnedConstraint = regexp.MustCompile(`^\s*(=\s*|~>\s*)?v?(\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)\s*$`)

// PinnedVersion returns the version a constraint pins: an exact version
// ("1.5.7", "= 1.5.7") or a patch-level pessimistic one ("~> 1.5.7").
func PinnedVersion(constraint string) (string, bool) {
	m := pinnedConstraint.FindStringSubmatch(constraint)
	if m == nil {
		return "", false
	}
	if _, err := version.NewVersion(m[2]); err != nil {
		return "", false
	}
	return m[2], true
}

// RequiredVersion checks that root modules pin the CLI version.
var RequiredVersion = newCheck(rampart.Check{
	ID:       "TF-REQUIRED-VERSION",
	Title:    "Terraform version pinned",
	Severity: rampart.SeverityMedium,
	Controls: []string{"TF-02"},
	Remediation: "Set `terraform { required_version = \"1.5.7\" }` (or `~> 1.5.7`) in every root module, " +
		"matching the version the pipeline (Atlantis) runs.",
	Doc: "Reads `required_version` in the terraform blocks of each root module (a directory no other " +
		"module calls by a local source). It must pin an exact version or a patch-level `~> X.Y.Z`, and " +
		"equal the resource's terraformVersion when the register names one (the seed's Atlantis runs " +
		"1.5.7), so plans are made by the CLI that applies them.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	for i := range f.Modules {
		m := &f.Modules[i]
		if !m.Root {
			continue
		}
		var found []Constraint
		var where []string
		for _, file := range parsed(m) {
			for _, c := range file.RequiredVersions {
				found = append(found, c)
				where = append(where, file.Path)
			}
		}
		if len(found) == 0 && complete(m) {
			out = append(out, finding(firstFile(m), 0, m.Dir+": required_version", "root module %s sets no required_version", m.Dir))
			continue
		}
		for k, c := range found {
			v, ok := PinnedVersion(c.Value)
			switch {
			case !ok:
				out = append(out, finding(where[k], c.Line, m.Dir+": required_version",
					"required_version %q does not pin a version (use X.Y.Z or ~> X.Y.Z)", c.Value))
			case f.TerraformVersion != "" && v != strings.TrimPrefix(f.TerraformVersion, "v"):
				out = append(out, finding(where[k], c.Line, m.Dir+": required_version",
					"required_version pins %s, the register requires %s", v, f.TerraformVersion))
			}
		}
	}
	return out
}, hasModules)

func hasModules(f *Facts) bool { return len(f.Modules) > 0 }

// builtinProviders need no declaration.
var builtinProviders = map[string]bool{"terraform": true}

// ProviderVersion checks that every provider a module uses has a version constraint.
var ProviderVersion = newCheck(rampart.Check{
	ID:       "TF-PROVIDER-VERSION",
	Title:    "Providers pinned with version constraints",
	Severity: rampart.SeverityMedium,
	Controls: []string{"TF-02"},
	Remediation: "Declare each provider in `terraform { required_providers { x = { source = \"ns/x\", " +
		"version = \"~> 1.2\" } } }` and review upgrades through the lock file.",
	Doc: "Reads required_providers in every module and the providers its resources, data sources and " +
		"provider blocks use. Each needs an entry with a version constraint; without one, `terraform init` " +
		"takes the newest release.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	for i := range f.Modules {
		m := &f.Modules[i]
		declared := map[string]bool{}
		for _, file := range parsed(m) {
			for _, p := range file.RequiredProviders {
				declared[p.Name] = true
				if strings.TrimSpace(p.Version) == "" {
					out = append(out, finding(file.Path, p.Line, m.Dir+": provider "+p.Name,
						"provider %s has no version constraint", p.Name))
				}
			}
		}
		used := map[string]int{}
		usedIn := map[string]string{}
		note := func(name, p string, ln int) {
			if _, ok := used[name]; !ok && !builtinProviders[name] {
				used[name], usedIn[name] = ln, p
			}
		}
		for _, file := range parsed(m) {
			for _, p := range file.ProviderBlocks {
				note(p.Name, file.Path, p.Line)
			}
			for _, r := range file.Resources {
				note(providerOf(r.Type), file.Path, r.Line)
			}
			for _, d := range file.Data {
				note(providerOf(d.Name), file.Path, d.Line)
			}
		}
		names := make([]string, 0, len(used))
		for n := range used {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if !declared[n] && complete(m) {
				out = append(out, finding(usedIn[n], used[n], m.Dir+": provider "+n,
					"provider %s is used but not in required_providers, so its version is not constrained", n))
			}
		}
	}
	return out
}, hasModules)

func providerOf(typ string) string {
	p, _, _ := strings.Cut(typ, "_")
	return p
}

func usesProviders(m *Module) bool {
	for _, file := range parsed(m) {
		if len(file.RequiredProviders)+len(file.ProviderBlocks)+len(file.Resources)+len(file.Data) > 0 {
			return true
		}
	}
	return false
}

// LockFilePresent checks that root modules commit their dependency lock file.
var LockFilePresent = newCheck(rampart.Check{
	ID:       "TF-LOCK-FILE",
	Title:    "Dependency lock file committed",
	Severity: rampart.SeverityMedium,
	Controls: []string{"TF-02"},
	Remediation: "Run `terraform init` (with `terraform providers lock -platform=…` for each platform) and " +
		"commit " + LockFile + " next to the root module.",
	Doc: "Looks for " + LockFile + " in each root module that uses providers. The lock file records the " +
		"exact provider versions and their checksums; without it each init may pick other builds.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	for i := range f.Modules {
		m := &f.Modules[i]
		if m.Root && !m.LockFile && usesProviders(m) {
			out = append(out, finding(path.Join(m.Dir, LockFile), 0, m.Dir+": lock file",
				"root module %s has no %s", m.Dir, LockFile))
		}
	}
	return out
}, hasModules)

var (
	registrySource = regexp.MustCompile(`^([A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?/)?[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+(//.*)?$`)
	exactVersion   = regexp.MustCompile(`^\s*=?\s*v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\s*$`)
	tagRef         = regexp.MustCompile(`^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)
	commitRef      = regexp.MustCompile(`^[0-9a-f]{40}$`)
	refParam       = regexp.MustCompile(`[?&]ref=([^&]+)`)
)

// ModulePinning says why a module source is not pinned, or "" when it is:
// local paths need nothing, registry modules an exact version, other
// sources a ?ref= naming a version tag or a full commit.
func ModulePinning(source, ver string) string {
	switch {
	case localSource(source):
		return ""
	case source == "":
		return "has no literal source"
	case registrySource.MatchString(source):
		if exactVersion.MatchString(ver) {
			return ""
		}
		if ver == "" {
			return "is a registry module without a version"
		}
		return fmt.Sprintf("is a registry module with version %q, not an exact version", ver)
	}
	m := refParam.FindStringSubmatch(source)
	if m == nil {
		return "names no ?ref= tag or commit"
	}
	if tagRef.MatchString(m[1]) || commitRef.MatchString(m[1]) {
		return ""
	}
	return fmt.Sprintf("ref %q is neither a version tag nor a full commit", m[1])
}

// ModulePinned checks that module sources name a release or a commit.
var ModulePinned = newCheck(rampart.Check{
	ID:       "TF-MODULE-PINNED",
	Title:    "Module sources pinned to a tag or commit",
	Severity: rampart.SeverityMedium,
	Controls: []string{"TF-03", "TF-02"},
	Remediation: "Pin git sources with `?ref=v1.2.3` (or a full commit sha) and registry modules with " +
		"`version = \"1.2.3\"`, so module changes arrive as reviewed releases.",
	Doc: "Reads the source and version of each module block. Local paths pass; registry modules need an " +
		"exact version; git, GitHub, HTTP and bucket sources need a ?ref= that is a semantic-version tag or " +
		"a 40-hex commit. A branch (main) or no ref follows whatever is pushed.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	for i := range f.Modules {
		for _, file := range parsed(&f.Modules[i]) {
			for _, c := range file.ModuleCalls {
				if why := ModulePinning(c.Source, c.Version); why != "" {
					out = append(out, finding(file.Path, c.Line, file.Path+": module "+c.Name,
						"module %s (%s) %s", c.Name, c.Source, why))
				}
			}
		}
	}
	return out
}, hasModules)

// LiteralSecret checks that no secret is written into configuration or variable files.
var LiteralSecret = newCheck(rampart.Check{
	ID:       "TF-LITERAL-SECRET",
	Title:    "No literal secrets in Terraform",
	Severity: rampart.SeverityHigh,
	Controls: []string{"SC-07", "CRED-01"},
	Remediation: "Read the secret from Vault or 1Password (a data source or ephemeral resource), or pass it " +
		"as a sensitive variable from the pipeline's secret store; remove it from the file and its history " +
		"and rotate it.",
	Doc: "Reads every attribute (and object key) in .tf, .tofu and .tfvars files whose name ends in " +
		"password, secret, token, api_key, access_key, private_key or credentials, and variables so named " +
		"with a default. A literal, non-empty string there is a committed secret. Values are never recorded.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	add := func(file *File) {
		for _, s := range file.Secrets {
			out = append(out, finding(file.Path, s.Line, file.Path+": "+s.Name, "%s is set to a literal value", s.Name))
		}
	}
	for i := range f.Modules {
		for _, file := range parsed(&f.Modules[i]) {
			add(file)
		}
	}
	for i := range f.VarFiles {
		if f.VarFiles[i].Error == "" {
			add(&f.VarFiles[i])
		}
	}
	return out
}, nil)

// Parse checks that every file parses.
var Parse = newCheck(rampart.Check{
	ID:          "TF-PARSE",
	Title:       "Terraform files parse",
	Severity:    rampart.SeverityMedium,
	Controls:    []string{"TF-01"},
	Remediation: "Fix the syntax error (`terraform fmt` and `terraform validate` point at it).",
	Doc:         "Parses each .tf, .tofu and .tfvars file with hashicorp/hcl/v2. A file that does not parse cannot be checked.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	add := func(file *File) {
		if file.Error != "" {
			out = append(out, finding(file.Path, file.ErrorLine, file.Path+": parse", "does not parse: %s", file.Error))
		}
	}
	for i := range f.Modules {
		for k := range f.Modules[i].Files {
			add(&f.Modules[i].Files[k])
		}
	}
	for i := range f.VarFiles {
		add(&f.VarFiles[i])
	}
	return out
}, nil)
