package kubernetes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/kubernetes"
	"github.com/rampart-dev/rampart/internal/kubetest"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/cluster")

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(kubetest.Main(m))
}

// cluster drives the shared API server as an administrator: it applies
// the YAML fixtures of testdata and hands out service account tokens.
type cluster struct {
	t      *testing.T
	srv    *kubetest.Server
	dyn    dynamic.Interface
	disc   discovery.DiscoveryInterface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	now    time.Time
}

func newCluster(t *testing.T) *cluster {
	srv := kubetest.Start(t)
	c, err := srv.Client(srv.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(srv.Config(srv.AdminToken))
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{
		t: t, srv: srv, dyn: dyn, disc: c.Discovery(),
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Discovery())),
		now:    time.Now().UTC().Truncate(time.Second),
	}
}

// apply creates or replaces every object of a YAML file of testdata, then
// writes its status through the status subresource, as a controller
// would. $IN_60D, $IN_10D and $AGO_1D become times relative to now.
func (c *cluster) apply(file string) {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		c.t.Fatal(err)
	}
	b = []byte(strings.NewReplacer(
		"$IN_60D", c.now.Add(60*24*time.Hour).Format(time.RFC3339),
		"$IN_10D", c.now.Add(10*24*time.Hour).Format(time.RFC3339),
		"$AGO_1D", c.now.Add(-24*time.Hour).Format(time.RFC3339),
	).Replace(string(b)))
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	ctx := context.Background()
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			c.t.Fatalf("%s: %v", file, err)
		}
		if obj == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		status, hasStatus := obj["status"]
		delete(obj, "status")
		gvk := u.GroupVersionKind()
		m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			c.t.Fatalf("%s: %s %s: %v", file, gvk, u.GetName(), err)
		}
		var ri dynamic.ResourceInterface = c.dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = c.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		got, err := ri.Create(ctx, u, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			var old *unstructured.Unstructured
			old, err = ri.Get(ctx, u.GetName(), metav1.GetOptions{})
			if err == nil {
				u.SetResourceVersion(old.GetResourceVersion())
				got, err = ri.Update(ctx, u, metav1.UpdateOptions{})
			}
		}
		if err != nil {
			c.t.Fatalf("%s: apply %s %s/%s: %v", file, gvk.Kind, u.GetNamespace(), u.GetName(), err)
		}
		if hasStatus {
			got.Object["status"] = status
			if _, err := ri.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
				c.t.Fatalf("%s: status of %s %s/%s: %v", file, gvk.Kind, u.GetNamespace(), u.GetName(), err)
			}
		}
	}
}

