package kube_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/gitrepo/kube"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scantest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestCases(t *testing.T) {
	scantest.Run(t, kube.New(), "testdata", *update)
}

func evaluate(t *testing.T, dir string) (*kube.Facts, map[string]rampart.Evaluation) {
	t.Helper()
	facts, evals := scantest.Evaluate(t, kube.New(), scantest.Tree(t, filepath.Join("testdata", dir)), scantest.NewCache())
	return facts.(*kube.Facts), evals
}

// TestValuesFileFixesChart: the chart's defaults run a privileged
// container, and the values file the register names fixes it.
func TestValuesFileFixesChart(t *testing.T) {
	t.Parallel()
	_, evals := evaluate(t, "privileged-chart")
	byRender := map[string][]string{}
	for _, f := range evals["K8S-PSS-BASELINE"].Findings {
		render, _, _ := strings.Cut(f.Item, "/DaemonSet/")
		byRender[render] = append(byRender[render], f.Item)
		if f.Location.Path != "charts/app/templates/daemonset.yaml" || f.Location.Line != 23 {
			t.Errorf("%s at %s:%d, want the container's securityContext in the template", f.Item, f.Location.Path, f.Location.Line)
		}
	}
	if got := byRender["charts/app"]; len(got) != 1 || !strings.HasSuffix(got[0], ": privileged") {
		t.Errorf("defaults: baseline findings %v, want the privileged check", got)
	}
	if got := byRender["charts/app (values charts/app/values-prod.yaml)"]; len(got) != 0 {
		t.Errorf("with values-prod.yaml: baseline findings %v, want none", got)
	}
}

// TestSecretsNeverStored: a literal secret is flagged by name, and its
// value is in no fact, finding or message.
func TestSecretsNeverStored(t *testing.T) {
	t.Parallel()
	facts, evals := evaluate(t, "bad-manifests")
	b, err := json.Marshal(facts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := json.Marshal(evals)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2-do-not-print", "sk_test_do_not_print"} {
		if strings.Contains(string(b), secret) || strings.Contains(string(e), secret) {
			t.Errorf("secret %q found in facts or results", secret)
		}
	}
	var names []string
	for _, f := range evals["K8S-ENV-SECRETS"].Findings {
		names = append(names, f.Item[strings.LastIndex(f.Item, " ")+1:])
	}
	if want := []string{"DB_PASSWORD", "STRIPE_API_KEY"}; !reflect.DeepEqual(names, want) {
		t.Errorf("flagged %v, want %v", names, want)
	}
}

