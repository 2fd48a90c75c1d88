package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// The lists checks depend on, as Facts.Errors names them.
const (
	listPods                = "pods"
	listNamespaces          = "namespaces"
	listServiceAccounts     = "serviceaccounts"
	listNodes               = "nodes"
	listNetworkPolicies     = "networkpolicies.networking.k8s.io"
	listRoles               = "roles.rbac.authorization.k8s.io"
	listClusterRoles        = "clusterroles.rbac.authorization.k8s.io"
	listRoleBindings        = "rolebindings.rbac.authorization.k8s.io"
	listClusterRoleBindings = "clusterrolebindings.rbac.authorization.k8s.io"
)

// need returns the reason the first of lists could not be made, if any.
func need(f *Facts, lists ...string) error {
	for _, l := range lists {
		if msg, ok := f.Errors[l]; ok {
			return errors.New(msg)
		}
	}
	return nil
}

// needCustom is need for the custom kinds given.
func needCustom(f *Facts, kinds ...customKind) error {
	keys := make([]string, len(kinds))
	for i, k := range kinds {
		keys[i] = k.key()
	}
	return need(f, keys...)
}

// appWorkloads are the workloads outside system namespaces.
func appWorkloads(f *Facts) []Workload {
	var out []Workload
	for _, w := range f.Workloads {
		if !w.System {
			out = append(out, w)
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func severity(s rampart.Severity) *rampart.Severity { return &s }

// PSSBaseline fails for workloads whose pods break the Baseline Pod
// Security Standard.
var PSSBaseline = &rampart.Check{
	ID:       "K8S-POD-PSS-BASELINE",
	Version:  1,
	Title:    "Workloads meet the Baseline Pod Security Standard",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"K8S-01", "IMG-02"},
	Remediation: "Remove what the finding names from the workload's pod template (privileged, host namespaces, " +
		"hostPath volumes, host ports, added capabilities, unsafe sysctls…), then enforce the level with the " +
		"namespace label pod-security.kubernetes.io/enforce: baseline (or restricted) so it cannot return.",
	Doc: `Reads workloads[].baseline: the live pods of each workload outside the
system namespaces, evaluated by k8s.io/pod-security-admission against the
checks of the Baseline level (latest version). Fails with one finding per
workload and violated check, named namespace/Kind/name: check (the
owning Deployment, StatefulSet, DaemonSet or CronJob, so the finding
survives pod restarts). Errors when pods could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return pss(f, "Baseline", func(w *Workload) []Violation { return w.Baseline })
	}),
}

// PSSRestricted fails for workloads whose pods break the checks the
// Restricted Pod Security Standard adds to Baseline.
var PSSRestricted = &rampart.Check{
	ID:       "K8S-POD-PSS-RESTRICTED",
	Version:  1,
	Title:    "Workloads meet the Restricted Pod Security Standard",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"K8S-01", "IMG-02"},
	Remediation: "Set in the pod template: securityContext.runAsNonRoot: true, seccompProfile.type: " +
		"RuntimeDefault, and for each container allowPrivilegeEscalation: false and capabilities.drop: [ALL]; " +
		"use only the restricted volume types. Then label the namespace pod-security.kubernetes.io/enforce: restricted.",
	Doc: `Reads workloads[].restricted: the live pods of each workload outside the
system namespaces, evaluated by k8s.io/pod-security-admission against the
checks the Restricted level adds (runAsNonRoot, seccompProfile,
allowPrivilegeEscalation, capabilities, volume types, runAsUser). Fails
with one finding per workload and violated check; Baseline violations are
K8S-POD-PSS-BASELINE's. Errors when pods could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return pss(f, "Restricted", func(w *Workload) []Violation { return w.Restricted })
	}),
}

func pss(f *Facts, level string, violations func(*Workload) []Violation) rampart.Evaluation {
	if err := need(f, listPods); err != nil {
		return rampart.Errored(err)
	}
	ws := appWorkloads(f)
	var findings []rampart.Finding
	for i := range ws {
		w := &ws[i]
		for _, v := range violations(w) {
			msg := fmt.Sprintf("%s: %s (%s)", level, v.Reason, plural(w.Pods, "pod", "pods"))
			if v.Detail != "" {
				msg = fmt.Sprintf("%s: %s: %s (%s)", level, v.Reason, v.Detail, plural(w.Pods, "pod", "pods"))
			}
			findings = append(findings, rampart.Finding{Item: w.Ref() + ": " + v.Check, Message: msg})
		}
	}
	return rampart.Verdict(findings, fmt.Sprintf("%s outside system namespaces meet the %s level",
		plural(len(ws), "workload", "workloads"), level))
}

