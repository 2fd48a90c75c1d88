// Command kube benchmarks the kubernetes-cluster collector on a real API
// server (kubetest: etcd and kube-apiserver on loopback) holding a cluster
// of generated pods: the wall time of one collection, the requests it
// makes and the peak RSS of the collecting process, against baselines
// measured in the same run: a plain paginated client-go list of the pods
// alone, in JSON (client-go's default) and in protobuf.
//
// Each measurement runs in a child process (this program with -mode), so
// that its peak RSS is its own (rusage Maxrss) and not the generator's.
//
//	go run ./bench/kube -pods 10000 -out bench/kube/RESULTS.md
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rampart-dev/rampart"
	k8s "github.com/rampart-dev/rampart/integrations/kubernetes"
	"github.com/rampart-dev/rampart/internal/kubetest"
)

func main() {
	mode := flag.String("mode", "run", "run (generate, measure, report); collect, baseline-json, baseline-proto (one measurement, in a child)")
	pods := flag.Int("pods", 10000, "pods to create")
	namespaces := flag.Int("namespaces", 100, "namespaces the pods are spread over")
	perWorkload := flag.Int("per-workload", 10, "pods per Deployment")
	conc := flag.Int("concurrency", 32, "creations in flight")
	runs := flag.Int("runs", 3, "measurements of each kind (the median is reported)")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig (child modes)")
	out := flag.String("out", "", "write the report (Markdown) here")
	flag.Parse()

	var err error
	switch *mode {
	case "run":
		err = run(*pods, *namespaces, *perWorkload, *conc, *runs, *out)
	case "collect":
		err = collect(*kubeconfig)
	case "baseline-json", "baseline-proto":
		err = baseline(*kubeconfig, *mode == "baseline-proto")
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/kube:", err)
		os.Exit(1)
	}
}