func TestReadManifest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		src   string
		want  []string // kind/name@line
		error int      // line of the syntax error, 0 for none
	}{
		{"multi-document", "# c\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nfoo: bar\n---\n\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n", []string{"Service/a@2", "ConfigMap/b@9"}, 0},
		{"list", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec: {containers: [{name: c, image: i}]}\n", []string{"Pod/p@4"}, 0},
		{"not kubernetes", "services:\n  web:\n    image: nginx\n", nil, 0},
		{"syntax error after an object", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: [\n", []string{"Service/a@1"}, 6},
		{"empty", "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			objs, err := kube.ReadManifest([]byte(tt.src))
			var got []string
			for _, o := range objs {
				got = append(got, fmt.Sprintf("%s/%s@%d", o.Kind, o.Name, o.Line))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("objects %v, want %v", got, tt.want)
			}
			var se *kube.SyntaxError
			switch {
			case tt.error == 0 && err != nil:
				t.Errorf("error %v", err)
			case tt.error != 0 && (err == nil || !asSyntax(err, &se) || se.Line != tt.error):
				t.Errorf("error %v, want a syntax error at line %d", err, tt.error)
			}
		})
	}
}

func asSyntax(err error, se **kube.SyntaxError) bool { return errors.As(err, se) }

// TestPodDecoding: workloads are decoded into typed pod templates, and an
// object of a known kind that does not decode is an error, not a pass.
func TestPodDecoding(t *testing.T) {
	t.Parallel()
	objs, err := kube.ReadManifest([]byte(`apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: x, image: "a:1", securityContext: {runAsUser: 0}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: many
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("%d objects, want 2", len(objs))
	}
	if p := objs[0].Pod; p == nil || p.Spec.Containers[0].SecurityContext.RunAsUser == nil || *p.Spec.Containers[0].SecurityContext.RunAsUser != 0 {
		t.Errorf("CronJob pod template not decoded: %+v", objs[0].Pod)
	}
	if objs[1].Error == "" || objs[1].Pod != nil {
		t.Errorf("Deployment with replicas: many decoded without error")
	}
}

func TestCacheReuse(t *testing.T) {
	t.Parallel()
	scantest.CacheReuse(t, kube.New(), scantest.Tree(t, filepath.Join("testdata", "privileged-chart")))
}

// TestChartWithoutDisk: a tree whose files are not on disk (Root unset)
// still gets its charts linted and rendered.
func TestChartWithoutDisk(t *testing.T) {
	t.Parallel()
	tr := scantest.Tree(t, filepath.Join("testdata", "privileged-chart"))
	root := tr.Root
	read := tr.Read
	tr.Root = ""
	tr.Read = func(p string) ([]byte, error) {
		if root == "" {
			return nil, os.ErrNotExist
		}
		return read(p)
	}
	facts, err := kube.New().Scan(context.Background(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := facts.(*kube.Facts)
	if len(f.Charts) != 1 || len(f.Charts[0].Renders) != 2 || len(f.Charts[0].Renders[0].Objects) == 0 {
		t.Errorf("chart not rendered without disk: %+v", f.Charts)
	}
}

func TestRegistries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		allowed []string
		image   string
		ok      bool
	}{
		{nil, "nginx:1.27", false},
		{nil, "docker.io/library/nginx:1.27", false},
		{nil, "bitnami/redis:7", false},
		{nil, "ghcr.io/acme/app:1", true},
		{[]string{"registry.example.com"}, "registry.example.com/team/app:1", true},
		{[]string{"registry.example.com"}, "registry.example.com.evil.io/app:1", false},
		{[]string{"ghcr.io/acme"}, "ghcr.io/acme/app:1", true},
		{[]string{"ghcr.io/acme"}, "ghcr.io/acmecorp/app:1", false},
		{[]string{"acme"}, "acme/app:1", true},
		{[]string{"localhost:5000"}, "localhost:5000/app:1", true},
	}
	for _, tt := range tests {
		src := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: %q}]}\n", tt.image)
		objs, err := kube.ReadManifest([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		objs[0].Path = "p.yaml"
		facts := &kube.Facts{AllowedRegistries: tt.allowed, Manifests: []*kube.Manifest{{Path: "p.yaml", Objects: objs}}}
		ev := kube.ImageRegistry.Run(context.Background(), facts)
		if got := ev.Status == rampart.StatusPass; got != tt.ok {
			t.Errorf("%v %s: %s %v, want allowed=%v", tt.allowed, tt.image, ev.Status, ev.Findings, tt.ok)
		}
	}
}

func FuzzReadManifest(f *testing.F) {
	err := filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !kube.IsYAML(p) {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		objs, err := kube.ReadManifest(src)
		if err != nil {
			if se := new(kube.SyntaxError); !errors.As(err, &se) {
				t.Fatalf("error of type %T", err)
			}
		}
		for _, o := range objs {
			o.Path = "f.yaml"
		}
		facts := &kube.Facts{Manifests: []*kube.Manifest{{Path: "f.yaml", Objects: objs}}}
		b, err := json.Marshal(facts)
		if err != nil {
			t.Fatal(err)
		}
		var back kube.Facts
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		for _, c := range kube.Checks() {
			a, b := c.Run(context.Background(), facts), c.Run(context.Background(), &back)
			if a.Status != b.Status || len(a.Findings) != len(b.Findings) {
				t.Fatalf("%s differs after a JSON round trip: %v / %v", c.ID, a, b)
			}
		}
	})
}

// BenchmarkKubeScan scans generated manifests and charts, cold (every file
// read and every chart rendered) and warm (all from the cache).
func BenchmarkKubeScan(b *testing.B) {
	dir := b.TempDir()
	const manifests, charts = 1000, 20
	write := func(p, s string) {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for i := range manifests {
		write(fmt.Sprintf("k8s/team%d/app%d.yaml", i%20, i), GeneratedManifest(i))
	}
	for i := range charts {
		for name, content := range GeneratedChart(i) {
			write(fmt.Sprintf("charts/c%d/%s", i, name), content)
		}
	}
	tr := scantest.Tree(b, dir)
	s := kube.New()
	run := func(b *testing.B, c scan.Cache) {
		for b.Loop() {
			facts, err := s.Scan(context.Background(), tr, c)
			if err != nil {
				b.Fatal(err)
			}
			for _, ch := range s.Checks() {
				ch.Run(context.Background(), facts)
			}
		}
		b.ReportMetric(float64(len(tr.Files)*b.N)/b.Elapsed().Seconds(), "files/s")
	}
	b.Run("cold", func(b *testing.B) { run(b, nil) })
	b.Run("warm", func(b *testing.B) {
		c := scantest.NewCache()
		if _, err := s.Scan(context.Background(), tr, c); err != nil {
			b.Fatal(err)
		}
		run(b, c)
	})
}

// GeneratedManifest is a Deployment, Service and NetworkPolicy, varied
// by i (every third one with findings).
func GeneratedManifest(i int) string {
	image := fmt.Sprintf("registry.example.com/app%d:1.%d.0", i, i%7)
	if i%3 == 0 {
		image = "nginx:latest"
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app%[1]d
  namespace: team%[2]d
spec:
  replicas: 2
  selector:
    matchLabels: {app: app%[1]d}
  template:
    metadata:
      labels: {app: app%[1]d}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: app
          image: %[3]s
          env:
            - {name: LOG_LEVEL, value: info}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 200m, memory: 256Mi}
          livenessProbe: {httpGet: {path: /healthz, port: 8080}}
          readinessProbe: {httpGet: {path: /readyz, port: 8080}}
---
apiVersion: v1
kind: Service
metadata:
  name: app%[1]d
  namespace: team%[2]d
spec:
  selector: {app: app%[1]d}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: app%[1]d
  namespace: team%[2]d
spec:
  podSelector: {matchLabels: {app: app%[1]d}}
  policyTypes: [Ingress]
`, i, i%20, image)
}

// GeneratedChart is a small chart's files by name.
func GeneratedChart(i int) map[string]string {
	return map[string]string{
		"Chart.yaml": fmt.Sprintf("apiVersion: v2\nname: c%d\nversion: 0.%d.0\nicon: https://example.com/i.png\n", i, i),
		"values.yaml": "image:\n  repository: registry.example.com/web\n  tag: \"1.0\"\nreplicas: 2\n" +
			"securityContext:\n  privileged: " + fmt.Sprint(i%2 == 0) + "\n",
		"templates/_helpers.tpl": "{{- define \"name\" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end }}\n",
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "name" . }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ include "name" . }}}
  template:
    metadata:
      labels: {app: {{ include "name" . }}}
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
`,
		"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ include "name" . }}
spec:
  selector: {app: {{ include "name" . }}}
  ports: [{port: 80}]
`,
	}
}
