package kube

import (
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// pssCheck is one Pod Security Standards check with an evaluator of its
// own, so that a violation is reported under the check's id (the
// library's aggregate evaluator returns results without ids).
type pssCheck struct {
	id    string
	level api.Level
	eval  policy.Evaluator
}

var pssChecks = sync.OnceValues(func() ([]pssCheck, error) {
	var out []pssCheck
	for _, c := range policy.DefaultChecks() {
		e, err := policy.NewEvaluator([]policy.Check{c}, nil)
		if err != nil {
			return nil, fmt.Errorf("pod security check %s: %w", c.ID, err)
		}
		out = append(out, pssCheck{id: string(c.ID), level: c.Level, eval: e})
	}
	return out, nil
})

// violation is one failed Pod Security check.
type violation struct {
	id, reason, detail string
}

// violations evaluates a pod template against the checks of one level
// (baseline, or the checks restricted adds), at the latest policy
// version. Restricted checks that replace a baseline check are reported
// as well as the baseline check they replace: the two levels are two
// Rampart checks.
func violations(level api.Level, t *corev1.PodTemplateSpec) ([]violation, error) {
	checks, err := pssChecks()
	if err != nil {
		return nil, err
	}
	lv := api.LevelVersion{Level: level, Version: api.LatestVersion()}
	var out []violation
	for _, c := range checks {
		if c.level != level {
			continue
		}
		for _, r := range c.eval.EvaluatePod(lv, &t.ObjectMeta, &t.Spec) {
			if !r.Allowed {
				out = append(out, violation{id: c.id, reason: r.ForbiddenReason, detail: r.ForbiddenDetail})
			}
		}
	}
	return out, nil
}
