package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SyntaxError is YAML that could not be read, at a line of the file.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ReadManifest reads the Kubernetes objects of a YAML stream: every
// document (or item of a List) with an apiVersion and a kind, at the line
// it starts on. Other documents are not Kubernetes objects and are
// skipped. Pod templates are decoded into k8s.io/api's types; an object
// that does not decode has Error set. On invalid YAML it returns the
// objects before the error and a *SyntaxError.
func ReadManifest(src []byte) (objs []*Object, err error) {
	defer func() {
		// yaml.v3 panics on a few hostile inputs; that is invalid YAML.
		if r := recover(); r != nil {
			err = &SyntaxError{Line: 1, Msg: fmt.Sprint(r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return objs, syntaxError(err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		objs = append(objs, objects(doc.Content[0])...)
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxError(err error) *SyntaxError {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &SyntaxError{Line: n, Msg: m[2]}
	}
	return &SyntaxError{Line: 1, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// looksLikeKube is a cheap test run before parsing a YAML file: a manifest
// has apiVersion and kind keys.
func looksLikeKube(src []byte) bool {
	return bytes.Contains(src, []byte("apiVersion")) && bytes.Contains(src, []byte("kind"))
}

func objects(n *yaml.Node) []*Object {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	apiVersion, kind := scalar(n, "apiVersion"), scalar(n, "kind")
	if apiVersion == "" || kind == "" {
		return nil
	}
	if items := mapValue(n, "items"); strings.HasSuffix(kind, "List") && items != nil && items.Kind == yaml.SequenceNode {
		var out []*Object
		for _, it := range items.Content {
			out = append(out, objects(it)...)
		}
		return out
	}
	o := &Object{APIVersion: apiVersion, Kind: kind, Line: n.Line}
	if meta := mapValue(n, "metadata"); meta != nil {
		o.Name, o.Namespace = scalar(meta, "name"), scalar(meta, "namespace")
	}
	switch {
	case workloadKinds[kind]:
		pod, err := podTemplate(kind, n)
		if err != nil {
			o.Error = err.Error()
			break
		}
		o.Pod = pod
		o.Lines = podLines(kind, n)
	case kind == "Service":
		if spec := mapValue(n, "spec"); spec != nil {
			o.ServiceType = scalar(spec, "type")
			if k := mapKey(spec, "type"); k != nil {
				o.Lines = map[string]int{"service/type": k.Line}
			}
		}
	case kind == "ServiceAccount":
		if v := mapValue(n, "automountServiceAccountToken"); v != nil {
			var b bool
			if err := v.Decode(&b); err != nil {
				o.Error = fmt.Sprintf("automountServiceAccountToken: %v", err)
				break
			}
			o.AutomountToken = &b
		}
	}
	return []*Object{o}
}

// podTemplate decodes a workload into its k8s.io/api type (through JSON,
// as the API server does) and returns its pod template, sanitized.
func podTemplate(kind string, n *yaml.Node) (*corev1.PodTemplateSpec, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	var t corev1.PodTemplateSpec
	switch kind {
	case "Pod":
		var o corev1.Pod
		err = json.Unmarshal(b, &o)
		t = corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}
	case "Deployment":
		var o appsv1.Deployment
		err = json.Unmarshal(b, &o)
		t = o.Spec.Template
	case "StatefulSet":
		var o appsv1.StatefulSet
		err = json.Unmarshal(b, &o)
		t = o.Spec.Template
	case "DaemonSet":
		var o appsv1.DaemonSet
		err = json.Unmarshal(b, &o)
		t = o.Spec.Template
	case "ReplicaSet":
		var o appsv1.ReplicaSet
		err = json.Unmarshal(b, &o)
		t = o.Spec.Template
	case "ReplicationController":
		var o corev1.ReplicationController
		err = json.Unmarshal(b, &o)
		if o.Spec.Template != nil {
			t = *o.Spec.Template
		}
	case "Job":
		var o batchv1.Job
		err = json.Unmarshal(b, &o)
		t = o.Spec.Template
	case "CronJob":
		var o batchv1.CronJob
		err = json.Unmarshal(b, &o)
		t = o.Spec.JobTemplate.Spec.Template
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	sanitize(&t)
	return &t, nil
}

// sanitize keeps of the pod's metadata only what Pod Security reads
// (labels and annotations, without kubectl's copy of the whole object)
// and redacts literal values of secret-looking variables.
func sanitize(t *corev1.PodTemplateSpec) {
	ann := t.Annotations
	delete(ann, corev1.LastAppliedConfigAnnotation)
	t.ObjectMeta = metav1.ObjectMeta{Labels: t.Labels, Annotations: ann}
	for _, cs := range [][]corev1.Container{t.Spec.InitContainers, t.Spec.Containers} {
		for i := range cs {
			for j := range cs[i].Env {
				if e := &cs[i].Env[j]; literalSecret(e) {
					e.Value = Redacted
				}
			}
		}
	}
	for i := range t.Spec.EphemeralContainers {
		for j := range t.Spec.EphemeralContainers[i].Env {
			if e := &t.Spec.EphemeralContainers[i].Env[j]; literalSecret(e) {
				e.Value = Redacted
			}
		}
	}
}

var (
	secretWords = regexp.MustCompile(`PASSWORD|PASSWD|SECRET|TOKEN|APIKEY|API_KEY|PRIVATE_KEY|CREDENTIAL|(^|_)(KEY|PWD|PASS)($|_)`)
	// notSecret are last words of names that hold where a secret is, or
	// a setting about it, rather than the secret.
	notSecret = map[string]bool{
		"FILE": true, "PATH": true, "DIR": true, "NAME": true, "REF": true, "URL": true, "HOST": true,
		"PORT": true, "TTL": true, "TIMEOUT": true, "EXPIRY": true, "LENGTH": true, "SIZE": true,
		"ENABLED": true, "TYPE": true, "MODE": true, "HEADER": true, "FIELD": true, "ID": true,
	}
	envRef = regexp.MustCompile(`^\$\([A-Za-z_][A-Za-z0-9_]*\)$`)
)

// secretName reports whether an environment variable's name says it
// holds a secret.
func secretName(name string) bool {
	up := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))
	if !secretWords.MatchString(up) {
		return false
	}
	words := strings.Split(up, "_")
	return !notSecret[words[len(words)-1]] && !strings.Contains(up, "PUBLIC")
}

// literalSecret reports whether a variable sets a secret-looking name
// from a literal (not from a Secret, nor from another variable).
func literalSecret(e *corev1.EnvVar) bool {
	return e.Value != "" && e.ValueFrom == nil && secretName(e.Name) && !envRef.MatchString(e.Value)
}

// podLines records where the pod spec's keys, containers, their keys and
// environment variables are, for findings to point at.
func podLines(kind string, n *yaml.Node) map[string]int {
	spec := mapValue(n, "spec")
	switch kind {
	case "Pod":
	case "CronJob":
		spec = mapValue(mapValue(mapValue(mapValue(spec, "jobTemplate"), "spec"), "template"), "spec")
	default:
		spec = mapValue(mapValue(spec, "template"), "spec")
	}
	if spec == nil || spec.Kind != yaml.MappingNode {
		return nil
	}
	lines := map[string]int{}
	for i := 0; i+1 < len(spec.Content); i += 2 {
		lines["pod/"+spec.Content[i].Value] = spec.Content[i].Line
	}
	for _, field := range []string{"initContainers", "containers"} {
		seq := mapValue(spec, field)
		if seq == nil || seq.Kind != yaml.SequenceNode {
			continue
		}
		for _, c := range seq.Content {
			name := scalar(c, "name")
			if _, dup := lines["container/"+name]; dup || c.Kind != yaml.MappingNode {
				continue
			}
			lines["container/"+name] = c.Line
			for i := 0; i+1 < len(c.Content); i += 2 {
				lines["container/"+name+"/"+c.Content[i].Value] = c.Content[i].Line
			}
			if env := mapValue(c, "env"); env != nil && env.Kind == yaml.SequenceNode {
				for _, e := range env.Content {
					if v := scalar(e, "name"); v != "" {
						lines["env/"+name+"/"+v] = e.Line
					}
				}
			}
		}
	}
	return lines
}

func mapKey(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(m *yaml.Node, key string) string {
	if v := mapValue(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
