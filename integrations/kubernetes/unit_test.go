package kubernetes_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/rampart-dev/rampart/integrations/kubernetes"
)

func TestAtLeast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		have, min string
		want      bool
	}{
		{"v1.30.4+rke2r1", "v1.30", true},
		{"v1.30.4+rke2r1", "v1.30.5", false},
		{"v1.29.15+k3s1", "v1.30", false},
		{"v1.31.0", "1.30", true},
		{"v1.30.0", "v1.30", true},
		{"v1.30.2-eks-a737599", "v1.30.2", true},
		{"v1.28.9-gke.1000000", "v1.29", false},
		{"v1.100.0", "v1.99", true},
		{"v2.0.0", "v1.99", true},
		{"v1.9.0", "v1.10", false},
	}
	for _, tt := range tests {
		got, err := kubernetes.AtLeast(tt.have, tt.min)
		if err != nil {
			t.Errorf("AtLeast(%q, %q): %v", tt.have, tt.min, err)
			continue
		}
		if got != tt.want {
			t.Errorf("AtLeast(%q, %q) = %v, want %v", tt.have, tt.min, got, tt.want)
		}
	}
}

func TestParseVersionRejects(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "v1", "latest", "1.x", "v01.30"} {
		if _, err := kubernetes.ParseVersion(s); err == nil {
			t.Errorf("ParseVersion(%q) accepted", s)
		}
	}
}

func TestDistribution(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"v1.30.4+rke2r1":      "rke2",
		"v1.30.4+k3s1":        "k3s",
		"v1.30.2-eks-a737599": "eks",
		"v1.30.5-gke.1014001": "gke",
		"v1.37.1":             "upstream",
	}
	for in, want := range tests {
		if got := kubernetes.Distribution(in); got != want {
			t.Errorf("Distribution(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOwner(t *testing.T) {
	t.Parallel()
	ctrl := func(kind, name string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: ptr.To(true)}}
	}
	tests := []struct {
		name     string
		meta     metav1.ObjectMeta
		wantKind string
		wantName string
	}{
		{"bare pod", metav1.ObjectMeta{Name: "debug"}, "Pod", "debug"},
		{"deployment", metav1.ObjectMeta{
			Name: "web-7d4b9c8f5-x2k9p", OwnerReferences: ctrl("ReplicaSet", "web-7d4b9c8f5"),
			Labels: map[string]string{"pod-template-hash": "7d4b9c8f5"},
		}, "Deployment", "web"},
		{"replicaset without hash label", metav1.ObjectMeta{Name: "rs-abc", OwnerReferences: ctrl("ReplicaSet", "rs")}, "ReplicaSet", "rs"},
		{"statefulset", metav1.ObjectMeta{Name: "db-0", OwnerReferences: ctrl("StatefulSet", "db")}, "StatefulSet", "db"},
		{"daemonset", metav1.ObjectMeta{Name: "agent-x1", OwnerReferences: ctrl("DaemonSet", "agent")}, "DaemonSet", "agent"},
		{"cronjob", metav1.ObjectMeta{Name: "backup-29012345-abcde", OwnerReferences: ctrl("Job", "backup-29012345")}, "CronJob", "backup"},
		{"plain job", metav1.ObjectMeta{Name: "migrate-v2-abcde", OwnerReferences: ctrl("Job", "migrate-v2")}, "Job", "migrate-v2"},
		{"short numeric job", metav1.ObjectMeta{Name: "job-42-x", OwnerReferences: ctrl("Job", "job-42")}, "Job", "job-42"},
		{"mirror pod", metav1.ObjectMeta{Name: "etcd-node1", OwnerReferences: ctrl("Node", "node1")}, "Pod", "etcd-node1"},
		{"owner but no controller", metav1.ObjectMeta{Name: "p", OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "x"}}}, "Pod", "p"},
	}
	for _, tt := range tests {
		kind, name := kubernetes.Owner(&tt.meta)
		if kind != tt.wantKind || name != tt.wantName {
			t.Errorf("%s: Owner = %s/%s, want %s/%s", tt.name, kind, name, tt.wantKind, tt.wantName)
		}
	}
}

func TestImageAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		image   string
		allowed []string
		want    bool
	}{
		{"nginx", []string{"docker.io"}, true},
		{"nginx", []string{"library"}, true},
		{"nginx", []string{"registry.example.com"}, false},
		{"ghcr.io/acme/api:1.0", []string{"ghcr.io/acme"}, true},
		{"ghcr.io/acme-evil/api:1.0", []string{"ghcr.io/acme"}, false},
		{"ghcr.io/acme/api@sha256:" + sha, []string{"ghcr.io/acme/api"}, true},
		{"registry.example.com:5000/team/web:1", []string{"registry.example.com:5000"}, true},
		{"registry.example.com:5000/team/web:1", []string{"registry.example.com"}, false},
		{"localhost/dev:1", []string{"localhost"}, true},
		{"bitnami/redis:7", []string{"bitnami"}, true},
		{"bitnami/redis:7", []string{"docker.io/library"}, false},
		{"Registry.Example.com/team/web:1", []string{"registry.example.com"}, true},
	}
	for _, tt := range tests {
		img, err := kubernetes.ParseImage(tt.image)
		if err != nil {
			t.Errorf("ParseImage(%q): %v", tt.image, err)
			continue
		}
		if got := img.Allowed(tt.allowed); got != tt.want {
			t.Errorf("%q allowed by %v = %v, want %v (repository %s)", tt.image, tt.allowed, got, tt.want, img.Repository)
		}
	}
}

const sha = "4c0fdb4d4e0fb0b4b6e9bd1e6a8c1b7f1b5a8c0e6b3a5e2f1d0c9b8a7f6e5d4c"

func TestLiteralSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		want        string // "" when not a secret
	}{
		{"DB_PASSWORD", "hunter2", "name"},
		{"API_KEY", "sk-live-abc", "name"},
		{"GITHUB_TOKEN", "ghp_x", "name"},
		{"AWS_SECRET_ACCESS_KEY", "abc", "name"},
		{"client_secret", "abc", "name"},
		{"DATABASE_URL", "postgres://app:s3cret@db:5432/app", "url"},
		{"DATABASE_URL", "postgres://app@db:5432/app", ""},
		{"REDIS_URL", "redis://:$(REDIS_PASSWORD)@redis:6379", ""},
		{"DB_PASSWORD_FILE", "/run/secrets/db", ""},
		{"TOKEN_TTL", "3600", ""},
		{"AUTH_TOKEN_HEADER", "X-Auth", ""},
		{"DB_PASSWORD", "", ""},
		{"DB_PASSWORD", "$(DB_PASSWORD_FROM_SECRET)", ""},
		{"ENABLE_TOKEN", "true", ""},
		{"LOG_LEVEL", "debug", ""},
		{"PASSWORD", "/etc/app/password", ""},
	}
	for _, tt := range tests {
		why, ok := kubernetes.LiteralSecret(tt.name, tt.value)
		if ok != (tt.want != "") || why != tt.want {
			t.Errorf("LiteralSecret(%q, …) = %q, %v; want %q", tt.name, why, ok, tt.want)
		}
	}
}

