package argocd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-dev/rampart"
)

// Checks lists the integration's checks, in the order reports show them.
func Checks() []*rampart.Check {
	return []*rampart.Check{AppSynced, AppHealthy, AppAutoSync, ProjectWildcards, AdminDisabled}
}

func appItem(a *Application) string {
	if a.Namespace != "" {
		return "application " + a.Namespace + "/" + a.Name
	}
	return "application " + a.Name
}

// details gathers Argo CD's own words on an application: its conditions,
// the last operation, and the resources that are out of sync or
// unhealthy (the first few).
func details(a *Application, resources func(r Resource) bool) string {
	var parts []string
	for _, c := range a.Conditions {
		parts = append(parts, c.Type+": "+c.Message)
	}
	if a.OperationPhase != "" && a.OperationPhase != "Succeeded" && a.OperationPhase != "Running" {
		parts = append(parts, "last sync "+a.OperationPhase+": "+a.OperationMessage)
	}
	n := 0
	for _, r := range a.Resources {
		if !resources(r) {
			continue
		}
		n++
		if n > 5 {
			continue
		}
		s := r.Kind + " " + r.Name
		if r.Namespace != "" {
			s = r.Kind + " " + r.Namespace + "/" + r.Name
		}
		switch {
		case r.Health != "" && r.HealthMessage != "":
			s += " " + r.Health + ": " + r.HealthMessage
		case r.Health != "":
			s += " " + r.Health
		case r.Sync != "":
			s += " " + r.Sync
		}
		parts = append(parts, s)
	}
	if n > 5 {
		parts = append(parts, fmt.Sprintf("and %d more resources", n-5))
	}
	return strings.Join(parts, "; ")
}

func appsOrError(f *Facts) error {
	if f.ApplicationsError != "" {
		return errors.New(f.ApplicationsError)
	}
	return nil
}

// AppSynced fails for applications whose live state differs from Git.
var AppSynced = &rampart.Check{
	ID: "ARGOCD-APP-SYNCED", Version: 1, Kind: Kind,
	Title:    "Applications are in sync with Git",
	Severity: rampart.SeverityHigh,
	Controls: []string{"CD-02", "CD-01"},
	Remediation: "Open the application in Argo CD, read the diff and the sync error, fix the " +
		"manifests or the cluster and sync; drift made by hand is reverted by syncing (or by " +
		"self-heal).",
	Doc: `Reads each application's status.sync.status, with status.conditions, the
last operation's phase and message, and the resources out of sync. One
finding per application that is OutOfSync or Unknown (Argo CD could not
compare: a ComparisonError), with Argo CD's messages. Errors when the
applications could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := appsOrError(f); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		for i := range f.Applications {
			a := &f.Applications[i]
			if a.Sync == "Synced" {
				continue
			}
			msg := fmt.Sprintf("%s is %s", a.Name, orUnknown(a.Sync))
			if d := details(a, func(r Resource) bool { return r.Sync != "" }); d != "" {
				msg += ": " + d
			}
			findings = append(findings, rampart.Finding{Item: appItem(a), Message: msg})
		}
		return rampart.Verdict(findings, fmt.Sprintf("%d application(s) in sync", len(f.Applications)))
	}),
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// AppHealthy fails for applications that are not healthy.
var AppHealthy = &rampart.Check{
	ID: "ARGOCD-APP-HEALTHY", Version: 1, Kind: Kind,
	Title:    "Applications are healthy",
	Severity: rampart.SeverityHigh,
	Controls: []string{"CD-02"},
	Remediation: "Look at the unhealthy resources Argo CD names (pods crashing, rollouts stuck, " +
		"missing resources) and fix them; alert on argocd_app_info{health_status!=\"Healthy\"} so " +
		"that the team hears of it before the daily review.",
	Doc: `Reads each application's status.health.status and the health of its
managed resources. One finding per application whose health is not
Healthy (Progressing, Degraded, Suspended, Missing, Unknown), with the
unhealthy resources and their messages. Errors when the applications could
not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := appsOrError(f); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		for i := range f.Applications {
			a := &f.Applications[i]
			if a.Health == "Healthy" {
				continue
			}
			msg := fmt.Sprintf("%s is %s", a.Name, orUnknown(a.Health))
			if a.HealthMessage != "" {
				msg += " (" + a.HealthMessage + ")"
			}
			if d := details(a, func(r Resource) bool { return r.Health != "" }); d != "" {
				msg += ": " + d
			}
			findings = append(findings, rampart.Finding{Item: appItem(a), Message: msg})
		}
		return rampart.Verdict(findings, fmt.Sprintf("%d application(s) healthy", len(f.Applications)))
	}),
}