// PSAEnforce fails for namespaces that do not enforce a Pod Security
// Standard through Pod Security Admission.
var PSAEnforce = &rampart.Check{
	ID:       "K8S-PSA-ENFORCE",
	Version:  1,
	Title:    "Namespaces enforce a Pod Security Standard",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"K8S-01"},
	Remediation: "Label the namespace: kubectl label namespace NAME pod-security.kubernetes.io/enforce=restricted " +
		"(baseline where restricted cannot be met yet; try it first with the warn and audit labels). " +
		"Manage the label with the namespace's manifest in Git.",
	Doc: `Reads namespaces[].enforce, the pod-security.kubernetes.io/enforce label,
of every namespace outside the system namespaces. Fails with one finding
per namespace without the label or with the value privileged (which
enforces nothing). Errors when namespaces could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listNamespaces); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		n := 0
		for _, ns := range f.Namespaces {
			if ns.System {
				continue
			}
			n++
			switch ns.Enforce {
			case "":
				findings = append(findings, rampart.Finding{Item: ns.Name, Message: "no pod-security.kubernetes.io/enforce label: pods are admitted unrestricted"})
			case "privileged":
				findings = append(findings, rampart.Finding{Item: ns.Name, Message: "pod-security.kubernetes.io/enforce is privileged: nothing is restricted"})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%s outside system namespaces enforce baseline or restricted", plural(n, "namespace", "namespaces")))
	}),
}

// ImageRegistry fails for containers whose image comes from a registry
// outside the allow-list.
var ImageRegistry = &rampart.Check{
	ID:       "K8S-POD-IMAGE-REGISTRY",
	Version:  1,
	Title:    "Images come from allowed registries",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"IMG-03", "K8S-02"},
	Remediation: "Mirror the image into an allowed registry (where it is scanned) and point the workload at it; " +
		"or, if the registry is trusted, add it to the resource's allowedRegistries. Enforce the list at " +
		"admission with a Kyverno policy.",
	Doc: `Reads policy.allowedRegistries and workloads[].containers[].image of
workloads outside the system namespaces. Images are resolved as the
runtime does (nginx is docker.io/library/nginx); an entry allows a
registry host or a registry/path prefix by whole segments. Fails with one
finding per workload and container whose image is outside the list (or
does not parse). Not applicable without an allow-list. Errors when pods
could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if len(f.Policy.AllowedRegistries) == 0 {
			return rampart.NotApplicable("no allowedRegistries in the resource's spec")
		}
		if err := need(f, listPods); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		images := 0
		for _, w := range appWorkloads(f) {
			for _, c := range w.Containers {
				images++
				img, err := ParseImage(c.Image)
				switch {
				case err != nil:
					findings = append(findings, rampart.Finding{Item: w.Ref() + ": " + c.Name, Message: err.Error()})
				case !img.Allowed(f.Policy.AllowedRegistries):
					findings = append(findings, rampart.Finding{
						Item:    w.Ref() + ": " + c.Name,
						Message: fmt.Sprintf("image %s comes from %s, outside the allowed registries (%s)", c.Image, img.Repository, strings.Join(f.Policy.AllowedRegistries, ", ")),
					})
				}
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%s from allowed registries", plural(images, "container image", "container images")))
	}),
}

// ImageTag fails for containers whose image is neither pinned by digest
// nor by a tag other than latest.
var ImageTag = &rampart.Check{
	ID:       "K8S-POD-IMAGE-TAG",
	Version:  1,
	Title:    "Images are pinned by tag or digest",
	Severity: rampart.SeverityLow,
	Kind:     Kind,
	Controls: []string{"K8S-02", "IMG-03"},
	Remediation: "Reference the image by an immutable version tag, or better by digest (image@sha256:…), " +
		"and let Renovate or Dependabot propose updates.",
	Doc: `Reads workloads[].containers[].image of workloads outside the system
namespaces. Fails with one finding per workload and container whose
image has no digest and no tag, or the tag latest: what runs then depends
on when the node pulled it. Errors when pods could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listPods); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		images := 0
		for _, w := range appWorkloads(f) {
			for _, c := range w.Containers {
				images++
				img, err := ParseImage(c.Image)
				if err != nil {
					findings = append(findings, rampart.Finding{Item: w.Ref() + ": " + c.Name, Message: err.Error()})
					continue
				}
				if img.Digest == "" && (img.Tag == "" || img.Tag == "latest") {
					findings = append(findings, rampart.Finding{
						Item:    w.Ref() + ": " + c.Name,
						Message: fmt.Sprintf("image %s is not pinned (no digest, tag %q)", c.Image, cmpOr(img.Tag, "latest")),
					})
				}
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%s pinned by tag or digest", plural(images, "container image", "container images")))
	}),
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// EnvSecrets fails for containers given a secret as a literal env value.
var EnvSecrets = &rampart.Check{
	ID:       "K8S-ENV-SECRET",
	Version:  1,
	Title:    "No secret is passed as a literal env value",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"K8S-07", "CRED-01"},
	Remediation: "Move the value into a Secret delivered by External Secrets Operator from the secrets manager " +
		"and reference it with env[].valueFrom.secretKeyRef (or envFrom). Rotate the value: it is readable " +
		"by anyone who can get the pod or its owner, and it is in Git if the manifest is.",
	Doc: `Reads workloads[].containers[].secretEnv of every workload, system
namespaces included: env variables with a literal value (not valueFrom)
whose name says it holds a secret (password, token, secret, api key,
private key, credential, access key…, but not *_FILE, *_PATH, *_NAME,
*_URL and the like) and whose value is not a boolean, a short number, a
path or a $(VAR) reference; or whose value is a URL with a password. The
collector never records values. Fails with one finding per workload,
container and variable. Errors when pods could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listPods); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		for _, w := range f.Workloads {
			for _, c := range w.Containers {
				for _, e := range c.SecretEnv {
					msg := fmt.Sprintf("env %s of container %s is a literal value and its name says it is a secret", e.Name, c.Name)
					if e.Why == "url" {
						msg = fmt.Sprintf("env %s of container %s is a literal URL with a password in it", e.Name, c.Name)
					}
					findings = append(findings, rampart.Finding{Item: w.Ref() + ": " + c.Name + "/" + e.Name, Message: msg})
				}
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("no literal secret in the env of %s", plural(len(f.Workloads), "workload", "workloads")))
	}),
}