func TestDenies(t *testing.T) {
	t.Parallel()
	port := func(p int) networkingv1.NetworkPolicyPort {
		v := intstr.FromInt32(int32(p))
		return networkingv1.NetworkPolicyPort{Port: &v}
	}
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	tests := []struct {
		name            string
		spec            networkingv1.NetworkPolicySpec
		ingress, egress bool
	}{
		{"deny all", networkingv1.NetworkPolicySpec{PolicyTypes: both}, true, true},
		{"ingress only by default", networkingv1.NetworkPolicySpec{}, true, false},
		{"deny but DNS", networkingv1.NetworkPolicySpec{
			PolicyTypes: both,
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{port(53)}}},
		}, true, true},
		{"egress to 443", networkingv1.NetworkPolicySpec{
			PolicyTypes: both,
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{port(53), port(443)}}},
		}, true, false},
		{"allow all ingress", networkingv1.NetworkPolicySpec{
			PolicyTypes: both,
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
		}, false, true},
		{"selects some pods", networkingv1.NetworkPolicySpec{
			PolicyTypes: both,
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		}, false, false},
		{"implied egress with rules", networkingv1.NetworkPolicySpec{
			Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{port(53)}}},
		}, true, true},
	}
	for _, tt := range tests {
		in, eg := kubernetes.Denies(&networkingv1.NetworkPolicy{Spec: tt.spec})
		if in != tt.ingress || eg != tt.egress {
			t.Errorf("%s: denies = ingress %v, egress %v; want %v, %v", tt.name, in, eg, tt.ingress, tt.egress)
		}
	}
}

func TestEvaluatePSS(t *testing.T) {
	t.Parallel()
	restricted := corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{Name: "app", Image: "app:1", SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}}},
	}
	privileged := corev1.PodSpec{
		HostNetwork: true,
		Containers: []corev1.Container{{Name: "app", Image: "app:1", SecurityContext: &corev1.SecurityContext{
			Privileged: ptr.To(true),
		}}},
	}
	tests := []struct {
		name                   string
		spec                   corev1.PodSpec
		baseline, restrictedID []string
	}{
		{"restricted", restricted, nil, nil},
		{
			"privileged", privileged,
			[]string{"hostNamespaces", "privileged"},
			[]string{"allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot", "seccompProfile_restricted"},
		},
	}
	ids := func(vs []kubernetes.Violation) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Check)
		}
		return out
	}
	for _, tt := range tests {
		b, r := kubernetes.EvaluatePSS(&metav1.ObjectMeta{Name: "p"}, &tt.spec)
		if got := ids(b); !slices.Equal(got, tt.baseline) {
			t.Errorf("%s: baseline violations %v, want %v", tt.name, got, tt.baseline)
		}
		if got := ids(r); !slices.Equal(got, tt.restrictedID) {
			t.Errorf("%s: restricted violations %v, want %v", tt.name, got, tt.restrictedID)
		}
	}
}

func TestKyvernoEnforces(t *testing.T) {
	t.Parallel()
	rule := func(validate map[string]any) map[string]any {
		return map[string]any{"name": "r", "validate": validate}
	}
	tests := []struct {
		name string
		spec map[string]any
		want []bool // ClusterPolicy reading, ValidatingPolicy reading
	}{
		{"policy-wide Enforce", map[string]any{"validationFailureAction": "Enforce", "rules": []any{rule(map[string]any{})}}, []bool{true, false}},
		{"legacy lower case", map[string]any{"validationFailureAction": "enforce", "rules": []any{rule(map[string]any{})}}, []bool{true, false}},
		{"Enforce without validate rules", map[string]any{"validationFailureAction": "Enforce", "rules": []any{map[string]any{"mutate": map[string]any{}}}}, []bool{false, false}},
		{"rule Audit overrides policy Enforce", map[string]any{"validationFailureAction": "Enforce", "rules": []any{rule(map[string]any{"failureAction": "Audit"})}}, []bool{false, false}},
		{"rule Enforce", map[string]any{"rules": []any{rule(map[string]any{"failureAction": "Enforce"})}}, []bool{true, false}},
		{"audit", map[string]any{"validationFailureAction": "Audit", "rules": []any{rule(map[string]any{})}}, []bool{false, false}},
		{"ValidatingPolicy Deny", map[string]any{"validationActions": []any{"Audit", "Deny"}}, []bool{false, true}},
	}
	for _, tt := range tests {
		_, _, got := kubernetes.ReadCustom(&unstructured.Unstructured{Object: map[string]any{"spec": tt.spec}})
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: enforces = %v, want %v", tt.name, got, tt.want)
		}
	}
}
