package kubernetes

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// Internals the external tests exercise directly.
var (
	LiteralSecret = literalSecret
	Denies        = denies
	EvaluatePSS   = evaluatePSS
)

// ReadCustom runs every reader of custom resources over u, as the
// collector would for each kind, and returns what they made of it.
func ReadCustom(u *unstructured.Unstructured) (Reports, Object, []bool) {
	var r Reports
	addReport(&r, u)
	var o Object
	readReady(u, &o)
	var enforces []bool
	for _, k := range []customKind{kyvernoClusterPolicy, kyvernoValidatingPolicy} {
		enforces = append(enforces, kyvernoEnforces(k, u))
	}
	return r, o, enforces
}