// TokenAutomount fails for workloads that mount a service account token.
var TokenAutomount = &rampart.Check{
	ID:       "K8S-SA-AUTOMOUNT",
	Version:  1,
	Title:    "Service account tokens are mounted only where needed",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"K8S-06", "K8S-02"},
	Remediation: "Set automountServiceAccountToken: false on the service account (and on the pod template), " +
		"and give workloads that call the API a service account of their own with only the rights they need.",
	Doc: `Reads workloads[].automount of workloads outside the system namespaces:
the pods' automountServiceAccountToken, else their service account's,
else true (Kubernetes' default). Fails with one finding per workload
that mounts a token, naming the service account and what decided.
Errors when pods or service accounts could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listPods, listServiceAccounts); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		ws := appWorkloads(f)
		for _, w := range ws {
			if !w.Automount {
				continue
			}
			why := map[string]string{
				"pod":            "the pod sets automountServiceAccountToken: true",
				"serviceaccount": "the service account sets automountServiceAccountToken: true",
				"default":        "neither the pod nor the service account sets automountServiceAccountToken",
			}[w.AutomountFrom]
			findings = append(findings, rampart.Finding{
				Item:    w.Ref(),
				Message: fmt.Sprintf("mounts the token of service account %s: %s", w.ServiceAccount, why),
			})
		}
		return rampart.Verdict(findings, fmt.Sprintf("none of %s outside system namespaces mounts a service account token",
			plural(len(ws), "workload", "workloads")))
	}),
}

// NetworkDefaultDeny fails for namespaces without a default-deny network
// policy for ingress and egress.
var NetworkDefaultDeny = &rampart.Check{
	ID:       "K8S-NETPOL-DEFAULT-DENY",
	Version:  1,
	Title:    "Namespaces deny ingress and egress by default",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"K8S-05"},
	Remediation: "Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress, Egress] and no rules " +
		"(an egress rule allowing only port 53 for DNS is accepted), then allow each workload's traffic " +
		"with its own policy. The CNI must enforce NetworkPolicies (Calico, Cilium, Canal).",
	Doc: `Reads namespaces[].denyIngress and denyEgress of every namespace outside
the system namespaces: the name of a policy that selects every pod
(empty podSelector) and, for that direction, is of that policy type and
allows nothing (for egress, nothing but port 53). The two directions may
come from one policy or two. Fails with one finding per namespace
missing either. Errors when namespaces or network policies could not be
listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listNamespaces, listNetworkPolicies); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		n := 0
		for _, ns := range f.Namespaces {
			if ns.System {
				continue
			}
			n++
			var missing []string
			if ns.DenyIngress == "" {
				missing = append(missing, "ingress")
			}
			if ns.DenyEgress == "" {
				missing = append(missing, "egress")
			}
			if len(missing) > 0 {
				findings = append(findings, rampart.Finding{Item: ns.Name, Message: fmt.Sprintf("no default-deny policy for %s (%s in the namespace)",
					strings.Join(missing, " and "), plural(ns.NetworkPolicies, "network policy", "network policies"))})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%s outside system namespaces deny ingress and egress by default", plural(n, "namespace", "namespaces")))
	}),
}

// systemSubject reports whether a subject is Kubernetes' own: a system:
// user or group, or a service account in kube-system.
func systemSubject(s Subject) bool {
	if s.Kind == "ServiceAccount" {
		return s.Namespace == "kube-system"
	}
	return strings.HasPrefix(s.Name, "system:")
}

