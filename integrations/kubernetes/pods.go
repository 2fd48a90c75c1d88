package kubernetes

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// Owner names the workload a pod belongs to, as Kind and name, chosen so
// that it stays the same when the pod is replaced: a ReplicaSet made by a
// Deployment is named for the Deployment (its pod-template-hash suffix
// removed), a Job made by a CronJob for the CronJob (its numeric schedule
// suffix removed); a pod without a controller is its own workload.
func Owner(meta *metav1.ObjectMeta) (kind, name string) {
	ref := metav1.GetControllerOfNoCopy(meta)
	if ref == nil {
		return "Pod", meta.Name
	}
	switch ref.Kind {
	case "ReplicaSet":
		if h := meta.Labels["pod-template-hash"]; h != "" {
			if d, ok := strings.CutSuffix(ref.Name, "-"+h); ok && d != "" {
				return "Deployment", d
			}
		}
	case "Job":
		if i := strings.LastIndexByte(ref.Name, '-'); i > 0 && isScheduleSuffix(ref.Name[i+1:]) {
			return "CronJob", ref.Name[:i]
		}
	case "Node":
		// A static pod's mirror: the pod is the workload.
		return "Pod", meta.Name
	}
	return ref.Kind, ref.Name
}

// isScheduleSuffix reports whether s is the suffix the CronJob controller
// appends to a Job's name: the scheduled time in minutes since the epoch.
func isScheduleSuffix(s string) bool {
	if len(s) < 8 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// pssCheck is one Pod Security Standards check at its newest version.
type pssCheck struct {
	id    string
	level api.Level
	check policy.CheckPodFn
}

// pssChecks are the library's checks, each evaluated on its own so that a
// violation is reported under its id; the aggregate evaluator loses ids.
var pssChecks = sync.OnceValue(func() []pssCheck {
	var out []pssCheck
	for _, c := range policy.DefaultChecks() {
		if len(c.Versions) == 0 {
			continue
		}
		latest := c.Versions[0]
		for _, v := range c.Versions[1:] {
			if latest.MinimumVersion.Older(v.MinimumVersion) {
				latest = v
			}
		}
		out = append(out, pssCheck{id: string(c.ID), level: c.Level, check: latest.CheckPod})
	}
	slices.SortFunc(out, func(a, b pssCheck) int { return strings.Compare(a.id, b.id) })
	return out
})

// evaluatePSS returns the checks of the baseline level, and those the
// restricted level adds, that the pod fails.
func evaluatePSS(meta *metav1.ObjectMeta, spec *corev1.PodSpec) (baseline, restricted []Violation) {
	for _, c := range pssChecks() {
		r := c.check(meta, spec)
		if r.Allowed {
			continue
		}
		v := Violation{Check: c.id, Reason: r.ForbiddenReason, Detail: r.ForbiddenDetail}
		switch c.level {
		case api.LevelBaseline:
			baseline = append(baseline, v)
		case api.LevelRestricted:
			restricted = append(restricted, v)
		}
	}
	return baseline, restricted
}

// secretName matches env variable names that say they hold a secret.
var secretName = regexp.MustCompile(`(?i)(passw(or)?d|passwd|\bpwd|secret|token|api_?key|apikey|private_?key|credential|access_?key|auth_?key|signing_?key|encryption_?key|client_?secret|\bdsn$|conn(ection)?_?str)`)

// notSecretSuffix matches names that hold a reference to a secret, not
// the secret: a file path, a name, a header name, a lifetime.
var notSecretSuffix = regexp.MustCompile(`(?i)(_file|_path|_dir|_name|_id|_header|_ttl|_expiry|_expiration|_length|_url|_endpoint|_enabled|_type)$`)

// literalSecret says whether env variable name with literal value looks
// like a secret, and why. The value is read only to rule out the obvious
// non-secrets (booleans, numbers, paths) and to find a password in a URL;
// it is never returned.
func literalSecret(name, value string) (why string, ok bool) {
	if value == "" {
		return "", false
	}
	if u, err := url.Parse(value); err == nil && u.User != nil && u.Host != "" {
		if p, set := u.User.Password(); set && p != "" && !strings.HasPrefix(p, "$(") {
			return "url", true
		}
	}
	if !secretName.MatchString(name) || notSecretSuffix.MatchString(name) {
		return "", false
	}
	v := strings.TrimSpace(value)
	switch strings.ToLower(v) {
	case "true", "false", "yes", "no", "on", "off", "none", "null", "changeme-in-secret":
		return "", false
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil && len(v) < 8 {
		return "", false
	}
	// A path, or a reference to another variable, is not the secret.
	if strings.HasPrefix(v, "/") || (strings.HasPrefix(v, "$(") && strings.HasSuffix(v, ")")) {
		return "", false
	}
	return "name", true
}

// podSummary accumulates pods into workloads and health states.
type podSummary struct {
	system     map[string]bool
	workloads  map[string]*Workload
	pods       int
	crashLoops []ContainerState
	evicted    []PodState
	restarted  []ContainerState
}

func newPodSummary(system map[string]bool) *podSummary {
	return &podSummary{system: system, workloads: map[string]*Workload{}}
}

func (s *podSummary) add(p *corev1.Pod) {
	s.pods++
	kind, name := Owner(&p.ObjectMeta)
	owner := kind + "/" + name
	key := p.Namespace + "/" + owner
	w := s.workloads[key]
	if w == nil {
		w = &Workload{Namespace: p.Namespace, Kind: kind, Name: name, System: s.system[p.Namespace]}
		w.ServiceAccount = p.Spec.ServiceAccountName
		if w.ServiceAccount == "" {
			w.ServiceAccount = "default"
		}
		s.workloads[key] = w
	}
	w.Pods++
	// Any pod that mounts the token makes the workload mount it.
	switch a := p.Spec.AutomountServiceAccountToken; {
	case a == nil:
		w.podUnset = true
	case *a:
		w.podTrue = true
	}
	addContainers(w, p.Spec.InitContainers, true)
	addContainers(w, p.Spec.Containers, false)
	base, restr := evaluatePSS(&p.ObjectMeta, &p.Spec)
	w.Baseline = mergeViolations(w.Baseline, base)
	w.Restricted = mergeViolations(w.Restricted, restr)

	if p.Status.Reason == "Evicted" {
		s.evicted = append(s.evicted, PodState{Namespace: p.Namespace, Workload: owner, Pod: p.Name, Message: p.Status.Message})
	}
	for _, statuses := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range statuses {
			st := ContainerState{Namespace: p.Namespace, Workload: owner, Pod: p.Name, Container: cs.Name, Restarts: int(cs.RestartCount)}
			if wt := cs.State.Waiting; wt != nil && wt.Reason == "CrashLoopBackOff" {
				c := st
				c.Reason, c.Message = wt.Reason, wt.Message
				s.crashLoops = append(s.crashLoops, c)
			}
			if cs.RestartCount > 0 {
				if t := cs.LastTerminationState.Terminated; t != nil {
					st.Reason = t.Reason
					if t.ExitCode != 0 {
						st.Message = fmt.Sprintf("last exit code %d", t.ExitCode)
					}
				}
				s.restarted = append(s.restarted, st)
			}
		}
	}
}

func addContainers(w *Workload, cs []corev1.Container, init bool) {
	for i := range cs {
		c := &cs[i]
		var secrets []SecretEnv
		for _, e := range c.Env {
			if e.ValueFrom != nil {
				continue
			}
			if why, ok := literalSecret(e.Name, e.Value); ok {
				secrets = append(secrets, SecretEnv{Name: e.Name, Why: why})
			}
		}
		j := slices.IndexFunc(w.Containers, func(x Container) bool { return x.Name == c.Name && x.Image == c.Image })
		if j < 0 {
			w.Containers = append(w.Containers, Container{Name: c.Name, Image: c.Image, Init: init, SecretEnv: secrets})
			continue
		}
		for _, s := range secrets {
			if !slices.Contains(w.Containers[j].SecretEnv, s) {
				w.Containers[j].SecretEnv = append(w.Containers[j].SecretEnv, s)
			}
		}
	}
}

func mergeViolations(have, add []Violation) []Violation {
	for _, v := range add {
		if !slices.ContainsFunc(have, func(h Violation) bool { return h.Check == v.Check }) {
			have = append(have, v)
		}
	}
	return have
}
