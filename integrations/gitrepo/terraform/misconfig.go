package terraform

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-dev/rampart"
)

// eachResource calls fn for every resource whose type match accepts, in
// files that parsed.
func eachResource(f *Facts, match func(string) bool, fn func(file *File, r *Resource)) {
	for i := range f.Modules {
		for _, file := range parsed(&f.Modules[i]) {
			for k := range file.Resources {
				if match(file.Resources[k].Type) {
					fn(file, &file.Resources[k])
				}
			}
		}
	}
}

func hasResource(match func(string) bool) func(*Facts) bool {
	return func(f *Facts) bool {
		found := false
		eachResource(f, match, func(*File, *Resource) { found = true })
		return found
	}
}

func is(types ...string) func(string) bool {
	return func(t string) bool { return slices.Contains(types, t) }
}

func (b *Block) attr(name string) (Attr, bool) {
	if b == nil {
		return Attr{}, false
	}
	a, ok := b.Attrs[name]
	return a, ok
}

func (b *Block) blocks(typ string) []*Block {
	if b == nil {
		return nil
	}
	var out []*Block
	for _, c := range b.Blocks {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

func addr(r *Resource) string { return r.Type + "." + r.Name }

func rfinding(file *File, r *Resource, ln int, aspect, msg string, args ...any) rampart.Finding {
	if ln == 0 {
		ln = r.Line
	}
	return finding(file.Path, ln, file.Path+": "+addr(r)+" "+aspect, "%s: %s", addr(r), fmt.Sprintf(msg, args...))
}

var tfMisconfig = []string{"TF-01"}

func controls(ids ...string) []string { return append(slices.Clone(tfMisconfig), ids...) }

// GitHubPublicRepo checks that repositories managed in Terraform are not public.
var GitHubPublicRepo = newCheck(rampart.Check{
	ID:       "TF-GITHUB-PUBLIC-REPO",
	Title:    "GitHub repositories are not public",
	Severity: rampart.SeverityMedium,
	Controls: controls("GH-03", "SC-01"),
	Remediation: "Set `visibility = \"private\"` (or internal); for a repository that must be public, suppress " +
		"the finding with the reason.",
	Doc: "Reads github_repository resources: `visibility = \"public\"`, or the deprecated `private = false` " +
		"without a visibility, publishes the code.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	eachResource(f, is("github_repository"), func(file *File, r *Resource) {
		if v, ok := r.Body.attr("visibility"); ok {
			if v.Literal && v.Value == "public" {
				out = append(out, rfinding(file, r, v.Line, "visibility", "visibility is public"))
			}
			return
		}
		if p, ok := r.Body.attr("private"); ok && p.Literal && p.Value == "false" {
			out = append(out, rfinding(file, r, p.Line, "visibility", "private = false makes it public"))
		}
	})
	return out
}, hasResource(is("github_repository")))

// GitHubVulnerabilityAlerts checks that Dependabot alerts are on.
var GitHubVulnerabilityAlerts = newCheck(rampart.Check{
	ID:          "TF-GITHUB-VULN-ALERTS",
	Title:       "GitHub vulnerability alerts enabled",
	Severity:    rampart.SeverityMedium,
	Controls:    controls("SC-04", "SC-09"),
	Remediation: "Set `vulnerability_alerts = true` on the github_repository.",
	Doc: "Reads github_repository resources for `vulnerability_alerts = true`; absent or false leaves " +
		"Dependabot alerts to whatever the repository happens to have.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	eachResource(f, is("github_repository"), func(file *File, r *Resource) {
		v, ok := r.Body.attr("vulnerability_alerts")
		switch {
		case !ok:
			out = append(out, rfinding(file, r, 0, "vulnerability_alerts", "vulnerability_alerts is not set"))
		case v.Literal && v.Value != "true":
			out = append(out, rfinding(file, r, v.Line, "vulnerability_alerts", "vulnerability_alerts is %s", v.Value))
		}
	})
	return out
}, hasResource(is("github_repository")))

var branchProtection = is("github_branch_protection", "github_branch_protection_v3")