// ClusterAdmin fails for cluster-admin grants to subjects that are neither
// system ones nor allowed by the spec.
var ClusterAdmin = &rampart.Check{
	ID:       "K8S-CLUSTER-ADMIN",
	Version:  1,
	Title:    "cluster-admin is held only by system and allowed subjects",
	Severity: rampart.SeverityCritical,
	Kind:     Kind,
	Controls: []string{"K8S-06"},
	Remediation: "Remove the subject from the ClusterRoleBinding, or bind a narrower role. If the grant is " +
		"intended (the platform team's directory group), list the subject in the resource's allowedClusterAdmins.",
	Doc: `Reads bindings[] of kind ClusterRoleBinding whose role is the
ClusterRole cluster-admin. Fails with one finding per binding and
subject that is not a system one (a system: user or group, or a service
account of kube-system) and not in policy.allowedClusterAdmins. Errors
when ClusterRoleBindings could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listClusterRoleBindings); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		grants := 0
		for _, b := range f.Bindings {
			if b.Kind != "ClusterRoleBinding" || b.RoleKind != "ClusterRole" || b.RoleName != "cluster-admin" {
				continue
			}
			for _, s := range b.Subjects {
				grants++
				if systemSubject(s) || slices.Contains(f.Policy.AllowedClusterAdmins, s.String()) {
					continue
				}
				findings = append(findings, rampart.Finding{
					Item:    b.Ref() + ": " + s.String(),
					Message: fmt.Sprintf("%s is bound to cluster-admin by %s", s, b.Ref()),
				})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%s of cluster-admin, all to system or allowed subjects", plural(grants, "grant", "grants")))
	}),
}

// RBACWildcard fails for roles that grant every verb or every resource.
var RBACWildcard = &rampart.Check{
	ID:       "K8S-RBAC-WILDCARD",
	Version:  1,
	Title:    "Roles do not grant wildcard verbs or resources",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"K8S-06"},
	Remediation: "List the verbs and resources the role's users need instead of \"*\": a wildcard also " +
		"grants what future API versions and custom resources add (including secrets and escalate/bind/impersonate).",
	Doc: `Reads roles[] (Roles and ClusterRoles) other than Kubernetes' defaults
(system: names, the rbac-defaults bootstrap label) and aggregated
ClusterRoles (whose rules come from the roles they aggregate, checked
themselves). Fails with one finding per role with a rule whose verbs or
resources hold "*". Errors when Roles or ClusterRoles could not be
listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listRoles, listClusterRoles); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		n := 0
		for _, r := range f.Roles {
			if r.Default || r.Aggregated {
				continue
			}
			n++
			if len(r.Wildcards) > 0 {
				findings = append(findings, rampart.Finding{Item: r.Ref(), Message: "wildcard rule: " + strings.Join(r.Wildcards, "; ")})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%s without wildcard verbs or resources", plural(n, "role", "roles")))
	}),
}

// RBACUserBinding fails for bindings to individual users.
var RBACUserBinding = &rampart.Check{
	ID:       "K8S-RBAC-USER",
	Version:  1,
	Title:    "Roles are bound to groups, not to users",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"K8S-06"},
	Remediation: "Bind the role to the directory group the person belongs to (OIDC groups claim) and remove " +
		"the user subject, so that access follows joiners, movers and leavers in the identity provider.",
	Doc: `Reads bindings[] (RoleBindings and ClusterRoleBindings) other than
Kubernetes' defaults. Fails with one finding per binding and subject of
kind User whose name is not a system: one. Errors when RoleBindings or
ClusterRoleBindings could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listRoleBindings, listClusterRoleBindings); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		n := 0
		for _, b := range f.Bindings {
			if b.Default {
				continue
			}
			n++
			for _, s := range b.Subjects {
				if s.Kind == "User" && !strings.HasPrefix(s.Name, "system:") {
					findings = append(findings, rampart.Finding{
						Item:    b.Ref() + ": " + s.String(),
						Message: fmt.Sprintf("%s binds %s %s to user %s, not to a group", b.Ref(), b.RoleKind, b.RoleName, s.Name),
					})
				}
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%s bind groups or service accounts only", plural(n, "binding", "bindings")))
	}),
}

// KyvernoEnforce fails when Kyverno is missing or enforces nothing.
var KyvernoEnforce = &rampart.Check{
	ID:       "K8S-KYVERNO-ENFORCE",
	Version:  1,
	Title:    "Kyverno is installed and enforces policies",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"K8S-01"},
	Remediation: "Install Kyverno (its Helm chart, through Flux or Argo CD) and set the policies that guard " +
		"the cluster (pod security, allowed registries, required labels) to Enforce once their Audit reports are clean.",
	Doc: `Reads kyverno: whether kyverno.io ClusterPolicy/Policy or
policies.kyverno.io ValidatingPolicy are served, and for each policy
whether a validation blocks admission (a rule's validate.failureAction
Enforce, or spec.validationFailureAction Enforce for rules without one;
Deny in a ValidatingPolicy's validationActions). Fails when Kyverno is
not installed or no policy enforces. Errors when a policy list failed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needCustom(f, kyvernoClusterPolicy, kyvernoPolicy, kyvernoValidatingPolicy); err != nil {
			return rampart.Errored(err)
		}
		if !f.Kyverno.Installed {
			return rampart.Failed(rampart.Finding{Item: "kyverno", Message: "Kyverno is not installed (no kyverno.io policy kinds are served)"})
		}
		var enforcing []string
		for _, p := range f.Kyverno.Policies {
			if p.Enforce {
				ref := p.Kind + "/" + p.Name
				if p.Namespace != "" {
					ref = p.Namespace + "/" + ref
				}
				enforcing = append(enforcing, ref)
			}
		}
		if len(enforcing) == 0 {
			return rampart.Failed(rampart.Finding{
				Item:    "kyverno",
				Message: fmt.Sprintf("none of %s is in Enforce: violations are only audited", plural(len(f.Kyverno.Policies), "Kyverno policy", "Kyverno policies")),
			})
		}
		return rampart.Pass(fmt.Sprintf("%d of %s in Enforce: %s", len(enforcing),
			plural(len(f.Kyverno.Policies), "policy", "policies"), strings.Join(enforcing, ", ")))
	}),
}

