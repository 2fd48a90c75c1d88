package github_test

import (
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/github/githubfake"
)

var orgChecks = []string{
	"GH-ORG-2FA", "GH-ORG-BASE-PERMISSION", "GH-ORG-PUBLIC-REPOS", "GH-ORG-ADMINS", "GH-ORG-ACTIONS-ALLOWED",
	"GH-ORG-WORKFLOW-PERMISSIONS", "GH-ORG-SECURITY-DEFAULTS", "GH-ORG-WEBHOOKS", "GH-ORG-APPS", "GH-ORG-AUDIT-LOG",
}

// A token without admin:org (here: an owner's token with repo only) must
// make every organization check an error that names the missing scope,
// never a pass or a fail; what GraphQL would tell is unknown too, while
// what REST shows to repo still judges.
func TestTokenWithoutAdminOrg(t *testing.T) {
	t.Parallel()
	org := githubfake.Generate("acme", 3, func(i int, r *githubfake.Repo) {
		if i == 1 {
			r.HasWiki = true
		}
	})
	org.TwoFactorRequired = false // a pass or a fail would both be wrong
	weak := githubfake.Token{Value: "repo-only", Owner: true, Scopes: []string{"repo"}}
	srv := fake(t, githubfake.Config{Org: org, Tokens: []githubfake.Token{weak}})
	f, err := collect(t, collector(weak.Value), specFor(t, srv, "acme"))
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	evals := evaluate(t, f)
	for _, id := range orgChecks {
		ev := evals[id]
		if ev.Status != errd {
			t.Errorf("%s = %s (%q), want error", id, ev.Status, ev.Reason)
			continue
		}
		if !strings.Contains(ev.Reason, "the token lacks") {
			t.Errorf("%s reason %q does not say what the token lacks", id, ev.Reason)
		}
	}
	for id, scope := range map[string]string{
		"GH-ORG-2FA": "admin:org", "GH-ORG-WEBHOOKS": "admin:org_hook", "GH-ORG-AUDIT-LOG": "read:audit_log",
		"GH-ORG-ACTIONS-ALLOWED": "admin:org", "GH-ORG-ADMINS": "read:org",
	} {
		if r := evals[id].Reason; !containsAll(r, scope, "the token has repo") {
			t.Errorf("%s reason %q, want it to name %s and the token's scopes", id, r, scope)
		}
	}
	// GraphQL needs read:org for the organization's repositories.
	for _, id := range []string{"GH-REPO-BRANCH-PROTECTED", "GH-REPO-VULN-ALERTS", "GH-REPO-DEPLOY-KEYS"} {
		if ev := evals[id]; ev.Status != errd || !strings.Contains(ev.Reason, "read:org") {
			t.Errorf("%s = %s (%q), want an error naming read:org", id, ev.Status, ev.Reason)
		}
	}
	// REST still shows the features to a repo token.
	if ev := evals["GH-REPO-WIKI-PROJECTS"]; ev.Status != fail || len(ev.Findings) != 1 || ev.Findings[0].Item != "repo-0002: wiki" {
		t.Errorf("GH-REPO-WIKI-PROJECTS = %s %v, want the one wiki", ev.Status, items(ev))
	}
}

// A member who is not an owner sees repositories but none of their admin
// settings: GitHub nulls the repository node over a refused non-null
// field, and the REST listing leaves out security_and_analysis. Those
// checks must be errors, never passes.
func TestNonAdminToken(t *testing.T) {
	t.Parallel()
	member := githubfake.Token{Value: "member", Owner: false, Scopes: []string{"repo", "read:org"}}
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 4, nil), Tokens: []githubfake.Token{member}})
	f, err := collect(t, collector(member.Value), specFor(t, srv, "acme"))
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if len(f.Repositories) != 4 {
		t.Fatalf("%d repositories, want the 4 the REST listing names", len(f.Repositories))
	}
	evals := evaluate(t, f)
	for _, id := range []string{"GH-REPO-BRANCH-PROTECTED", "GH-REPO-VULN-ALERTS", "GH-REPO-DEPLOY-KEYS", "GH-REPO-SECRET-SCANNING", "GH-ORG-2FA"} {
		if ev := evals[id]; ev.Status != errd {
			t.Errorf("%s = %s (%q), want error", id, ev.Status, ev.Reason)
		}
	}
	if r := evals["GH-REPO-VULN-ALERTS"].Reason; !containsAll(r, "the token lacks admin rights on the repository", "FORBIDDEN", "4 repositories could not be checked") {
		t.Errorf("GH-REPO-VULN-ALERTS reason %q, want GitHub's refusal for each repository", r)
	}
	if r := evals["GH-REPO-SECRET-SCANNING"].Reason; !strings.Contains(r, "security_and_analysis") {
		t.Errorf("GH-REPO-SECRET-SCANNING reason %q", r)
	}
	if ev := evals["GH-REPO-VISIBILITY"]; ev.Status != pass {
		t.Errorf("GH-REPO-VISIBILITY = %s (%q), want pass from REST", ev.Status, ev.Reason)
	}
}

// A bad token fails the whole collection, so the engine marks every
// result error with the reason.
func TestBadToken(t *testing.T) {
	t.Parallel()
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 1, nil)})
	_, err := collect(t, collector("wrong"), specFor(t, srv, "acme"))
	if err == nil || !containsAll(err.Error(), "401 Bad credentials", "env:GITHUB_TOKEN") {
		t.Fatalf("err = %v, want the rejected credential named", err)
	}
	if st := srv.Stats(); st.Requests != 1 {
		t.Errorf("%d requests after a 401, want 1: nothing else can succeed", st.Requests)
	}
}

func TestUnknownOrganization(t *testing.T) {
	t.Parallel()
	srv := fake(t, githubfake.Config{Org: githubfake.Generate("acme", 1, nil)})
	_, err := collect(t, collector(ownerToken.Value), specFor(t, srv, "umbrella"))
	if err == nil || !strings.Contains(err.Error(), `organization "umbrella" does not exist`) {
		t.Fatalf("err = %v", err)
	}
}

// Without the audit log API (a plan below Enterprise Cloud), the audit
// log check is not applicable with the reason, never a pass; with the
// plan but without the scope, it is an error.
func TestAuditLogPlan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		plan   string
		scopes []string
		want   rampart.Status
		reason string
	}{
		{"team plan", "team", ownerToken.Scopes, na, "the organization's plan has no audit log API"},
		{"enterprise without scope", "enterprise", []string{"repo", "admin:org", "admin:org_hook"}, errd, "the token lacks read:audit_log"},
		{"enterprise", "enterprise", ownerToken.Scopes, pass, "0 audit log event(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			org := githubfake.Generate("acme", 1, nil)
			org.Plan = tc.plan
			tok := githubfake.Token{Value: "t", Owner: true, Scopes: tc.scopes}
			srv := fake(t, githubfake.Config{Org: org, Tokens: []githubfake.Token{tok}})
			f, err := collect(t, collector("t"), specFor(t, srv, "acme"))
			if err != nil {
				t.Fatal(err)
			}
			ev := evaluate(t, f)["GH-ORG-AUDIT-LOG"]
			if ev.Status != tc.want || !strings.Contains(ev.Reason, tc.reason) {
				t.Errorf("GH-ORG-AUDIT-LOG = %s (%q), want %s with %q", ev.Status, ev.Reason, tc.want, tc.reason)
			}
		})
	}
}
