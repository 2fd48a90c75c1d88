package kube

import corev1 "k8s.io/api/core/v1"

// Facts are the Kubernetes objects the scanner read from manifests and
// rendered charts, with the charts' lint results.
type Facts struct {
	// AllowedRegistries is the resource's allow-list of image registries;
	// empty means public Docker Hub images are the finding.
	AllowedRegistries []string    `json:"allowedRegistries,omitempty"`
	Manifests         []*Manifest `json:"manifests"`
	Charts            []*Chart    `json:"charts"`
}

// Manifest is one YAML file holding Kubernetes objects, outside charts.
type Manifest struct {
	Path string `json:"path"`
	// Error is why (part of) the file could not be read, at ErrorLine;
	// Objects then holds the documents before the error.
	Error     string    `json:"error,omitempty"`
	ErrorLine int       `json:"errorLine,omitempty"`
	Objects   []*Object `json:"objects,omitempty"`
}

// Chart is a Helm chart of the tree: a directory with Chart.yaml.
type Chart struct {
	Dir     string `json:"dir"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	// Error is why the chart could not be loaded at all.
	Error string `json:"error,omitempty"`
	// Lint are the messages of Helm's chart linter (warnings and errors;
	// informational messages are left out), for every values set.
	Lint []LintMessage `json:"lint,omitempty"`
	// Renders holds one rendering per values set: the chart's defaults
	// first, then each values file the resource names.
	Renders []*Render `json:"renders"`
}

// LintMessage is one message of Helm's linter, or a rendering error.
type LintMessage struct {
	// Severity is Helm's: "ERROR" or "WARNING".
	Severity string `json:"severity"`
	// Path is where the message points, relative to the repository.
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
	// Values names the values file the chart was linted with, empty for
	// its defaults.
	Values string `json:"values,omitempty"`
}

// Render is a chart rendered with one values set.
type Render struct {
	// Values is the values file, empty for the chart's defaults.
	Values string `json:"values,omitempty"`
	// Error is why rendering failed (then Objects is empty).
	Error   string    `json:"error,omitempty"`
	Objects []*Object `json:"objects,omitempty"`
}

// Object is one Kubernetes object, from a manifest or a rendered chart.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	// Namespace is as written; empty means the namespace it is applied to
	// (reported as "default").
	Namespace string `json:"namespace,omitempty"`
	// Path and Line place the object in the repository: its document in a
	// manifest, or its template in a chart.
	Path string `json:"path"`
	Line int    `json:"line"`
	// Lines places the parts of a manifest's object findings point at:
	// "pod/<pod spec key>", "container/<name>", "container/<name>/<key>",
	// "env/<container>/<variable>", "service/type". Empty for chart
	// objects, whose rendered lines are not the template's.
	Lines map[string]int `json:"lines,omitempty"`
	// Error is why an object of a known kind could not be decoded.
	Error string `json:"error,omitempty"`
	// Pod is a workload's pod template (a Pod's own metadata and spec).
	// Literal values of secret-looking environment variables are replaced
	// by Redacted, and the last-applied-configuration annotation is
	// dropped, so that no secret reaches the facts.
	Pod *corev1.PodTemplateSpec `json:"pod,omitempty"`
	// ServiceType is a Service's spec.type.
	ServiceType string `json:"serviceType,omitempty"`
	// AutomountToken is a ServiceAccount's automountServiceAccountToken.
	AutomountToken *bool `json:"automountToken,omitempty"`
}

// Redacted replaces a literal secret in the facts.
const Redacted = "(redacted)"

// workloadKinds carry a pod template.
var workloadKinds = map[string]bool{
	"Pod": true, "Deployment": true, "StatefulSet": true, "DaemonSet": true,
	"ReplicaSet": true, "ReplicationController": true, "Job": true, "CronJob": true,
}

// namespace is the object's namespace as reported.
func (o *Object) namespace() string {
	if o.Namespace == "" {
		return "default"
	}
	return o.Namespace
}

// line returns the line of the first part of the object found, else the
// object's own line.
func (o *Object) line(parts ...string) int {
	for _, p := range parts {
		if l, ok := o.Lines[p]; ok {
			return l
		}
	}
	return o.Line
}