// GitHubReviews checks that protected branches require reviews.
var GitHubReviews = newCheck(rampart.Check{
	ID:       "TF-GITHUB-REVIEWS",
	Title:    "Branch protection requires pull request reviews",
	Severity: rampart.SeverityHigh,
	Controls: controls("SC-02", "GHA-06"),
	Remediation: "Add `required_pull_request_reviews { required_approving_review_count = 1 }` (or more) to " +
		"the github_branch_protection.",
	Doc: "Reads github_branch_protection and github_branch_protection_v3 resources: without a " +
		"required_pull_request_reviews block, or with zero required approvals, changes merge unreviewed.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	eachResource(f, branchProtection, func(file *File, r *Resource) {
		rev := r.Body.blocks("required_pull_request_reviews")
		if len(rev) == 0 {
			out = append(out, rfinding(file, r, 0, "reviews", "no required_pull_request_reviews"))
			return
		}
		for _, b := range rev {
			if n, ok := b.attr("required_approving_review_count"); ok && n.Literal && n.Value == "0" {
				out = append(out, rfinding(file, r, n.Line, "reviews", "required_approving_review_count is 0"))
			}
		}
	})
	return out
}, hasResource(branchProtection))

var zoneSettings = is("cloudflare_zone_settings_override", "cloudflare_zone_setting")

// zoneSetting finds a setting in a cloudflare_zone_settings_override
// (settings { name = value }) or a cloudflare_zone_setting (setting_id,
// value). It reports whether the resource manages that setting.
func zoneSetting(r *Resource, name string) (Attr, bool) {
	if r.Type == "cloudflare_zone_setting" {
		id, ok := r.Body.attr("setting_id")
		if !ok || !id.Literal || id.Value != name {
			return Attr{}, false
		}
		v, ok := r.Body.attr("value")
		if !ok {
			v = Attr{Line: id.Line, Literal: true}
		}
		return v, true
	}
	for _, s := range r.Body.blocks("settings") {
		if a, ok := s.attr(name); ok {
			return a, true
		}
	}
	return Attr{Line: r.Line, Literal: true}, true
}

func zoneCheck(c rampart.Check, setting string, ok func(v string) bool, want string) *rampart.Check {
	return newCheck(c, func(f *Facts) []rampart.Finding {
		var out []rampart.Finding
		eachResource(f, zoneSettings, func(file *File, r *Resource) {
			v, managed := zoneSetting(r, setting)
			switch {
			case !managed, !v.Literal:
			case v.Value == "":
				out = append(out, rfinding(file, r, v.Line, setting, "%s is not set (want %s)", setting, want))
			case !ok(v.Value):
				out = append(out, rfinding(file, r, v.Line, setting, "%s is %q (want %s)", setting, v.Value, want))
			}
		})
		return out
	}, hasResource(zoneSettings))
}

// CloudflareSSL checks for full (strict) TLS to the origin.
var CloudflareSSL = zoneCheck(rampart.Check{
	ID:          "TF-CLOUDFLARE-SSL",
	Title:       "Cloudflare SSL mode is strict",
	Severity:    rampart.SeverityHigh,
	Controls:    controls("CF-01", "PKI-02"),
	Remediation: "Set `ssl = \"strict\"` in the zone settings, with a trusted certificate on the origin.",
	Doc: "Reads cloudflare_zone_settings_override (settings.ssl) and cloudflare_zone_setting (setting_id " +
		"ssl). Any mode but strict leaves the Cloudflare-to-origin leg unencrypted or unauthenticated; a " +
		"zone settings override that does not set it does not enforce it.",
}, "ssl", func(v string) bool { return v == "strict" }, `"strict"`)

// CloudflareTLS checks for TLS 1.2 at least.
var CloudflareTLS = zoneCheck(rampart.Check{
	ID:          "TF-CLOUDFLARE-TLS",
	Title:       "Cloudflare minimum TLS version is 1.2 or higher",
	Severity:    rampart.SeverityHigh,
	Controls:    controls("PKI-02", "SRV-03"),
	Remediation: "Set `min_tls_version = \"1.2\"` (or \"1.3\") in the zone settings.",
	Doc:         "Reads min_tls_version in cloudflare_zone_settings_override and cloudflare_zone_setting: 1.0 and 1.1 are deprecated protocols.",
}, "min_tls_version", func(v string) bool { return v == "1.2" || v == "1.3" }, `"1.2" or "1.3"`)

