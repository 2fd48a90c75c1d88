package kubernetes

import (
	"time"
)

// Facts is what the collector saw in one cluster. It keeps summaries, not
// objects: pods are folded into the workloads that own them, and no
// secret value, env value or object body is kept.
type Facts struct {
	CollectedAt time.Time `json:"collectedAt"`
	// Policy is the part of the spec the checks judge by, kept with the
	// facts so that a result can be reproduced from the evidence alone.
	Policy Policy `json:"policy"`
	Server Server `json:"server"`
	// Errors maps a list that could not be made ("pods",
	// "clusterpolicies.kyverno.io") to the reason. Checks that need it
	// return error with that reason.
	Errors map[string]string `json:"errors,omitempty"`

	Namespaces []Namespace `json:"namespaces"`
	Workloads  []Workload  `json:"workloads"`
	// Pods counts the pods listed.
	Pods int `json:"pods"`
	// CrashLoops are containers waiting in CrashLoopBackOff.
	CrashLoops []ContainerState `json:"crashLoops,omitempty"`
	// Evicted are pods the kubelet evicted.
	Evicted []PodState `json:"evicted,omitempty"`
	// Restarted are containers that restarted at least once.
	Restarted []ContainerState `json:"restarted,omitempty"`
	Nodes     []Node           `json:"nodes"`

	Roles    []Role    `json:"roles"`
	Bindings []Binding `json:"bindings"`

	Kyverno         Kyverno         `json:"kyverno"`
	PolicyReports   Reports         `json:"policyReports"`
	ExternalSecrets CustomResources `json:"externalSecrets"`
	Certificates    CustomResources `json:"certificates"`
	Flux            CustomResources `json:"flux"`
}

// Policy holds the spec's settings the checks need.
type Policy struct {
	MinVersion              string   `json:"minVersion,omitempty"`
	AllowedRegistries       []string `json:"allowedRegistries,omitempty"`
	RestartThreshold        int      `json:"restartThreshold"`
	RequireFluxVerification bool     `json:"requireFluxVerification,omitempty"`
	SystemNamespaces        []string `json:"systemNamespaces,omitempty"`
	AllowedClusterAdmins    []string `json:"allowedClusterAdmins,omitempty"`
}

// Server is what the API server says about itself.
type Server struct {
	GitVersion string `json:"gitVersion"`
	Platform   string `json:"platform,omitempty"`
	// Distribution is read from the version's suffix: rke2, k3s, eks,
	// gke, aks, or upstream.
	Distribution string `json:"distribution,omitempty"`
}

// Namespace is one namespace with its Pod Security Admission labels and
// what its network policies deny by default.
type Namespace struct {
	Name string `json:"name"`
	// System is set for the spec's system namespaces.
	System bool `json:"system,omitempty"`
	// Enforce is the pod-security.kubernetes.io/enforce label's value.
	Enforce string `json:"enforce,omitempty"`
	// NetworkPolicies counts the namespace's policies.
	NetworkPolicies int `json:"networkPolicies"`
	// DenyIngress and DenyEgress name a policy that selects every pod
	// of the namespace and allows nothing in that direction (egress may
	// still allow DNS on port 53).
	DenyIngress string `json:"denyIngress,omitempty"`
	DenyEgress  string `json:"denyEgress,omitempty"`
}

// Workload is the owner of one or more pods (Deployment, StatefulSet,
// DaemonSet, CronJob, Job, or the pod itself), with what its pods run.
// Pods of one workload are merged: a violation of any is the workload's.
type Workload struct {
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Pods      int    `json:"pods"`
	System    bool   `json:"system,omitempty"`
	// ServiceAccount is the pods' service account.
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// Automount is whether a service account token is mounted: the
	// pod's automountServiceAccountToken, else the service account's,
	// else true. AutomountFrom says which decided.
	Automount     bool   `json:"automount"`
	AutomountFrom string `json:"automountFrom,omitempty"`
	// podTrue and podUnset record the pods' own settings (some set true,
	// some leave it unset), resolved against service accounts once those
	// are listed.
	podTrue, podUnset bool

	Containers []Container `json:"containers"`
	// Baseline and Restricted are the Pod Security Standards checks the
	// pods fail, by level.
	Baseline   []Violation `json:"baseline,omitempty"`
	Restricted []Violation `json:"restricted,omitempty"`
}

// Ref is "namespace/Kind/name", the stable name of a workload in
// findings.
func (w *Workload) Ref() string { return w.Namespace + "/" + w.Kind + "/" + w.Name }

// Container is one container of a workload's pods.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Init  bool   `json:"init,omitempty"`
	// SecretEnv names env variables set to a literal value that looks
	// like a secret. Values are never recorded.
	SecretEnv []SecretEnv `json:"secretEnv,omitempty"`
}

// SecretEnv is one env variable with a literal value that looks like a
// secret, and why.
type SecretEnv struct {
	Name string `json:"name"`
	// Why is "name" (the variable's name says secret) or "url" (the
	// value is a URL with a password).
	Why string `json:"why"`
}

