package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rampart-dev/rampart"
)

// DefaultPageSize is the Limit of each list request.
const DefaultPageSize = 500

// DefaultConcurrency bounds the lists in flight against one cluster.
const DefaultConcurrency = 4

// Collector lists a cluster's objects and records its Facts.
type Collector struct {
	// Env supplies KUBECONFIG, HOME and file reads; nil fields fall back
	// to the os package.
	Env rampart.Env
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PageSize is the Limit of each list; 0 means DefaultPageSize.
	PageSize int64
	// Concurrency bounds lists in flight; 0 means DefaultConcurrency.
	Concurrency int

	requests atomic.Int64
}

var _ rampart.Collector = (*Collector)(nil)

// Requests is the number of HTTP requests the collector has sent to API
// servers so far, over all its collections.
func (c *Collector) Requests() int64 { return c.requests.Load() }

// Collect implements rampart.Collector. It returns an error only when the
// cluster cannot be reached or discovered at all; a list that fails is
// recorded in Facts.Errors and the checks that need it say so.
func (c *Collector) Collect(ctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
	spec, err := specOf(r)
	if err != nil {
		return nil, err
	}
	cfg, err := c.restConfig(spec)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", r.ID, err)
	}
	return c.CollectConfig(ctx, cfg, spec)
}

// CollectConfig collects with a ready client configuration, for callers
// that already have one (the benchmark, in-process tools).
func (c *Collector) CollectConfig(ctx context.Context, cfg *rest.Config, spec *Spec) (*Facts, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "rampart"
	// Lists are few and sequential per kind; client-go's default of 5
	// requests a second would make a large cluster's scan crawl.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{rt: rt, n: &c.requests} })

	// Built-in kinds speak protobuf: a third of JSON's size and much
	// cheaper to decode. Custom resources only speak JSON.
	proto := rest.CopyConfig(cfg)
	proto.ContentType = "application/vnd.kubernetes.protobuf"
	proto.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	typed, err := kubernetes.NewForConfig(proto)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery client: %w", err)
	}

	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	f := &Facts{
		CollectedAt: now().UTC(),
		Policy: Policy{
			MinVersion:              spec.MinVersion,
			AllowedRegistries:       spec.AllowedRegistries,
			RestartThreshold:        spec.RestartThreshold,
			RequireFluxVerification: spec.RequireFluxVerification,
			SystemNamespaces:        spec.SystemNamespaces,
			AllowedClusterAdmins:    spec.AllowedClusterAdmins,
		},
	}
	k := &collection{
		typed: typed, dyn: dyn, facts: f,
		page:   c.PageSize,
		system: map[string]bool{},
		errors: map[string]string{},
	}
	if k.page <= 0 {
		k.page = DefaultPageSize
	}
	for _, ns := range spec.SystemNamespaces {
		k.system[ns] = true
	}

	info, err := disc.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("server version: %w", describeAPIError(err))
	}
	f.Server = Server{GitVersion: info.GitVersion, Platform: info.Platform, Distribution: Distribution(info.GitVersion)}
	if err := k.discover(disc); err != nil {
		return nil, err
	}

	concurrency := c.Concurrency
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	// Pods first: the longest list should not start last.
	for _, task := range []func(context.Context){
		k.pods, k.namespaces, k.serviceAccounts, k.nodes, k.networkPolicies,
		k.roles, k.clusterRoles, k.roleBindings, k.clusterRoleBindings,
		k.kyverno, k.policyReports, k.externalSecrets, k.certificates, k.flux,
	} {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			task(ctx)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("collect cluster: %w", err)
	}
	k.finish()
	if len(k.errors) > 0 {
		f.Errors = k.errors
	}
	return f, nil
}

func specOf(r *rampart.Resource) (*Spec, error) {
	switch s := r.Spec.(type) {
	case *Spec:
		return s, nil
	case Spec:
		return &s, nil
	case nil:
		return NewSpec(), nil
	}
	return nil, fmt.Errorf("resource %s: spec of type %T, want kubernetes-cluster spec", r.ID, r.Spec)
}