// CloudflareHTTPS checks that HTTP is redirected.
var CloudflareHTTPS = zoneCheck(rampart.Check{
	ID:          "TF-CLOUDFLARE-HTTPS",
	Title:       "Cloudflare Always Use HTTPS is on",
	Severity:    rampart.SeverityMedium,
	Controls:    controls("PKI-02", "PROC-05"),
	Remediation: "Set `always_use_https = \"on\"` in the zone settings.",
	Doc:         "Reads always_use_https in cloudflare_zone_settings_override and cloudflare_zone_setting: off serves plain HTTP.",
}, "always_use_https", func(v string) bool { return v == "on" }, `"on"`)

// CloudflareWAF checks that the managed firewall is on.
var CloudflareWAF = zoneCheck(rampart.Check{
	ID:          "TF-CLOUDFLARE-WAF",
	Title:       "Cloudflare WAF is on",
	Severity:    rampart.SeverityHigh,
	Controls:    controls("CF-01"),
	Remediation: "Set `waf = \"on\"` in the zone settings (or manage WAF rulesets with cloudflare_ruleset and suppress with that reason).",
	Doc:         "Reads waf in cloudflare_zone_settings_override and cloudflare_zone_setting: off leaves the zone without the web application firewall the seed asks for.",
}, "waf", func(v string) bool { return v == "on" }, `"on"`)

// configs groups each root module with the local modules it calls,
// directly or not: one Terraform configuration each.
func configs(f *Facts) [][]*Module {
	byDir := map[string]*Module{}
	for i := range f.Modules {
		byDir[f.Modules[i].Dir] = &f.Modules[i]
	}
	var out [][]*Module
	for i := range f.Modules {
		if !f.Modules[i].Root {
			continue
		}
		seen := map[string]bool{}
		var cfg []*Module
		var visit func(m *Module)
		visit = func(m *Module) {
			if seen[m.Dir] {
				return
			}
			seen[m.Dir] = true
			cfg = append(cfg, m)
			for _, c := range m.Children {
				if cm, ok := byDir[c]; ok {
					visit(cm)
				}
			}
		}
		visit(&f.Modules[i])
		out = append(out, cfg)
	}
	return out
}

// VaultAudit checks that a configuration managing Vault enables an audit device.
var VaultAudit = newCheck(rampart.Check{
	ID:       "TF-VAULT-AUDIT",
	Title:    "Vault configuration enables an audit device",
	Severity: rampart.SeverityHigh,
	Controls: controls("CRED-02", "CRED-01"),
	Remediation: "Add a `vault_audit` resource (file or socket) to the configuration that manages Vault, and " +
		"ship its log to the central logging.",
	Doc: "For each root module and the local modules it calls: when it uses the vault provider (a provider " +
		"block, a required_providers entry or a vault_* resource or data source) it must declare a " +
		"vault_audit resource, or nothing records who read which secret.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	for _, cfg := range configs(f) {
		usePath, useLine, uses, audited, whole := "", 0, false, false, true
		for _, m := range cfg {
			whole = whole && complete(m)
			for _, file := range parsed(m) {
				note := func(ln int) {
					if !uses {
						usePath, useLine, uses = file.Path, ln, true
					}
				}
				for _, p := range file.ProviderBlocks {
					if p.Name == "vault" {
						note(p.Line)
					}
				}
				for _, p := range file.RequiredProviders {
					if p.Name == "vault" {
						note(p.Line)
					}
				}
				for _, r := range file.Resources {
					if strings.HasPrefix(r.Type, "vault_") {
						note(r.Line)
					}
					audited = audited || r.Type == "vault_audit"
				}
				for _, d := range file.Data {
					if strings.HasPrefix(d.Name, "vault_") {
						note(d.Line)
					}
				}
			}
		}
		if uses && !audited && whole {
			out = append(out, finding(usePath, useLine, cfg[0].Dir+": vault audit",
				"configuration %s uses the vault provider but declares no vault_audit", cfg[0].Dir))
		}
	}
	return out
}, func(f *Facts) bool { return len(configs(f)) > 0 })

var privilegedWorkload = privilegedType