// PolicyReports fails for the failing results of policy reports.
var PolicyReports = &rampart.Check{
	ID:       "K8S-POLICY-REPORTS",
	Version:  1,
	Title:    "Policy reports show no failing results",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"K8S-01"},
	Remediation: "Fix the resource the result names so that it meets the policy, or record a Kyverno " +
		"PolicyException (and a Rampart exception) with a reason and an expiry.",
	Doc: `Reads policyReports: the wgpolicyk8s.io/v1alpha2 PolicyReports and
ClusterPolicyReports (Kyverno writes them), summarized as pass, fail,
warn, error and skip counts, kept as evidence of the policies' effect.
Fails with one finding per resource and policy rule whose result is fail
or error. Not applicable when the report kinds are not installed. Errors
when a report list failed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needCustom(f, policyReport, clusterPolicyReport); err != nil {
			return rampart.Errored(err)
		}
		pr := f.PolicyReports
		if !pr.Installed {
			return rampart.NotApplicable("no PolicyReport kinds (wgpolicyk8s.io) are served")
		}
		var findings []rampart.Finding
		for _, x := range pr.Failures {
			item := x.Resource + ": " + x.Policy
			if x.Rule != "" {
				item += "/" + x.Rule
			}
			msg := x.Result
			if x.Message != "" {
				msg += ": " + x.Message
			}
			findings = append(findings, rampart.Finding{Item: item, Message: msg})
		}
		s := pr.Summary
		return rampart.Verdict(findings, fmt.Sprintf("%s: %d pass, %d fail, %d warn, %d error, %d skip",
			plural(pr.Reports, "report", "reports"), s.Pass, s.Fail, s.Warn, s.Error, s.Skip))
	}),
}

// notReady lists the objects whose Ready condition is not True.
func notReady(objs []Object) []rampart.Finding {
	var findings []rampart.Finding
	for _, o := range objs {
		if o.Ready == "True" || o.NoReadyCondition {
			continue
		}
		var msg string
		if o.Ready == "" {
			msg = "no Ready condition: not reconciled yet"
		} else {
			msg = "Ready=" + o.Ready
			if o.Reason != "" {
				msg += " (" + o.Reason + ")"
			}
			if o.Message != "" {
				msg += ": " + o.Message
			}
		}
		findings = append(findings, rampart.Finding{Item: o.Ref(), Message: msg})
	}
	return findings
}

// ExternalSecretsReady fails when External Secrets Operator is missing or
// an ExternalSecret is not synced.
var ExternalSecretsReady = &rampart.Check{
	ID:       "K8S-EXTERNALSECRET-READY",
	Version:  1,
	Title:    "External Secrets Operator delivers secrets and every ExternalSecret is Ready",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"K8S-07"},
	Remediation: "Read the ExternalSecret's Ready message (kubectl describe externalsecret): usually the " +
		"SecretStore's credentials, a missing key in the secrets manager, or a policy denying the read. " +
		"Install External Secrets Operator if the cluster lacks it.",
	Doc: `Reads externalSecrets: whether external-secrets.io ExternalSecret (v1 or
v1beta1) is served, and each ExternalSecret's Ready condition. Fails
when External Secrets Operator is not installed (the control asks that
secrets come through it), and with one finding per ExternalSecret whose
Ready is not True, with its reason and message. Errors when the list
failed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needCustom(f, externalSecret); err != nil {
			return rampart.Errored(err)
		}
		if len(f.ExternalSecrets.Installed) == 0 {
			return rampart.Failed(rampart.Finding{
				Item:    "external-secrets",
				Message: "External Secrets Operator is not installed (externalsecrets.external-secrets.io is not served)",
			})
		}
		return rampart.Verdict(notReady(f.ExternalSecrets.Objects),
			fmt.Sprintf("%s Ready", plural(len(f.ExternalSecrets.Objects), "ExternalSecret", "ExternalSecrets")))
	}),
}