// restConfig builds the client configuration the spec describes.
func (c *Collector) restConfig(spec *Spec) (*rest.Config, error) {
	getenv, readFile := os.Getenv, os.ReadFile
	if c.Env.Getenv != nil {
		getenv = c.Env.Getenv
	}
	if c.Env.ReadFile != nil {
		readFile = c.Env.ReadFile
	}
	var cfg *rest.Config
	if spec.InCluster {
		var err error
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster configuration: %w", err)
		}
	} else {
		path := spec.kubeconfigPath()
		if path == "" {
			// KUBECONFIG may list several files; as kubectl does, the first
			// one is where a current context is looked for.
			path, _, _ = strings.Cut(getenv("KUBECONFIG"), string(filepath.ListSeparator))
		}
		if path == "" {
			home := getenv("HOME")
			if home == "" {
				return nil, errors.New("no kubeconfig: set spec.kubeconfig, KUBECONFIG or HOME, or inCluster")
			}
			path = filepath.Join(home, ".kube", "config")
		}
		b, err := readFile(path)
		if err != nil {
			return nil, fmt.Errorf("read kubeconfig: %w", err)
		}
		kc, err := clientcmd.Load(b)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
		}
		// Certificate and key paths in a kubeconfig are relative to it.
		for _, cl := range kc.Clusters {
			cl.LocationOfOrigin = path
		}
		for _, ai := range kc.AuthInfos {
			ai.LocationOfOrigin = path
		}
		if err := clientcmd.ResolveLocalPaths(kc); err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
		}
		if spec.Context != "" {
			if _, ok := kc.Contexts[spec.Context]; !ok {
				return nil, fmt.Errorf("kubeconfig %s has no context %q", path, spec.Context)
			}
		}
		cfg, err = clientcmd.NewNonInteractiveClientConfig(*kc, spec.Context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
		}
	}
	if spec.Token != "" {
		tok, err := spec.Token.Resolve(getenv, readFile)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		// The token replaces every other credential of the kubeconfig.
		cfg.BearerToken, cfg.BearerTokenFile = tok, ""
		cfg.Username, cfg.Password = "", ""
		cfg.CertData, cfg.KeyData, cfg.CertFile, cfg.KeyFile = nil, nil, "", ""
		cfg.ExecProvider, cfg.AuthProvider = nil, nil
	}
	return cfg, nil
}

// countingTransport counts the requests sent, for the benchmark and the
// scan's own accounting.
type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.rt.RoundTrip(req)
}

// collection is one collection's state: the clients, the facts being
// filled, and the errors of lists that failed.
type collection struct {
	typed  kubernetes.Interface
	dyn    dynamic.Interface
	facts  *Facts
	page   int64
	system map[string]bool

	// served holds "resource.group/version" of every resource the API
	// serves.
	served map[string]bool

	mu          sync.Mutex // guards what the list tasks write below
	errors      map[string]string
	saAutomount map[string]*bool // namespace/name → automountServiceAccountToken
	saListed    bool
	podSum      *podSummary
	netpols     map[string]*Namespace // by namespace, only the policy fields
}

// discover records which resources the API serves, in one or two requests
// (aggregated discovery). A group that fails discovery is recorded as an
// error for the lists in it; total failure is the collection's error.
func (k *collection) discover(disc discovery.DiscoveryInterface) error {
	_, lists, err := disc.ServerGroupsAndResources()
	if err != nil {
		var failed *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &failed) {
			return fmt.Errorf("discover API resources: %w", describeAPIError(err))
		}
		for gv, gerr := range failed.Groups {
			k.errors["discovery "+gv.String()] = describeAPIError(gerr).Error()
		}
	}
	k.served = map[string]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if !strings.Contains(r.Name, "/") {
				k.served[r.Name+"."+gv.Group+"/"+gv.Version] = true
			}
		}
	}
	return nil
}

// fail records why list key could not be made.
func (k *collection) fail(key string, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.errors[key] = describeListError(key, err).Error()
}

// describeListError turns an API error into what a user can act on,
// naming the resource and the verb the credentials lack.
func describeListError(key string, err error) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the credentials lack list on %s at cluster scope (403 Forbidden)", key)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the credentials were rejected listing %s (401 Unauthorized): renew the token or kubeconfig", key)
	case apierrors.IsResourceExpired(err):
		return fmt.Errorf("list %s: the continue token expired before the last page (the list took longer than etcd's compaction interval)", key)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("list %s: the API server no longer serves it (404)", key)
	}
	return fmt.Errorf("list %s: %w", key, describeAPIError(err))
}