// measurement is what a child reports on stdout, completed by the parent
// with the child's peak RSS.
type measurement struct {
	Mode          string  `json:"mode"`
	WallSeconds   float64 `json:"wall_seconds"`
	ChecksSeconds float64 `json:"checks_seconds,omitempty"`
	Requests      int64   `json:"requests"`
	Pods          int     `json:"pods"`
	Workloads     int     `json:"workloads,omitempty"`
	Findings      int     `json:"findings,omitempty"`
	FactsBytes    int     `json:"facts_bytes,omitempty"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
}

func emit(m measurement) error { return json.NewEncoder(os.Stdout).Encode(m) }

// collect runs one collection and every check, as rampart scan would.
func collect(kubeconfig string) error {
	spec := k8s.NewSpec()
	spec.Kubeconfig = kubeconfig
	spec.AllowedRegistries = []string{"registry.example.com"}
	spec.MinVersion = "v1.30"
	if err := spec.Validate(); err != nil {
		return err
	}
	c := &k8s.Collector{}
	start := time.Now()
	facts, err := c.Collect(context.Background(), &rampart.Resource{ID: "bench", Kind: k8s.Kind, Spec: spec})
	if err != nil {
		return err
	}
	wall := time.Since(start)
	f := facts.(*k8s.Facts)
	if len(f.Errors) > 0 {
		return fmt.Errorf("collection had errors: %v", f.Errors)
	}
	start = time.Now()
	findings := 0
	for _, chk := range k8s.Checks() {
		ev := chk.Run(context.Background(), f)
		findings += len(ev.Findings)
	}
	checks := time.Since(start)
	b, err := rampart.FactsJSON(f)
	if err != nil {
		return err
	}
	return emit(measurement{
		Mode: "collect", WallSeconds: wall.Seconds(), ChecksSeconds: checks.Seconds(), Requests: c.Requests(),
		Pods: f.Pods, Workloads: len(f.Workloads), Findings: findings, FactsBytes: len(b),
	})
}

type counter struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// baseline lists the pods alone, 500 a page, keeping nothing: the least
// any collector must do to see them.
func baseline(kubeconfig string, proto bool) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	// The collector's rate limits, so that neither waits on its limiter.
	cfg.QPS, cfg.Burst = 50, 100
	if proto {
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	}
	var n atomic.Int64
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &counter{rt: rt, n: &n} })
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	pods := 0
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := c.CoreV1().Pods("").List(context.Background(), opts)
		if err != nil {
			return err
		}
		pods += len(l.Items)
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	mode := "baseline-json"
	if proto {
		mode = "baseline-proto"
	}
	return emit(measurement{Mode: mode, WallSeconds: time.Since(start).Seconds(), Requests: n.Load(), Pods: pods})
}

func run(pods, namespaces, perWorkload, conc, runs int, out string) error {
	ctx := context.Background()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench/kube: "+format+"\n", args...) }
	bins, err := kubetest.FindBinaries(os.Getenv)
	if errors.Is(err, kubetest.ErrMissing) {
		logf("%v; building", err)
		bins, err = kubetest.BuildBinaries(ctx, os.Getenv, func(s string) { logf("%s", s) })
	}
	if err != nil {
		return err
	}
	srv, err := kubetest.StartServer(ctx, bins, func(s string) { logf("%s", s) })
	if err != nil {
		return err
	}
	defer srv.Stop()
	admin, err := srv.Client(srv.AdminToken)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := generate(ctx, admin, pods, namespaces, perWorkload, conc); err != nil {
		return err
	}
	setup := time.Since(start)
	logf("created %d pods in %d namespaces in %s", pods, namespaces, setup.Round(time.Millisecond))

	dir, err := os.MkdirTemp("", "bench-kube-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kc := filepath.Join(dir, "kubeconfig")
	if err := srv.WriteKubeconfig(kc, "reader", srv.ReadOnlyToken); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	results := map[string][]measurement{}
	modes := []string{"collect", "baseline-json", "baseline-proto"}
	for i := range runs {
		// Rotate the order so that no mode always runs on a warmer server.
		for j := range modes {
			mode := modes[(i+j)%len(modes)]
			m, err := child(ctx, self, mode, kc)
			if err != nil {
				return err
			}
			logf("%s: %.3fs, %d requests, %.1f MiB peak RSS", mode, m.WallSeconds, m.Requests, m.PeakRSSMiB)
			results[mode] = append(results[mode], m)
		}
	}
	report := render(results, pods, namespaces, perWorkload, setup)
	fmt.Print(report)
	if out != "" {
		return os.WriteFile(out, []byte(report), 0o644) //nolint:gosec // a report committed to the repository, read by all
	}
	return nil
}

func child(ctx context.Context, self, mode, kubeconfig string) (measurement, error) {
	cmd := exec.CommandContext(ctx, self, "-mode", mode, "-kubeconfig", kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return measurement{}, fmt.Errorf("%s: %w: %s", mode, err, stderr.String())
	}
	var m measurement
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
		return measurement{}, fmt.Errorf("%s: %w", mode, err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.PeakRSSMiB = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	return m, nil
}

// median returns the run with the median wall time.
func median(ms []measurement) measurement {
	s := slices.Clone(ms)
	slices.SortFunc(s, func(a, b measurement) int {
		switch {
		case a.WallSeconds < b.WallSeconds:
			return -1
		case a.WallSeconds > b.WallSeconds:
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

func render(results map[string][]measurement, pods, namespaces, perWorkload int, setup time.Duration) string {
	c, bj, bp := median(results["collect"]), median(results["baseline-json"]), median(results["baseline-proto"])
	maxRSS := func(ms []measurement) float64 {
		v := 0.0
		for _, m := range ms {
			v = max(v, m.PeakRSSMiB)
		}
		return v
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# kubernetes-cluster collector on %d pods\n\n", pods)
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02T15:04Z"), machine())
	fmt.Fprintf(&b, "A real API server (kube-apiserver %s built from k8s.io/kubernetes, etcd %s from Debian) on loopback,\n", kubetest.Version, etcdVersion())
	fmt.Fprintf(&b, "holding %d pods in %d namespaces (%d pods per Deployment, owned through ReplicaSets; 2%% in\n", pods, namespaces, perWorkload)
	fmt.Fprintf(&b, "CrashLoopBackOff, 1%% evicted; one default-deny NetworkPolicy per namespace), created in %s\n", setup.Round(time.Second))
	b.WriteString("by `go run ./bench/kube` (no CRDs installed: those lists are skipped after discovery).\n")
	b.WriteString("Each figure is the median of the runs; each run is its own process, whose peak RSS is its rusage\n")
	b.WriteString("Maxrss. Runs of the three kinds alternate. The collector lists every kind it reads (pods, namespaces,\n")
	b.WriteString("service accounts, nodes, network policies, RBAC), 500 objects a page, in protobuf, 4 lists at a time,\n")
	b.WriteString("folds pods into workloads and evaluates Pod Security Standards on each pod; checks then run over the facts.\n\n")
	b.WriteString("| measurement | wall (s) | requests | peak RSS (MiB) | runs |\n| --- | ---: | ---: | ---: | ---: |\n")
	row := func(name string, m measurement, ms []measurement) {
		fmt.Fprintf(&b, "| %s | %.3f | %d | %.1f | %d |\n", name, m.WallSeconds, m.Requests, m.PeakRSSMiB, len(ms))
	}
	row("collector: one collection", c, results["collect"])
	row("baseline: client-go list of pods, JSON", bj, results["baseline-json"])
	row("baseline: client-go list of pods, protobuf", bp, results["baseline-proto"])
	fmt.Fprintf(&b, "\nChecks over the facts: %.3f s for %d findings on %d workloads. Facts kept as evidence: %d bytes (%.0f per pod).\n\n",
		c.ChecksSeconds, c.Findings, c.Workloads, c.FactsBytes, float64(c.FactsBytes)/float64(max(c.Pods, 1)))
	b.WriteString("Ratios (collector / baseline):\n\n")
	fmt.Fprintf(&b, "- wall time: %.2f× the JSON list, %.2f× the protobuf list\n", c.WallSeconds/bj.WallSeconds, c.WallSeconds/bp.WallSeconds)
	fmt.Fprintf(&b, "- requests: %d vs %d (+%d: version, discovery and the other kinds' lists)\n", c.Requests, bj.Requests, c.Requests-bj.Requests)
	fmt.Fprintf(&b, "- peak RSS: %.2f× the JSON list, %.2f× the protobuf list (largest of the runs: %.1f, %.1f, %.1f MiB)\n",
		c.PeakRSSMiB/bj.PeakRSSMiB, c.PeakRSSMiB/bp.PeakRSSMiB, maxRSS(results["collect"]), maxRSS(results["baseline-json"]), maxRSS(results["baseline-proto"]))
	return b.String()
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/1024/1024)
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average " + strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%d × %s%s, %s %s/%s%s (the machine is shared: figures vary between runs)",
		runtime.NumCPU(), cpu, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH, load)
}

func etcdVersion() string {
	out, err := exec.CommandContext(context.Background(), "etcd", "--version").Output()
	if err != nil {
		return "?"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(strings.TrimPrefix(first, "etcd Version:"))
}

// generate creates the namespaces and pods, concurrency at a time, and
// sets the status of the crashing and evicted ones.
func generate(ctx context.Context, c *kubernetes.Clientset, pods, namespaces, perWorkload, conc int) error {
	for i := range namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:   fmt.Sprintf("team-%03d", i),
			Labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline"},
		}}
		if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create namespace: %w", err)
		}
		np := &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "default-deny", Namespace: ns.Name},
			Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}},
		}
		if _, err := c.NetworkingV1().NetworkPolicies(ns.Name).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create network policy: %w", err)
		}
	}
	jobs := make(chan int)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range jobs {
				if err := createPod(ctx, c, i, namespaces, perWorkload); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range pods {
		select {
		case jobs <- i:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func createPod(ctx context.Context, c *kubernetes.Clientset, i, namespaces, perWorkload int) error {
	ns := fmt.Sprintf("team-%03d", i%namespaces)
	workload := i / namespaces / perWorkload
	hash := fmt.Sprintf("%09x", workload*7919+1)[:9]
	rs := fmt.Sprintf("svc-%d-%s", workload, hash)
	image := fmt.Sprintf("registry.example.com/team/svc-%d:1.%d.0", workload%50, workload%7)
	if i%13 == 0 {
		image = "docker.io/library/nginx:1.27" // outside the allow-list
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s-%05d", rs, i),
			Namespace: ns,
			Labels:    map[string]string{"app": fmt.Sprintf("svc-%d", workload), "pod-template-hash": hash},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, Controller: ptr(true),
				UID: types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", workload)),
			}},
		},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: ptr(i%3 == 0),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  "app",
				Image: image,
				Env: []corev1.EnvVar{
					{Name: "LOG_LEVEL", Value: "info"},
					{Name: "PORT", Value: "8080"},
					{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password",
					}}},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}, {
				Name:  "proxy",
				Image: "registry.example.com/platform/envoy:1.31.0",
			}},
		},
	}
	created, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create pod: %w", err)
	}
	switch {
	case i%50 == 7:
		created.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", Image: image, RestartCount: 9, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason: "CrashLoopBackOff", Message: "back-off 5m0s restarting failed container",
			}}},
			{
				Name: "proxy", Image: "registry.example.com/platform/envoy:1.31.0", Ready: true,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
			},
		}}
	case i%100 == 11:
		created.Status = corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "The node was low on resource: memory."}
	default:
		return nil
	}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("pod status: %w", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