// CertificatesReady fails for cert-manager Certificates that are not
// Ready.
var CertificatesReady = &rampart.Check{
	ID:       "K8S-CERT-READY",
	Version:  1,
	Title:    "cert-manager Certificates are Ready",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"PKI-01"},
	Remediation: "Read the Certificate's Ready message and its CertificateRequest and Order (kubectl describe): " +
		"usually a failing ACME challenge, an issuer that is not ready, or a rate limit.",
	Doc: `Reads certificates: each cert-manager.io/v1 Certificate's Ready
condition. Fails with one finding per Certificate whose Ready is not
True, with its reason and message. Not applicable when cert-manager is
not installed. Errors when the list failed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needCustom(f, certificate); err != nil {
			return rampart.Errored(err)
		}
		if len(f.Certificates.Installed) == 0 {
			return rampart.NotApplicable("cert-manager is not installed (certificates.cert-manager.io is not served)")
		}
		return rampart.Verdict(notReady(f.Certificates.Objects),
			fmt.Sprintf("%s Ready", plural(len(f.Certificates.Objects), "Certificate", "Certificates")))
	}),
}

// CertificatesExpiring fails for cert-manager Certificates that expire
// within 30 days.
var CertificatesExpiring = &rampart.Check{
	ID:       "K8S-CERT-EXPIRING",
	Version:  1,
	Title:    "No cert-manager Certificate expires within 30 days",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"PKI-01"},
	Remediation: "cert-manager renews a third of the lifetime before expiry by default: a certificate this close " +
		"to expiry is failing to renew. Read its Ready message and fix the issuer, or set spec.renewBefore.",
	Doc: `Reads collectedAt and each cert-manager Certificate's status.notAfter.
Fails with one finding per Certificate that expires within 30 days of
the collection (critical when already expired). Certificates never
issued have no notAfter and are K8S-CERT-READY's concern. Not applicable
when cert-manager is not installed. Errors when the list failed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needCustom(f, certificate); err != nil {
			return rampart.Errored(err)
		}
		if len(f.Certificates.Installed) == 0 {
			return rampart.NotApplicable("cert-manager is not installed (certificates.cert-manager.io is not served)")
		}
		const window = 30 * 24 * time.Hour
		var findings []rampart.Finding
		var earliest *time.Time
		issued := 0
		for _, o := range f.Certificates.Objects {
			if o.NotAfter == nil {
				continue
			}
			issued++
			if earliest == nil || o.NotAfter.Before(*earliest) {
				earliest = o.NotAfter
			}
			left := o.NotAfter.Sub(f.CollectedAt)
			switch {
			case left <= 0:
				findings = append(findings, rampart.Finding{
					Item: o.Ref(), Severity: severity(rampart.SeverityCritical),
					Message: fmt.Sprintf("expired on %s", o.NotAfter.Format(time.DateOnly)),
				})
			case left < window:
				findings = append(findings, rampart.Finding{
					Item:    o.Ref(),
					Message: fmt.Sprintf("expires on %s, in %d days", o.NotAfter.Format(time.DateOnly), int(left.Hours()/24)),
				})
			}
		}
		reason := fmt.Sprintf("%s valid for 30 days or more", plural(issued, "issued Certificate", "issued Certificates"))
		if earliest != nil {
			reason += "; the first expires on " + earliest.Format(time.DateOnly)
		}
		return rampart.Verdict(findings, reason)
	}),
}

// NodesReady fails for nodes that are not Ready.
var NodesReady = &rampart.Check{
	ID:       "K8S-NODE-NOTREADY",
	Version:  1,
	Title:    "Every node is Ready",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"K8S-03"},
	Remediation: "Look at the node's conditions and kubelet logs (journalctl -u rke2-agent / k3s-agent / " +
		"kubelet): disk or memory pressure, network plugin not ready, kubelet stopped, or the machine down.",
	Doc: `Reads nodes[].ready, the Ready condition of every node. Fails with one
finding per node whose Ready is not True (False, Unknown, or absent),
with the condition's reason and message. Errors when nodes could not be
listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listNodes); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		for _, n := range f.Nodes {
			if n.Ready == "True" {
				continue
			}
			msg := "NotReady: Ready=" + cmpOr(n.Ready, "absent")
			if n.Reason != "" {
				msg += " (" + n.Reason + ")"
			}
			if n.Message != "" {
				msg += ": " + n.Message
			}
			findings = append(findings, rampart.Finding{Item: n.Name, Message: msg})
		}
		return rampart.Verdict(findings, fmt.Sprintf("%s Ready", plural(len(f.Nodes), "node", "nodes")))
	}),
}

// groupContainers folds container states by workload and container, so
// that findings name the stable owner and list the pods.
func groupContainers(states []ContainerState, keep func(ContainerState) bool, describe func([]ContainerState) string) []rampart.Finding {
	var order []string
	groups := map[string][]ContainerState{}
	for _, s := range states {
		if !keep(s) {
			continue
		}
		item := s.Namespace + "/" + s.Workload + ": " + s.Container
		if _, ok := groups[item]; !ok {
			order = append(order, item)
		}
		groups[item] = append(groups[item], s)
	}
	var findings []rampart.Finding
	for _, item := range order {
		findings = append(findings, rampart.Finding{Item: item, Message: describe(groups[item])})
	}
	return findings
}

func podNames[T any](xs []T, name func(T) string) string {
	const show = 5
	var names []string
	for i, x := range xs {
		if i == show {
			names = append(names, fmt.Sprintf("and %d more", len(xs)-show))
			break
		}
		names = append(names, name(x))
	}
	return strings.Join(names, ", ")
}

// CrashLoops fails for containers in CrashLoopBackOff.
var CrashLoops = &rampart.Check{
	ID:       "K8S-POD-CRASHLOOP",
	Version:  1,
	Title:    "No container is in CrashLoopBackOff",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"K8S-03"},
	Remediation: "Read the container's previous logs (kubectl logs --previous) and events: a failing start " +
		"command, missing configuration or secret, a failing liveness probe, or too little memory.",
	Doc: `Reads crashLoops: containers (init containers included) of every pod,