// describeAPIError adds the status code to an API error's message.
func describeAPIError(err error) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		s := status.Status()
		return fmt.Errorf("%s (%d %s)", s.Message, s.Code, s.Reason)
	}
	return err
}

// each pages through one list: fetch makes one request with opts and
// consumes its items, returning the continue token. It reports whether the
// whole list was read; on failure the error is recorded under key.
func (k *collection) each(ctx context.Context, key string, fetch func(context.Context, metav1.ListOptions) (string, error)) bool {
	opts := metav1.ListOptions{Limit: k.page}
	for {
		cont, err := fetch(ctx, opts)
		if err != nil {
			k.fail(key, err)
			return false
		}
		if cont == "" {
			return true
		}
		opts.Continue = cont
	}
}

func (k *collection) pods(ctx context.Context) {
	s := newPodSummary(k.system)
	ok := k.each(ctx, "pods", func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := k.typed.CoreV1().Pods("").List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range l.Items {
			s.add(&l.Items[i])
		}
		return l.Continue, nil
	})
	if ok {
		k.mu.Lock()
		k.podSum = s
		k.mu.Unlock()
	}
}

func (k *collection) namespaces(ctx context.Context) {
	var out []Namespace
	ok := k.each(ctx, "namespaces", func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := k.typed.CoreV1().Namespaces().List(ctx, o)
		if err != nil {
			return "", err
		}
		for _, ns := range l.Items {
			out = append(out, Namespace{Name: ns.Name, System: k.system[ns.Name], Enforce: ns.Labels["pod-security.kubernetes.io/enforce"]})
		}
		return l.Continue, nil
	})
	if ok {
		k.mu.Lock()
		k.facts.Namespaces = out
		k.mu.Unlock()
	}
}

func (k *collection) serviceAccounts(ctx context.Context) {
	out := map[string]*bool{}
	ok := k.each(ctx, "serviceaccounts", func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := k.typed.CoreV1().ServiceAccounts("").List(ctx, o)
		if err != nil {
			return "", err
		}
		for _, sa := range l.Items {
			out[sa.Namespace+"/"+sa.Name] = sa.AutomountServiceAccountToken
		}
		return l.Continue, nil
	})
	if ok {
		k.mu.Lock()
		k.saAutomount, k.saListed = out, true
		k.mu.Unlock()
	}
}

func (k *collection) nodes(ctx context.Context) {
	var out []Node
	ok := k.each(ctx, "nodes", func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := k.typed.CoreV1().Nodes().List(ctx, o)
		if err != nil {
			return "", err
		}
		for _, n := range l.Items {
			node := Node{Name: n.Name, Kubelet: n.Status.NodeInfo.KubeletVersion}
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady {
					node.Ready, node.Reason, node.Message = string(c.Status), c.Reason, c.Message
				}
			}
			out = append(out, node)
		}
		return l.Continue, nil
	})
	if ok {
		k.mu.Lock()
		k.facts.Nodes = out
		k.mu.Unlock()
	}
}

func (k *collection) networkPolicies(ctx context.Context) {
	out := map[string]*Namespace{}
	ok := k.each(ctx, "networkpolicies.networking.k8s.io", func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := k.typed.NetworkingV1().NetworkPolicies("").List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range l.Items {
			np := &l.Items[i]
			ns := out[np.Namespace]
			if ns == nil {
				ns = &Namespace{Name: np.Namespace}
				out[np.Namespace] = ns
			}
			ns.NetworkPolicies++
			in, eg := denies(np)
			if in && ns.DenyIngress == "" {
				ns.DenyIngress = np.Name
			}
			if eg && ns.DenyEgress == "" {
				ns.DenyEgress = np.Name
			}
		}
		return l.Continue, nil
	})
	if ok {
		k.mu.Lock()
		k.netpols = out
		k.mu.Unlock()
	}
}

// denies reports whether a policy selects every pod of its namespace and
// allows no ingress, and no egress but DNS.
func denies(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	sel := np.Spec.PodSelector
	if len(sel.MatchLabels) > 0 || len(sel.MatchExpressions) > 0 {
		return false, false
	}
	types := np.Spec.PolicyTypes
	if len(types) == 0 {
		// The API's defaulting: Ingress always, Egress when rules exist.
		types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			types = append(types, networkingv1.PolicyTypeEgress)
		}
	}
	ingress = slices.Contains(types, networkingv1.PolicyTypeIngress) && len(np.Spec.Ingress) == 0
	egress = slices.Contains(types, networkingv1.PolicyTypeEgress) && !slices.ContainsFunc(np.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
		return !dnsOnly(r)
	})
	return ingress, egress
}

