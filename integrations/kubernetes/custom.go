package kubernetes

import (
	"context"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// customKind is a custom resource Rampart reads when its definition is
// installed, with the versions it understands, newest first.
type customKind struct {
	Kind     string
	Group    string
	Resource string
	Versions []string
}

// key names the kind in Facts.Errors: "resource.group".
func (c customKind) key() string { return c.Resource + "." + c.Group }

// The custom resources read. Versions are those whose fields used here
// have the same meaning.
var (
	kyvernoClusterPolicy    = customKind{"ClusterPolicy", "kyverno.io", "clusterpolicies", []string{"v1"}}
	kyvernoPolicy           = customKind{"Policy", "kyverno.io", "policies", []string{"v1"}}
	kyvernoValidatingPolicy = customKind{"ValidatingPolicy", "policies.kyverno.io", "validatingpolicies", []string{"v1", "v1beta1", "v1alpha1"}}
	policyReport            = customKind{"PolicyReport", "wgpolicyk8s.io", "policyreports", []string{"v1alpha2"}}
	clusterPolicyReport     = customKind{"ClusterPolicyReport", "wgpolicyk8s.io", "clusterpolicyreports", []string{"v1alpha2"}}
	externalSecret          = customKind{"ExternalSecret", "external-secrets.io", "externalsecrets", []string{"v1", "v1beta1"}}
	certificate             = customKind{"Certificate", "cert-manager.io", "certificates", []string{"v1"}}
	fluxKustomization       = customKind{"Kustomization", "kustomize.toolkit.fluxcd.io", "kustomizations", []string{"v1", "v1beta2"}}
	fluxHelmRelease         = customKind{"HelmRelease", "helm.toolkit.fluxcd.io", "helmreleases", []string{"v2", "v2beta2", "v2beta1"}}
	fluxGitRepository       = customKind{"GitRepository", "source.toolkit.fluxcd.io", "gitrepositories", []string{"v1", "v1beta2"}}
	fluxOCIRepository       = customKind{"OCIRepository", "source.toolkit.fluxcd.io", "ocirepositories", []string{"v1", "v1beta2"}}
	fluxHelmRepository      = customKind{"HelmRepository", "source.toolkit.fluxcd.io", "helmrepositories", []string{"v1", "v1beta2"}}
)

// FluxKinds are the Flux kinds read, in report order.
var fluxKinds = []customKind{fluxKustomization, fluxHelmRelease, fluxGitRepository, fluxOCIRepository, fluxHelmRepository}

// resolve returns the version of c the API serves, if any. A kind whose
// group failed discovery is reported through that error.
func (k *collection) resolve(c customKind) (schema.GroupVersionResource, bool) {
	for _, v := range c.Versions {
		if k.served[c.Resource+"."+c.Group+"/"+v] {
			return schema.GroupVersionResource{Group: c.Group, Version: v, Resource: c.Resource}, true
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, v := range c.Versions {
		if msg, failed := k.errors["discovery "+c.Group+"/"+v]; failed {
			k.errors[c.key()] = "discovery of " + c.Group + "/" + v + " failed: " + msg
		}
	}
	return schema.GroupVersionResource{}, false
}

func (k *collection) kyverno(ctx context.Context) {
	var out Kyverno
	for _, c := range []customKind{kyvernoClusterPolicy, kyvernoPolicy, kyvernoValidatingPolicy} {
		gvr, ok := k.resolve(c)
		if !ok {
			continue
		}
		out.Installed = true
		var ps []KyvernoPolicy
		if !k.listCustom(ctx, c.key(), gvr, func(u *unstructured.Unstructured) {
			ps = append(ps, KyvernoPolicy{Kind: c.Kind, Namespace: u.GetNamespace(), Name: u.GetName(), Enforce: kyvernoEnforces(c, u)})
		}) {
			continue
		}
		out.Policies = append(out.Policies, ps...)
	}
	k.mu.Lock()
	k.facts.Kyverno = out
	k.mu.Unlock()
}

// kyvernoEnforces reports whether a Kyverno policy blocks admission: a
// validate rule whose failureAction (Kyverno 1.13+) is Enforce, or that
// inherits an Enforce spec.validationFailureAction; for a
// ValidatingPolicy, Deny among its validationActions.
func kyvernoEnforces(c customKind, u *unstructured.Unstructured) bool {
	if c.key() == kyvernoValidatingPolicy.key() {
		actions, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "validationActions")
		for _, a := range actions {
			if strings.EqualFold(a, "Deny") {
				return true
			}
		}
		return false
	}
	action, _, _ := unstructured.NestedString(u.Object, "spec", "validationFailureAction")
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		validate, ok := rule["validate"].(map[string]any)
		if !ok {
			continue
		}
		if fa, ok := validate["failureAction"].(string); ok && fa != "" {
			if strings.EqualFold(fa, "Enforce") {
				return true
			}
			continue
		}
		if strings.EqualFold(action, "Enforce") {
			return true
		}
	}
	return false
}

func (k *collection) policyReports(ctx context.Context) {
	var out Reports
	for _, c := range []customKind{policyReport, clusterPolicyReport} {
		gvr, ok := k.resolve(c)
		if !ok {
			continue
		}
		out.Installed = true
		var part Reports
		if !k.listCustom(ctx, c.key(), gvr, func(u *unstructured.Unstructured) { addReport(&part, u) }) {
			continue
		}
		out.Reports += part.Reports
		out.Summary.Pass += part.Summary.Pass
		out.Summary.Fail += part.Summary.Fail
		out.Summary.Warn += part.Summary.Warn
		out.Summary.Error += part.Summary.Error
		out.Summary.Skip += part.Summary.Skip
		out.Failures = append(out.Failures, part.Failures...)
	}
	k.mu.Lock()
	k.facts.PolicyReports = out
	k.mu.Unlock()
}

// addReport counts a report's results and keeps its failures. The
// results are counted rather than the report's summary trusted, so that
// the summary and the failures always agree.
func addReport(out *Reports, u *unstructured.Unstructured) {
	out.Reports++
	// Kyverno 1.10+ writes one report per resource, named in scope;
	// older reports name the resources in each result.
	scope := objectRef(u.Object, "scope")
	results, _, _ := unstructured.NestedSlice(u.Object, "results")
	for _, r := range results {
		res, _ := r.(map[string]any)
		outcome, _ := res["result"].(string)
		switch outcome {
		case "pass":
			out.Summary.Pass++
		case "fail":
			out.Summary.Fail++
		case "warn":
			out.Summary.Warn++
		case "error":
			out.Summary.Error++
		case "skip":
			out.Summary.Skip++
		}
		if outcome != "fail" && outcome != "error" {
			continue
		}
		policy, _ := res["policy"].(string)
		rule, _ := res["rule"].(string)
		msg, _ := res["message"].(string)
		resources, _ := res["resources"].([]any)
		refs := []string{scope}
		if len(resources) > 0 {
			refs = refs[:0]
			for _, x := range resources {
				if m, ok := x.(map[string]any); ok {
					refs = append(refs, objectRef(map[string]any{"r": m}, "r"))
				}
			}
		}
		for _, ref := range refs {
			if ref == "" {
				ref = u.GetNamespace() + "/" + u.GetName()
			}
			out.Failures = append(out.Failures, PolicyFailure{Policy: policy, Rule: rule, Result: outcome, Resource: ref, Message: clip(msg)})
		}
	}
}

// objectRef reads an object reference at obj[field] as
// "namespace/Kind/name" or "Kind/name"; empty when absent.
func objectRef(obj map[string]any, field string) string {
	kind, _, _ := unstructured.NestedString(obj, field, "kind")
	name, _, _ := unstructured.NestedString(obj, field, "name")
	ns, _, _ := unstructured.NestedString(obj, field, "namespace")
	if kind == "" && name == "" {
		return ""
	}
	if ns != "" {
		return ns + "/" + kind + "/" + name
	}
	return kind + "/" + name
}

// clip bounds a message kept in the facts.
func clip(s string) string {
	const max = 300
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// listObjects reads every object of the kinds given into cr, with fn
// adding kind-specific fields.
func (k *collection) listObjects(ctx context.Context, kinds []customKind, fn func(customKind, *unstructured.Unstructured, *Object)) CustomResources {
	var cr CustomResources
	for _, c := range kinds {
		gvr, ok := k.resolve(c)
		if !ok {
			continue
		}
		cr.Installed = append(cr.Installed, c.Resource+"."+c.Group+"/"+gvr.Version)
		var objs []Object
		if !k.listCustom(ctx, c.key(), gvr, func(u *unstructured.Unstructured) {
			o := Object{Kind: c.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
			readReady(u, &o)
			if fn != nil {
				fn(c, u, &o)
			}
			objs = append(objs, o)
		}) {
			continue
		}
		cr.Objects = append(cr.Objects, objs...)
	}
	return cr
}

// readReady reads the Ready condition of status.conditions.
func readReady(u *unstructured.Unstructured, o *Object) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		cond, _ := c.(map[string]any)
		if t, _ := cond["type"].(string); t != "Ready" {
			continue
		}
		o.Ready, _ = cond["status"].(string)
		o.Reason, _ = cond["reason"].(string)
		msg, _ := cond["message"].(string)
		o.Message = clip(msg)
		if og, ok := cond["observedGeneration"].(int64); ok && og > 0 && og < u.GetGeneration() {
			o.Stale = true
		}
	}
}

func (k *collection) externalSecrets(ctx context.Context) {
	cr := k.listObjects(ctx, []customKind{externalSecret}, nil)
	k.mu.Lock()
	k.facts.ExternalSecrets = cr
	k.mu.Unlock()
}

func (k *collection) certificates(ctx context.Context) {
	cr := k.listObjects(ctx, []customKind{certificate}, func(_ customKind, u *unstructured.Unstructured, o *Object) {
		if s, _, _ := unstructured.NestedString(u.Object, "status", "notAfter"); s != "" {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				t = t.UTC()
				o.NotAfter = &t
			}
		}
	})
	k.mu.Lock()
	k.facts.Certificates = cr
	k.mu.Unlock()
}

func (k *collection) flux(ctx context.Context) {
	cr := k.listObjects(ctx, fluxKinds, func(c customKind, u *unstructured.Unstructured, o *Object) {
		o.Suspended, _, _ = unstructured.NestedBool(u.Object, "spec", "suspend")
		switch c.Kind {
		case fluxGitRepository.Kind, fluxOCIRepository.Kind:
			o.VerifySupported = true
			if v, ok, _ := unstructured.NestedMap(u.Object, "spec", "verify"); ok && len(v) > 0 {
				o.Verify, _ = v["provider"].(string)
				if o.Verify == "" {
					// GitRepository verifies commits and tags with PGP keys.
					o.Verify = "pgp"
				}
			}
		case fluxHelmRepository.Kind:
			// An OCI HelmRepository is only a pointer; Flux no longer
			// reports Ready for it.
			if t, _, _ := unstructured.NestedString(u.Object, "spec", "type"); t == "oci" {
				o.NoReadyCondition = true
			}
		}
	})
	k.mu.Lock()
	k.facts.Flux = cr
	k.mu.Unlock()
}