system namespaces included, whose state is waiting with reason
CrashLoopBackOff. Fails with one finding per workload and container,
naming the pods. Errors when pods could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listPods); err != nil {
			return rampart.Errored(err)
		}
		findings := groupContainers(f.CrashLoops, func(ContainerState) bool { return true }, func(ss []ContainerState) string {
			msg := fmt.Sprintf("CrashLoopBackOff in %s: %s", plural(len(ss), "pod", "pods"), podNames(ss, func(s ContainerState) string {
				return fmt.Sprintf("%s (%d restarts)", s.Pod, s.Restarts)
			}))
			if ss[0].Message != "" {
				msg += ": " + clip(ss[0].Message)
			}
			return msg
		})
		return rampart.Verdict(findings, fmt.Sprintf("no container of %s in CrashLoopBackOff", plural(f.Pods, "pod", "pods")))
	}),
}

// Evictions fails for evicted pods.
var Evictions = &rampart.Check{
	ID:       "K8S-POD-EVICTED",
	Version:  1,
	Title:    "No pod has been evicted",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"K8S-03"},
	Remediation: "Find the node pressure that caused it (the eviction message names the resource), set " +
		"requests and limits so the scheduler can place pods, then delete the evicted pods.",
	Doc: `Reads evicted: pods, system namespaces included, whose status.reason is
Evicted (the kubelet evicted them under node pressure; they stay until
deleted). Fails with one finding per workload, naming the pods and the
eviction message. Errors when pods could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listPods); err != nil {
			return rampart.Errored(err)
		}
		var order []string
		groups := map[string][]PodState{}
		for _, p := range f.Evicted {
			item := p.Namespace + "/" + p.Workload
			if _, ok := groups[item]; !ok {
				order = append(order, item)
			}
			groups[item] = append(groups[item], p)
		}
		var findings []rampart.Finding
		for _, item := range order {
			ps := groups[item]
			msg := fmt.Sprintf("%s evicted: %s", plural(len(ps), "pod", "pods"), podNames(ps, func(p PodState) string { return p.Pod }))
			if ps[0].Message != "" {
				msg += ": " + clip(ps[0].Message)
			}
			findings = append(findings, rampart.Finding{Item: item, Message: msg})
		}
		return rampart.Verdict(findings, fmt.Sprintf("none of %s evicted", plural(f.Pods, "pod", "pods")))
	}),
}

// Restarts fails for containers restarting more than the threshold.
var Restarts = &rampart.Check{
	ID:       "K8S-CONTAINER-RESTARTS",
	Version:  1,
	Title:    "No container restarts more than the threshold",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"K8S-03"},
	Remediation: "Read the container's last termination reason (OOMKilled: raise the memory limit or fix the " +
		"leak; Error: read kubectl logs --previous) and its liveness probe.",
	Doc: `Reads policy.restartThreshold (default 5) and restarted: containers of
every pod, system namespaces included, with their restartCount and last
termination reason. Fails with one finding per workload and container
with a pod above the threshold. Errors when pods could not be listed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := need(f, listPods); err != nil {
			return rampart.Errored(err)
		}
		limit := f.Policy.RestartThreshold
		findings := groupContainers(f.Restarted, func(s ContainerState) bool { return s.Restarts > limit }, func(ss []ContainerState) string {
			msg := fmt.Sprintf("restarted more than %d times in %s: %s", limit, plural(len(ss), "pod", "pods"), podNames(ss, func(s ContainerState) string {
				return fmt.Sprintf("%s (%d)", s.Pod, s.Restarts)
			}))
			if ss[0].Reason != "" {
				msg += "; last termination: " + ss[0].Reason
			}
			return msg
		})
		return rampart.Verdict(findings, fmt.Sprintf("no container restarted more than %d times", limit))
	}),
}