// dnsOnly reports whether an egress rule allows nothing but port 53: the
// usual exception a default-deny egress policy makes.
func dnsOnly(r networkingv1.NetworkPolicyEgressRule) bool {
	if len(r.Ports) == 0 {
		return false
	}
	for _, p := range r.Ports {
		if p.Port == nil || p.Port.IntValue() != 53 || p.EndPort != nil {
			return false
		}
	}
	return true
}

func (k *collection) roles(ctx context.Context) {
	var out []Role
	ok := k.each(ctx, "roles.rbac.authorization.k8s.io", func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := k.typed.RbacV1().Roles("").List(ctx, o)
		if err != nil {
			return "", err
		}
		for _, r := range l.Items {
			out = append(out, role("Role", &r.ObjectMeta, r.Rules, false))
		}
		return l.Continue, nil
	})
	k.commitRoles(ok, out)
}

func (k *collection) clusterRoles(ctx context.Context) {
	var out []Role
	ok := k.each(ctx, "clusterroles.rbac.authorization.k8s.io", func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := k.typed.RbacV1().ClusterRoles().List(ctx, o)
		if err != nil {
			return "", err
		}
		for _, r := range l.Items {
			out = append(out, role("ClusterRole", &r.ObjectMeta, r.Rules, r.AggregationRule != nil))
		}
		return l.Continue, nil
	})
	k.commitRoles(ok, out)
}

func (k *collection) commitRoles(ok bool, rs []Role) {
	if !ok {
		return
	}
	k.mu.Lock()
	k.facts.Roles = append(k.facts.Roles, rs...)
	k.mu.Unlock()
}

// isDefault reports whether an RBAC object is one of Kubernetes' own.
func isDefault(m *metav1.ObjectMeta) bool {
	return strings.HasPrefix(m.Name, "system:") || m.Labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
}

func role(kind string, m *metav1.ObjectMeta, rules []rbacv1.PolicyRule, aggregated bool) Role {
	r := Role{Kind: kind, Namespace: m.Namespace, Name: m.Name, Default: isDefault(m), Aggregated: aggregated}
	for _, rule := range rules {
		if slices.Contains(rule.Verbs, rbacv1.VerbAll) || slices.Contains(rule.Resources, rbacv1.ResourceAll) {
			r.Wildcards = append(r.Wildcards, fmt.Sprintf("apiGroups=[%s] resources=[%s] verbs=[%s]",
				strings.Join(rule.APIGroups, ","), strings.Join(rule.Resources, ","), strings.Join(rule.Verbs, ",")))
		}
	}
	return r
}

func (k *collection) roleBindings(ctx context.Context) {
	var out []Binding
	ok := k.each(ctx, "rolebindings.rbac.authorization.k8s.io", func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := k.typed.RbacV1().RoleBindings("").List(ctx, o)
		if err != nil {
			return "", err
		}
		for _, b := range l.Items {
			out = append(out, binding("RoleBinding", &b.ObjectMeta, b.RoleRef, b.Subjects))
		}
		return l.Continue, nil
	})
	k.commitBindings(ok, out)
}

func (k *collection) clusterRoleBindings(ctx context.Context) {
	var out []Binding
	ok := k.each(ctx, "clusterrolebindings.rbac.authorization.k8s.io", func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := k.typed.RbacV1().ClusterRoleBindings().List(ctx, o)
		if err != nil {
			return "", err
		}
		for _, b := range l.Items {
			out = append(out, binding("ClusterRoleBinding", &b.ObjectMeta, b.RoleRef, b.Subjects))
		}
		return l.Continue, nil
	})
	k.commitBindings(ok, out)
}