// Violation is one failed Pod Security Standards check.
type Violation struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// ContainerState is a container of a pod in a notable state.
type ContainerState struct {
	Namespace string `json:"namespace"`
	// Workload is "Kind/name" of the pod's owner.
	Workload  string `json:"workload"`
	Pod       string `json:"pod"`
	Container string `json:"container"`
	Restarts  int    `json:"restarts"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
}

// PodState is a pod in a notable state.
type PodState struct {
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	Pod       string `json:"pod"`
	Message   string `json:"message,omitempty"`
}

// Node is one node and its Ready condition.
type Node struct {
	Name string `json:"name"`
	// Ready is the Ready condition's status: True, False, Unknown, or
	// empty when the node reports none.
	Ready   string `json:"ready"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	Kubelet string `json:"kubelet,omitempty"`
}

// Subject is who a binding grants to.
type Subject struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (s Subject) String() string {
	if s.Kind == "ServiceAccount" {
		return s.Kind + ":" + s.Namespace + "/" + s.Name
	}
	return s.Kind + ":" + s.Name
}

// Binding is a RoleBinding or ClusterRoleBinding.
type Binding struct {
	Kind      string    `json:"kind"`
	Namespace string    `json:"namespace,omitempty"`
	Name      string    `json:"name"`
	RoleKind  string    `json:"roleKind"`
	RoleName  string    `json:"roleName"`
	Subjects  []Subject `json:"subjects"`
	// Default is set for Kubernetes' own bootstrap bindings.
	Default bool `json:"default,omitempty"`
}

// Ref names the binding in findings.
func (b *Binding) Ref() string {
	if b.Namespace != "" {
		return b.Namespace + "/" + b.Kind + "/" + b.Name
	}
	return b.Kind + "/" + b.Name
}

// Role is a Role or ClusterRole and its wildcard rules.
type Role struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Default is set for Kubernetes' own bootstrap roles and system:
	// roles; Aggregated for roles whose rules a controller fills in from
	// others (checked there).
	Default    bool `json:"default,omitempty"`
	Aggregated bool `json:"aggregated,omitempty"`
	// Wildcards describes each rule with "*" in its verbs or resources.
	Wildcards []string `json:"wildcards,omitempty"`
}

// Ref names the role in findings.
func (r *Role) Ref() string {
	if r.Namespace != "" {
		return r.Namespace + "/" + r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Name
}

// Kyverno is whether Kyverno is installed and its policies' modes.
type Kyverno struct {
	Installed bool            `json:"installed"`
	Policies  []KyvernoPolicy `json:"policies,omitempty"`
}

// KyvernoPolicy is one Kyverno policy and whether it blocks.
type KyvernoPolicy struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Enforce is set when at least one validation blocks admission.
	Enforce bool `json:"enforce"`
}

// Reports summarizes the wgpolicyk8s.io PolicyReports and
// ClusterPolicyReports (written by Kyverno and other engines).
type Reports struct {
	Installed bool          `json:"installed"`
	Reports   int           `json:"reports"`
	Summary   ReportSummary `json:"summary"`
	// Failures are the results with result fail or error.
	Failures []PolicyFailure `json:"failures,omitempty"`
}

// ReportSummary counts results by outcome.
type ReportSummary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// PolicyFailure is one failing result of a policy report.
type PolicyFailure struct {
	Policy string `json:"policy"`
	Rule   string `json:"rule,omitempty"`
	Result string `json:"result"`
	// Resource is "namespace/Kind/name" (or "Kind/name") of the object
	// that failed.
	Resource string `json:"resource"`
	Message  string `json:"message,omitempty"`
}

// CustomResources are the objects of custom resource kinds of one
// product (External Secrets, cert-manager, Flux).
type CustomResources struct {
	// Installed lists the kinds whose definitions the API serves, as
	// resource.group/version.
	Installed []string `json:"installed,omitempty"`
	Objects   []Object `json:"objects,omitempty"`
}

// Object is one custom resource and its status.
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Ready is the Ready condition's status (True, False, Unknown), or
	// empty when there is none.
	Ready   string `json:"ready"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Stale is set when the Ready condition was observed for an older
	// generation than the object's.
	Stale bool `json:"stale,omitempty"`
	// Suspended is spec.suspend (Flux).
	Suspended bool `json:"suspended,omitempty"`
	// Verify is spec.verify.provider (Flux Git and OCI sources; empty
	// when not verified). VerifySupported is set for kinds that have it.
	Verify          string `json:"verify,omitempty"`
	VerifySupported bool   `json:"verifySupported,omitempty"`
	// NoReadyCondition is set for kinds that never report Ready (Flux
	// HelmRepository of type oci).
	NoReadyCondition bool `json:"noReadyCondition,omitempty"`
	// NotAfter is status.notAfter (cert-manager).
	NotAfter *time.Time `json:"notAfter,omitempty"`
}

// Ref names the object in findings: "namespace/Kind/name".
func (o *Object) Ref() string {
	if o.Namespace != "" {
		return o.Namespace + "/" + o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Name
}