// AppAutoSync fails for applications that do not sync automatically with
// prune and self-heal.
var AppAutoSync = &rampart.Check{
	ID: "ARGOCD-APP-AUTOSYNC", Version: 1, Kind: Kind,
	Title:    "Applications sync automatically with prune and self-heal",
	Severity: rampart.SeverityMedium,
	Controls: []string{"CD-01"},
	Remediation: "Set spec.syncPolicy.automated with prune: true and selfHeal: true, so that Git " +
		"is the only way to change the cluster and manual drift is reverted; or set requireAutoSync: " +
		"false on the resource and document the manual sync procedure.",
	Doc: `Reads each application's spec.syncPolicy.automated (prune, selfHeal) when
the register's requireAutoSync is true (the default). One finding per
application without automated sync, or with it but without prune or
self-heal. Not applicable when requireAutoSync is false.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if !f.RequireAutoSync {
			return rampart.NotApplicable("the register does not require automated sync (requireAutoSync: false)")
		}
		if err := appsOrError(f); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		for i := range f.Applications {
			a := &f.Applications[i]
			var missing []string
			switch {
			case !a.AutoSync:
				missing = append(missing, "automated sync")
			default:
				if !a.Prune {
					missing = append(missing, "prune")
				}
				if !a.SelfHeal {
					missing = append(missing, "self-heal")
				}
			}
			if len(missing) > 0 {
				findings = append(findings, rampart.Finding{
					Item:    appItem(a),
					Message: fmt.Sprintf("%s syncs without %s", a.Name, strings.Join(missing, " and ")),
				})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%d application(s) sync automatically with prune and self-heal", len(f.Applications)))
	}),
}

// ProjectWildcards fails for projects that allow any source or
// destination.
var ProjectWildcards = &rampart.Check{
	ID: "ARGOCD-PROJECT-WILDCARDS", Version: 1, Kind: Kind,
	Title:    "Projects name their source repositories and destinations",
	Severity: rampart.SeverityHigh,
	Controls: []string{"CD-01"},
	Remediation: "List the repositories the project's applications come from in sourceRepos and " +
		"the clusters and namespaces they deploy to in destinations; keep the default project " +
		"empty and move applications to projects of their own.",
	Doc: `Reads each AppProject's spec.sourceRepos and spec.destinations. One finding
per project whose sourceRepos holds "*", and one per destination whose
server, name or namespace is "*". Errors when the projects could not be
listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if f.AppProjectsError != "" {
			return rampart.Errored(errors.New(f.AppProjectsError))
		}
		var findings []rampart.Finding
		for _, p := range f.AppProjects {
			for _, r := range p.SourceRepos {
				if r == "*" {
					findings = append(findings, rampart.Finding{
						Item:    "project " + p.Name + ": source repositories",
						Message: fmt.Sprintf("project %s allows applications from any repository (sourceRepos: '*')", p.Name),
					})
					break
				}
			}
			for _, d := range p.Destinations {
				var wild []string
				for field, v := range map[string]string{"server": d.Server, "name": d.Name, "namespace": d.Namespace} {
					if v == "*" {
						wild = append(wild, field)
					}
				}
				if len(wild) == 0 {
					continue
				}
				slices.Sort(wild)
				findings = append(findings, rampart.Finding{
					Item:    fmt.Sprintf("project %s: destination %s %s/%s", p.Name, strings.Join(wild, ","), orAny(d.Server, d.Name), d.Namespace),
					Message: fmt.Sprintf("project %s may deploy to any %s (destination %s, namespace %s)", p.Name, strings.Join(wild, " and "), orAny(d.Server, d.Name), d.Namespace),
				})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%d project(s) name their repositories and destinations", len(f.AppProjects)))
	}),
}

func orAny(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// AdminDisabled fails when the built-in admin account is enabled.
var AdminDisabled = &rampart.Check{
	ID: "ARGOCD-ADMIN-DISABLED", Version: 1, Kind: Kind,
	Title:    "The local admin account is disabled",
	Severity: rampart.SeverityHigh,
	Controls: []string{"CD-01"},
	Remediation: "Sign in through SSO (Dex or OIDC) with RBAC bound to directory groups, then set " +
		"admin.enabled: \"false\" in the argocd-cm ConfigMap.",
	Doc: `Reads the local accounts (GET /api/v1/account) and whether the one named
admin is enabled. Fails when it is; passes when it is disabled or absent.
Errors when the accounts could not be listed (the token needs RBAC
"accounts, get").`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if f.AccountsError != "" {
			return rampart.Errored(errors.New(f.AccountsError))
		}
		for _, a := range f.Accounts {
			if a.Name != "admin" {
				continue
			}
			if a.Enabled {
				return rampart.Failed(rampart.Finding{
					Item:    "account admin",
					Message: fmt.Sprintf("the local admin account is enabled (capabilities: %s)", strings.Join(a.Capabilities, ", ")),
				})
			}
			return rampart.Pass("the local admin account is disabled")
		}
		return rampart.Pass(fmt.Sprintf("no local admin account among %d account(s)", len(f.Accounts)))
	}),
}