func binding(kind string, m *metav1.ObjectMeta, ref rbacv1.RoleRef, subjects []rbacv1.Subject) Binding {
	b := Binding{Kind: kind, Namespace: m.Namespace, Name: m.Name, RoleKind: ref.Kind, RoleName: ref.Name, Default: isDefault(m)}
	for _, s := range subjects {
		sub := Subject{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name}
		if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "" {
			// A RoleBinding's service account subject defaults to the
			// binding's namespace.
			sub.Namespace = m.Namespace
		}
		b.Subjects = append(b.Subjects, sub)
	}
	return b
}

func (k *collection) commitBindings(ok bool, bs []Binding) {
	if !ok {
		return
	}
	k.mu.Lock()
	k.facts.Bindings = append(k.facts.Bindings, bs...)
	k.mu.Unlock()
}

// finish joins what the lists gathered: pods with service accounts,
// namespaces with network policies, and sorts everything so that the
// facts of an unchanged cluster hash the same.
func (k *collection) finish() {
	f := k.facts
	if k.podSum != nil {
		f.Pods = k.podSum.pods
		f.CrashLoops, f.Evicted, f.Restarted = k.podSum.crashLoops, k.podSum.evicted, k.podSum.restarted
		for _, w := range k.podSum.workloads {
			switch {
			case w.podTrue:
				w.Automount, w.AutomountFrom = true, "pod"
			case !w.podUnset:
				w.Automount, w.AutomountFrom = false, "pod"
			case !k.saListed:
				// Unknown until service accounts can be listed; the
				// automount check errors on the missing list.
				w.Automount, w.AutomountFrom = true, "default"
			default:
				if a := k.saAutomount[w.Namespace+"/"+w.ServiceAccount]; a != nil {
					w.Automount, w.AutomountFrom = *a, "serviceaccount"
				} else {
					w.Automount, w.AutomountFrom = true, "default"
				}
			}
			f.Workloads = append(f.Workloads, *w)
		}
	}
	if k.netpols != nil {
		for i := range f.Namespaces {
			ns := &f.Namespaces[i]
			if p := k.netpols[ns.Name]; p != nil {
				ns.NetworkPolicies, ns.DenyIngress, ns.DenyEgress = p.NetworkPolicies, p.DenyIngress, p.DenyEgress
			}
		}
	}
	sortFacts(f)
}

func sortFacts(f *Facts) {
	slices.SortFunc(f.Namespaces, func(a, b Namespace) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(f.Workloads, func(a, b Workload) int { return strings.Compare(a.Ref(), b.Ref()) })
	slices.SortFunc(f.Nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	byPod := func(a, b ContainerState) int {
		return strings.Compare(a.Namespace+"/"+a.Pod+"/"+a.Container, b.Namespace+"/"+b.Pod+"/"+b.Container)
	}
	slices.SortFunc(f.CrashLoops, byPod)
	slices.SortFunc(f.Restarted, byPod)
	slices.SortFunc(f.Evicted, func(a, b PodState) int { return strings.Compare(a.Namespace+"/"+a.Pod, b.Namespace+"/"+b.Pod) })
	slices.SortFunc(f.Roles, func(a, b Role) int { return strings.Compare(a.Ref(), b.Ref()) })
	slices.SortFunc(f.Bindings, func(a, b Binding) int { return strings.Compare(a.Ref(), b.Ref()) })
	slices.SortFunc(f.Kyverno.Policies, func(a, b KyvernoPolicy) int {
		return strings.Compare(a.Kind+"/"+a.Namespace+"/"+a.Name, b.Kind+"/"+b.Namespace+"/"+b.Name)
	})
	slices.SortFunc(f.PolicyReports.Failures, func(a, b PolicyFailure) int {
		return strings.Compare(a.Resource+"/"+a.Policy+"/"+a.Rule, b.Resource+"/"+b.Policy+"/"+b.Rule)
	})
	for _, cr := range []*CustomResources{&f.ExternalSecrets, &f.Certificates, &f.Flux} {
		slices.Sort(cr.Installed)
		slices.SortFunc(cr.Objects, func(a, b Object) int { return strings.Compare(a.Ref(), b.Ref()) })
	}
}

// listCustom pages through a custom resource list.
func (k *collection) listCustom(ctx context.Context, key string, gvr schema.GroupVersionResource, fn func(*unstructured.Unstructured)) bool {
	return k.each(ctx, key, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := k.dyn.Resource(gvr).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range l.Items {
			fn(&l.Items[i])
		}
		return l.GetContinue(), nil
	})
}