// Version fails when the server runs a version older than the minimum.
var Version = &rampart.Check{
	ID:       "K8S-VERSION",
	Version:  1,
	Title:    "The cluster runs a supported Kubernetes version",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"K8S-04"},
	Remediation: "Plan the upgrade: read the rke2/k3s (or upstream) release notes, upgrade a non-production " +
		"cluster first, then this one, one minor version at a time.",
	Doc: `Reads server.gitVersion (from the API server's /version) and
policy.minVersion. Versions compare by major.minor.patch; distribution
suffixes (+rke2r1, +k3s1, -eks-…, -gke.…) are ignored. Fails when the
server is older. Not applicable without minVersion. Errors when the
server's version does not parse.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if f.Policy.MinVersion == "" {
			return rampart.NotApplicable(fmt.Sprintf("no minVersion in the resource's spec (the server runs %s)", f.Server.GitVersion))
		}
		ok, err := AtLeast(f.Server.GitVersion, f.Policy.MinVersion)
		if err != nil {
			return rampart.Errored(fmt.Errorf("compare server version: %w", err))
		}
		if !ok {
			return rampart.Failed(rampart.Finding{
				Item:    "server version",
				Message: fmt.Sprintf("%s (%s) is older than the minimum %s", f.Server.GitVersion, f.Server.Distribution, f.Policy.MinVersion),
			})
		}
		return rampart.Pass(fmt.Sprintf("%s (%s) is at least %s", f.Server.GitVersion, f.Server.Distribution, f.Policy.MinVersion))
	}),
}

func needFlux(f *Facts) error { return needCustom(f, fluxKinds...) }

// FluxReady fails for Flux objects that are not Ready.
var FluxReady = &rampart.Check{
	ID:       "K8S-FLUX-READY",
	Version:  1,
	Title:    "Flux Kustomizations, HelmReleases and sources are Ready",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"CD-02"},
	Remediation: "Read the object's Ready message (flux get all -A): a build or apply error in the " +
		"manifests, a failing Helm install or upgrade, or a source that cannot be fetched (credentials, " +
		"URL, signature). Fix it in Git and let Flux reconcile.",
	Doc: `Reads flux: Kustomizations (kustomize.toolkit.fluxcd.io), HelmReleases
(helm.toolkit.fluxcd.io) and GitRepositories, OCIRepositories and
HelmRepositories (source.toolkit.fluxcd.io), with their Ready condition.
Fails with one finding per object whose Ready is False, Unknown or
absent, with its reason and message (an OCI HelmRepository has no Ready
condition and is skipped). Not applicable when Flux is not installed.
Errors when a Flux list failed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needFlux(f); err != nil {
			return rampart.Errored(err)
		}
		if len(f.Flux.Installed) == 0 {
			return rampart.NotApplicable("Flux is not installed (no toolkit.fluxcd.io kinds are served)")
		}
		return rampart.Verdict(notReady(f.Flux.Objects), fmt.Sprintf("%s Ready", plural(len(f.Flux.Objects), "Flux object", "Flux objects")))
	}),
}

// FluxSuspended fails for suspended Flux objects.
var FluxSuspended = &rampart.Check{
	ID:       "K8S-FLUX-SUSPENDED",
	Version:  1,
	Title:    "No Flux object is suspended",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"CD-02", "CD-01"},
	Remediation: "Resume it (flux resume …) once the reason for suspending it is gone; while suspended, " +
		"the cluster drifts from Git unnoticed. Record an exception if it must stay suspended.",
	Doc: `Reads flux[].suspended, each Flux object's spec.suspend. Fails with
one finding per suspended object. Not applicable when Flux is not
installed. Errors when a Flux list failed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needFlux(f); err != nil {
			return rampart.Errored(err)
		}
		if len(f.Flux.Installed) == 0 {
			return rampart.NotApplicable("Flux is not installed (no toolkit.fluxcd.io kinds are served)")
		}
		var findings []rampart.Finding
		for _, o := range f.Flux.Objects {
			if o.Suspended {
				findings = append(findings, rampart.Finding{Item: o.Ref(), Message: "suspended (spec.suspend: true): Git changes are not applied"})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("none of %s suspended", plural(len(f.Flux.Objects), "Flux object", "Flux objects")))
	}),
}

// FluxVerification fails for Flux Git and OCI sources that do not verify
// signatures, where the spec requires it.
var FluxVerification = &rampart.Check{
	ID:       "K8S-FLUX-VERIFY",
	Version:  1,
	Title:    "Flux sources verify signatures",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"CD-01", "SC-05"},
	Remediation: "Set spec.verify on the source: for a GitRepository, mode and a secretRef holding the " +
		"signers' PGP public keys; for an OCIRepository, provider cosign (keyless with matchOIDCIdentity, " +
		"or a public key) or notation.",
	Doc: `Reads policy.requireFluxVerification and, for each GitRepository and
OCIRepository, spec.verify. Fails with one finding per source without
it. Not applicable when the spec does not require verification or Flux
is not installed. Errors when a Flux list failed.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if !f.Policy.RequireFluxVerification {
			return rampart.NotApplicable("the resource's spec does not set requireFluxVerification")
		}
		if err := needFlux(f); err != nil {
			return rampart.Errored(err)
		}
		if len(f.Flux.Installed) == 0 {
			return rampart.NotApplicable("Flux is not installed (no toolkit.fluxcd.io kinds are served)")
		}
		var findings []rampart.Finding
		n := 0
		for _, o := range f.Flux.Objects {
			if !o.VerifySupported {
				continue
			}
			n++
			if o.Verify == "" {
				findings = append(findings, rampart.Finding{Item: o.Ref(), Message: "no spec.verify: what Flux applies is not checked against a signature"})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%s verify signatures", plural(n, "Git/OCI source", "Git/OCI sources")))
	}),
}