// installCRDs applies the custom resource definitions and waits until the
// API serves them.
func (c *cluster) installCRDs() {
	c.t.Helper()
	files, err := filepath.Glob("testdata/crds/*.yaml")
	if err != nil || len(files) == 0 {
		c.t.Fatalf("no CRDs in testdata/crds: %v", err)
	}
	for _, f := range files {
		c.apply(strings.TrimPrefix(f, "testdata/"))
	}
	want := map[string]bool{
		"kyverno.io/v1": true, "wgpolicyk8s.io/v1alpha2": true, "external-secrets.io/v1": true,
		"cert-manager.io/v1": true, "kustomize.toolkit.fluxcd.io/v1": true, "helm.toolkit.fluxcd.io/v2": true,
		"source.toolkit.fluxcd.io/v1": true,
	}
	deadline := time.Now().Add(30 * time.Second)
	for gv := range want {
		for {
			if l, err := c.disc.ServerResourcesForGroupVersion(gv); err == nil && len(l.APIResources) > 0 {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("%s not served 30s after its CRDs were created", gv)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c.mapper.Reset()
	if err := c.srv.RefreshReadOnly(context.Background()); err != nil {
		c.t.Fatal(err)
	}
}

// token returns a token of service account rampart/name.
func (c *cluster) token(name string) string {
	c.t.Helper()
	cs, err := c.srv.Client(c.srv.AdminToken)
	if err != nil {
		c.t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts("rampart").CreateToken(context.Background(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrTo(int64(3600))}},
		metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("token of rampart/%s: %v", name, err)
	}
	return tr.Status.Token
}

func ptrTo[T any](v T) *T { return &v }

// collect runs the collector as a user would configure it: a kubeconfig
// file beside rampart.yaml, named relative to it.
func (c *cluster) collect(token string, spec *kubernetes.Spec) (*kubernetes.Facts, *kubernetes.Collector) {
	c.t.Helper()
	dir := c.t.TempDir()
	if err := c.srv.WriteKubeconfig(filepath.Join(dir, "kubeconfig"), "rampart", token); err != nil {
		c.t.Fatal(err)
	}
	spec.Kubeconfig = "file:kubeconfig"
	spec.SetBaseDir(dir)
	if err := spec.Validate(); err != nil {
		c.t.Fatal(err)
	}
	col := &kubernetes.Collector{Now: func() time.Time { return c.now }}
	facts, err := col.Collect(context.Background(), &rampart.Resource{ID: "test-cluster", Kind: kubernetes.Kind, Spec: spec})
	if err != nil {
		c.t.Fatalf("collect: %v", err)
	}
	return facts.(*kubernetes.Facts), col
}

// testSpec is the register entry the phases are judged by.
func testSpec() *kubernetes.Spec {
	s := kubernetes.NewSpec()
	s.MinVersion = "v1.30"
	s.AllowedRegistries = []string{"registry.example.com"}
	s.AllowedClusterAdmins = []string{"Group:platform-admins"}
	s.RequireFluxVerification = true
	return s
}

var (
	dateRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)
	daysRE = regexp.MustCompile(`in \d+ days`)
)

// render writes every check's result the way the golden files hold them:
// status, the reason of an error or not-applicable result, and each
// finding's item and message (with dates masked).
func render(f *kubernetes.Facts) string {
	var b strings.Builder
	for _, chk := range kubernetes.Checks() {
		ev := chk.Run(context.Background(), f)
		fmt.Fprintf(&b, "%s %s", chk.ID, ev.Status)
		if ev.Status == rampart.StatusError || ev.Status == rampart.StatusNotApplicable {
			fmt.Fprintf(&b, ": %s", ev.Reason)
		}
		b.WriteString("\n")
		for _, fd := range ev.Findings {
			msg := daysRE.ReplaceAllString(dateRE.ReplaceAllString(fd.Message, "DATE"), "in N days")
			sev := ""
			if fd.Severity != nil {
				sev = " [" + fd.Severity.String() + "]"
			}
			fmt.Fprintf(&b, "  %s%s: %s\n", fd.Item, sev, msg)
		}
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cluster", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what the checks said (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestCluster builds a cluster on the real API server in phases and
// checks every result against testdata/cluster/*.golden: with no custom
// resource definitions, with compliant objects only (every check passes),
// and with objects made to fail each check. It then collects as a user
// without rights and as one that may not list pods. The phases share one
// cluster, so they run in order.
func TestCluster(t *testing.T) {
	c := newCluster(t)
	c.apply("rampart-reader.yaml")
	c.apply("cluster/scaffold.yaml")
	reader := c.token("reader")

	t.Run("bare", func(t *testing.T) {
		f, _ := c.collect(reader, testSpec())
		if len(f.Errors) > 0 {
			t.Errorf("the documented read-only role does not suffice: %v", f.Errors)
		}
		golden(t, "bare", render(f))
	})

	c.installCRDs()
	c.apply("cluster/good.yaml")
	t.Run("good", func(t *testing.T) {
		f, _ := c.collect(reader, testSpec())
		if len(f.Errors) > 0 {
			t.Errorf("the documented read-only role does not suffice: %v", f.Errors)
		}
		out := render(f)
		golden(t, "good", out)
		for _, chk := range kubernetes.Checks() {
			if ev := chk.Run(context.Background(), f); ev.Status != rampart.StatusPass {
				t.Errorf("%s on the compliant cluster: %s %s %v", chk.ID, ev.Status, ev.Reason, ev.Findings)
			}
		}
	})

	c.apply("cluster/bad.yaml")
	var bad *kubernetes.Facts
	t.Run("bad", func(t *testing.T) {
		spec := testSpec()
		spec.MinVersion = "v1.99"
		f, _ := c.collect(reader, spec)
		bad = f
		if len(f.Errors) > 0 {
			t.Errorf("the documented read-only role does not suffice: %v", f.Errors)
		}
		golden(t, "bad", render(f))
		if *update {
			b, err := json.MarshalIndent(f, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("testdata", "cluster", "bad.facts.json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, chk := range kubernetes.Checks() {
			if ev := chk.Run(context.Background(), f); ev.Status != rampart.StatusFail {
				t.Errorf("%s on the failing cluster: %s %s", chk.ID, ev.Status, ev.Reason)
			}
		}
	})

	t.Run("facts keep no secret", func(t *testing.T) {
		if bad == nil {
			t.Skip("bad phase failed")
		}
		b, err := rampart.FactsJSON(bad)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"hunter2", "s3cret"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("facts contain the env value %q", secret)
			}
		}
	})

	t.Run("pagination", func(t *testing.T) {
		spec := testSpec()
		whole, col := c.collect(reader, spec)
		wholeRequests := col.Requests()
		dir := t.TempDir()
		if err := c.srv.WriteKubeconfig(filepath.Join(dir, "kubeconfig"), "rampart", reader); err != nil {
			t.Fatal(err)
		}
		spec.Kubeconfig = filepath.Join(dir, "kubeconfig")
		paged := &kubernetes.Collector{Now: func() time.Time { return c.now }, PageSize: 1}
		f, err := paged.Collect(context.Background(), &rampart.Resource{ID: "test-cluster", Kind: kubernetes.Kind, Spec: spec})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f, whole) {
			t.Errorf("facts read one object a page differ from facts read 500 a page")
		}
		// Each list of n objects takes n requests (the last page says so);
		// pods alone add f.Pods-1.
		if extra := paged.Requests() - wholeRequests; extra < int64(whole.Pods-1) {
			t.Errorf("one object a page took %d requests, 500 a page %d: pagination not used", paged.Requests(), wholeRequests)
		}
	})

	t.Run("no rights", func(t *testing.T) {
		f, _ := c.collect(c.srv.NoRightsToken, testSpec())
		golden(t, "norights", render(f))
		for _, chk := range kubernetes.Checks() {
			ev := chk.Run(context.Background(), f)
			want := rampart.StatusError
			if chk == kubernetes.Version {
				want = rampart.StatusPass // /version is public
			}
			if ev.Status != want {
				t.Errorf("%s without rights: %s %s, want %s", chk.ID, ev.Status, ev.Reason, want)
			}
		}
		ev := kubernetes.PSSBaseline.Run(context.Background(), f)
		if want := "the credentials lack list on pods at cluster scope"; !strings.Contains(ev.Reason, want) {
			t.Errorf("reason %q does not say %q", ev.Reason, want)
		}
	})

	t.Run("no pods", func(t *testing.T) {
		spec := testSpec()
		spec.MinVersion = "v1.99"
		f, _ := c.collect(c.token("partial"), spec)
		golden(t, "nopods", render(f))
		if len(f.Errors) != 1 || f.Errors["pods"] == "" {
			t.Errorf("errors = %v, want pods only", f.Errors)
		}
		// The checks that do not read pods give the same verdicts as with
		// full rights.
		needPods := map[*rampart.Check]bool{
			kubernetes.PSSBaseline: true, kubernetes.PSSRestricted: true, kubernetes.ImageRegistry: true,
			kubernetes.ImageTag: true, kubernetes.EnvSecrets: true, kubernetes.TokenAutomount: true,
			kubernetes.CrashLoops: true, kubernetes.Evictions: true, kubernetes.Restarts: true,
		}
		for _, chk := range kubernetes.Checks() {
			ev := chk.Run(context.Background(), f)
			if needPods[chk] {
				if ev.Status != rampart.StatusError {
					t.Errorf("%s without pods: %s, want error", chk.ID, ev.Status)
				}
				continue
			}
			if full := chk.Run(context.Background(), bad); ev.Status != full.Status || !reflect.DeepEqual(ev.Findings, full.Findings) {
				t.Errorf("%s without pods: %s %v; with full rights: %s %v", chk.ID, ev.Status, ev.Findings, full.Status, full.Findings)
			}
		}
	})

	t.Run("kubeconfig context and token", func(t *testing.T) {
		testKubeconfig(t, c)
	})

	// A broken aggregated API (metrics-server down, the most common case)
	// fails discovery of its group only: the collection goes on, records
	// it, and every check gives the verdict it gave before.
	t.Run("broken aggregated API", func(t *testing.T) {
		if bad == nil {
			t.Skip("bad phase failed")
		}
		c.apply("cluster/apiservice.yaml")
		spec := testSpec()
		spec.MinVersion = "v1.99"
		var f *kubernetes.Facts
		deadline := time.Now().Add(30 * time.Second)
		for {
			f, _ = c.collect(c.token("reader"), spec)
			if f.Errors["discovery metrics.k8s.io/v1beta1"] != "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(f.Errors) != 1 || f.Errors["discovery metrics.k8s.io/v1beta1"] == "" {
			t.Fatalf("errors = %v, want the metrics.k8s.io discovery failure only", f.Errors)
		}
		t.Logf("recorded: %s", f.Errors["discovery metrics.k8s.io/v1beta1"])
		if got, want := render(f), render(bad); got != want {
			t.Errorf("a broken aggregated API changed the results:\n--- got\n%s\n--- want\n%s", got, want)
		}
	})
}

// testKubeconfig selects a context of a kubeconfig with two, and
// overrides its credentials with a token reference.
func testKubeconfig(t *testing.T, c *cluster) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: nobody
clusters:
- name: kubetest
  cluster:
    server: %s
    certificate-authority: ca.crt
users:
- name: nobody
  user: {token: %s}
- name: reader
  user: {token: %s}
contexts:
- name: nobody
  context: {cluster: kubetest, user: nobody}
- name: reader
  context: {cluster: kubetest, user: reader}
`, c.srv.URL, c.srv.NoRightsToken, c.srv.ReadOnlyToken)
	// The CA is a file next to the kubeconfig, named relative to it.
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), c.srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	readerSA := c.token("reader")
	env := rampart.Env{Getenv: func(k string) string {
		switch k {
		case "READER_TOKEN":
			return readerSA
		case "KUBECONFIG":
			return path
		}
		return ""
	}}
	tests := []struct {
		name       string
		spec       func(*kubernetes.Spec)
		wantErr    string
		wantPodErr bool
	}{
		{"current context", func(s *kubernetes.Spec) {}, "", true},
		{"reader context", func(s *kubernetes.Spec) { s.Context = "reader" }, "", false},
		{"missing context", func(s *kubernetes.Spec) { s.Context = "prod" }, `has no context "prod"`, false},
		{"token overrides the kubeconfig user", func(s *kubernetes.Spec) { s.Token = "env:READER_TOKEN" }, "", false},
		{"unset token variable", func(s *kubernetes.Spec) { s.Token = "env:MISSING" }, "MISSING", false},
		{"KUBECONFIG when the spec names none", func(s *kubernetes.Spec) { s.Kubeconfig = ""; s.Context = "reader" }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := kubernetes.NewSpec()
			spec.Kubeconfig = path
			tt.spec(spec)
			col := &kubernetes.Collector{Env: env}
			facts, err := col.Collect(context.Background(), &rampart.Resource{ID: "c", Kind: kubernetes.Kind, Spec: spec})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Collect error = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f := facts.(*kubernetes.Facts)
			if got := f.Errors["pods"] != ""; got != tt.wantPodErr {
				t.Errorf("pods list failed = %v (%v), want %v", got, f.Errors, tt.wantPodErr)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		kc := strings.Replace(kc, c.srv.URL, "https://127.0.0.1:1", 1)
		p := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(p), "ca.crt"), c.srv.CAPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		spec := kubernetes.NewSpec()
		spec.Kubeconfig = p
		_, err := (&kubernetes.Collector{}).Collect(context.Background(), &rampart.Resource{ID: "c", Kind: kubernetes.Kind, Spec: spec})
		if err == nil {
			t.Fatal("collecting from a closed port succeeded")
		}
	})
}

// TestChecksFromEvidence evaluates the checks over the facts the bad phase
// of TestCluster collected, as kept in evidence (JSON), and expects the
// same results: a result can be reproduced from its evidence alone, and
// the checks are exercised even where no API server can run.
func TestChecksFromEvidence(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "cluster", "bad.facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f kubernetes.Facts
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "cluster", "bad.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if got := render(&f); got != string(want) {
		t.Errorf("checks over the evidence differ from bad.golden:\n--- got\n%s\n--- want\n%s", got, want)
	}
}