// Privileged checks that Kubernetes workloads and Helm releases are not privileged.
var Privileged = newCheck(rampart.Check{
	ID:       "TF-PRIVILEGED",
	Title:    "No privileged containers in Kubernetes or Helm resources",
	Severity: rampart.SeverityHigh,
	Controls: controls("K8S-01", "IMG-02"),
	Remediation: "Remove `privileged = true` (and the Helm value that sets it); grant the specific " +
		"capabilities the workload needs instead.",
	Doc: "Reads kubernetes_* resources for `privileged = true` inside a security_context, and helm_release " +
		"resources for a `set` of a …privileged key to true or values (YAML text or yamlencode objects) " +
		"that say privileged: true. A privileged container has the node's full power.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	eachResource(f, privilegedWorkload, func(file *File, r *Resource) {
		for k, ln := range r.Privileged {
			out = append(out, rfinding(file, r, ln, fmt.Sprintf("privileged #%d", k+1), "runs a privileged container"))
		}
	})
	return out
}, hasResource(privilegedWorkload))

var proxmoxVM = is("proxmox_virtual_environment_vm", "proxmox_vm_qemu")

// ProxmoxBackup checks that VMs are included in backups.
var ProxmoxBackup = newCheck(rampart.Check{
	ID:       "TF-PROXMOX-BACKUP",
	Title:    "Proxmox VMs are backed up",
	Severity: rampart.SeverityMedium,
	Controls: controls("PVE-02", "BAK-01"),
	Remediation: "Remove `backup = false` from the VM's disks (bpg/proxmox) or the VM (telmate/proxmox), or " +
		"suppress with the reason the data is disposable.",
	Doc: "Reads proxmox_virtual_environment_vm (bpg/proxmox) disk blocks and proxmox_vm_qemu " +
		"(telmate/proxmox) resources and their disk blocks for `backup = false`, which leaves the disk out " +
		"of vzdump backup jobs.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	eachResource(f, proxmoxVM, func(file *File, r *Resource) {
		if a, ok := r.Body.attr("backup"); ok && a.Literal && a.Value == "false" {
			out = append(out, rfinding(file, r, a.Line, "backup", "backup = false"))
		}
		var disks []*Block
		disks = append(disks, r.Body.blocks("disk")...)
		for _, d := range r.Body.blocks("disks") {
			// telmate 3.x nests disks { scsi { scsi0 { disk { backup } } } }.
			var walk func(b *Block)
			walk = func(b *Block) {
				for _, c := range b.Blocks {
					if c.Type == "disk" {
						disks = append(disks, c)
					}
					walk(c)
				}
			}
			walk(d)
		}
		for k, d := range disks {
			if a, ok := d.attr("backup"); ok && a.Literal && a.Value == "false" {
				out = append(out, rfinding(file, r, a.Line, fmt.Sprintf("disk #%d backup", k+1), "disk %d has backup = false", k+1))
			}
		}
	})
	return out
}, hasResource(proxmoxVM))

// ProxmoxFirewall checks that VM interfaces use the Proxmox firewall.
var ProxmoxFirewall = newCheck(rampart.Check{
	ID:       "TF-PROXMOX-FIREWALL",
	Title:    "Proxmox VM network interfaces have the firewall on",
	Severity: rampart.SeverityMedium,
	Controls: controls("PVE-01", "SRV-11"),
	Remediation: "Set `firewall = true` on each network_device (bpg/proxmox) or network block (telmate/proxmox) " +
		"and manage the rules in proxmox_virtual_environment_firewall_rules.",
	Doc: "Reads the network_device blocks of proxmox_virtual_environment_vm (bpg/proxmox) and the network " +
		"blocks of proxmox_vm_qemu (telmate/proxmox). Both providers default the interface firewall to off, " +
		"so a missing firewall attribute fails as well as `firewall = false`.",
}, func(f *Facts) []rampart.Finding {
	var out []rampart.Finding
	eachResource(f, proxmoxVM, func(file *File, r *Resource) {
		nets := r.Body.blocks("network_device")
		if r.Type == "proxmox_vm_qemu" {
			nets = r.Body.blocks("network")
		}
		for k, n := range nets {
			a, ok := n.attr("firewall")
			switch {
			case !ok:
				out = append(out, rfinding(file, r, n.Line, fmt.Sprintf("network #%d firewall", k+1),
					"network interface %d does not enable the firewall (off by default)", k+1))
			case a.Literal && a.Value != "true":
				out = append(out, rfinding(file, r, a.Line, fmt.Sprintf("network #%d firewall", k+1),
					"network interface %d has firewall = %s", k+1, a.Value))
			}
		}
	})
	return out
}, hasResource(proxmoxVM))
