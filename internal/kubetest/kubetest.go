// Package kubetest runs a real Kubernetes API server for tests and
// benchmarks: etcd from Debian's etcd-server package and a kube-apiserver
// built from the k8s.io/kubernetes module by scripts/kube-apiserver.sh,
// both on loopback, with static tokens for an admin, a read-only user and
// a user with no rights, RBAC authorization, and a CA made in the test.
//
// Tests share one server per test binary: call Start(t) in each test and
// Main(m) from TestMain, which stops the server after the tests ran.
package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Users the token file declares. ReadOnlyUser is in ReadOnlyGroup, bound
// to ReadOnlyRole (get, list and watch on every resource); NoRightsUser is
// bound to nothing beyond what every authenticated user may do
// (discovery); AdminUser is in system:masters.
const (
	AdminUser     = "kubetest-admin"
	ReadOnlyUser  = "kubetest-reader"
	ReadOnlyGroup = "kubetest:readers"
	NoRightsUser  = "kubetest-nobody"
	ReadOnlyRole  = "kubetest-read-only"
)

// Server is a running etcd and kube-apiserver pair.
type Server struct {
	// URL is the API server's https URL on loopback.
	URL string
	// CAPEM is the CA certificate that signed the serving certificate.
	CAPEM []byte
	// Bearer tokens of the three users.
	AdminToken, ReadOnlyToken, NoRightsToken string

	dir             string
	etcd, apiserver *process
	stopOnce        sync.Once
}

// Config returns a client configuration that authenticates with token.
// Rate limits are raised: tests create objects in bulk.
func (s *Server) Config(token string) *rest.Config {
	return &rest.Config{
		Host:            s.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: s.CAPEM},
		QPS:             500,
		Burst:           1000,
	}
}

// Client returns a typed clientset authenticated with token.
func (s *Server) Client(token string) (*kubernetes.Clientset, error) {
	c, err := kubernetes.NewForConfig(s.Config(token))
	if err != nil {
		return nil, fmt.Errorf("kubetest client: %w", err)
	}
	return c, nil
}

// Kubeconfig returns a kubeconfig with one cluster, one user holding
// token, and one context named context, which is also the current one.
func (s *Server) Kubeconfig(context, token string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubetest"] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthorityData: s.CAPEM}
	cfg.AuthInfos[context] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[context] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: context}
	cfg.CurrentContext = context
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("encode kubeconfig: %w", err)
	}
	return b, nil
}

// WriteKubeconfig writes Kubeconfig(context, token) to path, readable by
// the owner only.
func (s *Server) WriteKubeconfig(path, context, token string) error {
	b, err := s.Kubeconfig(context, token)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// StartServer starts etcd and kube-apiserver from bins, waits until the
// API server is ready, and creates the read-only role. log receives
// progress lines; it may be nil. Stop the server with Stop.
func StartServer(ctx context.Context, bins Binaries, log func(string)) (_ *Server, err error) {
	if log == nil {
		log = func(string) {}
	}
	dir, err := os.MkdirTemp("", "kubetest-")
	if err != nil {
		return nil, fmt.Errorf("kubetest dir: %w", err)
	}
	s := &Server{dir: dir}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	p, err := newPKI()
	if err != nil {
		return nil, err
	}
	s.CAPEM = p.caPEM
	s.AdminToken, s.ReadOnlyToken, s.NoRightsToken = token(), token(), token()
	tokens := fmt.Sprintf("%s,%s,%s,\"system:masters\"\n%s,%s,%s,\"%s\"\n%s,%s,%s\n",
		s.AdminToken, AdminUser, AdminUser, s.ReadOnlyToken, ReadOnlyUser, ReadOnlyUser, ReadOnlyGroup,
		s.NoRightsToken, NoRightsUser, NoRightsUser)
	files := map[string][]byte{
		"ca.crt": p.caPEM, "apiserver.crt": p.certPEM, "apiserver.key": p.keyPEM,
		"sa.key": p.saPrivPEM, "sa.pub": p.saPubPEM, "tokens.csv": []byte(tokens),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, fmt.Errorf("kubetest: %w", err)
		}
	}

	ports, err := freePorts(ctx, 3)
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	log("starting etcd on " + etcdURL)
	s.etcd, err = startProcess(ctx, bins.Etcd, filepath.Join(dir, "etcd.log"),
		"--name=kubetest",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL,
		// Durability is worthless for a throw-away store, and fsync
		// dominates write latency on shared disks.
		"--unsafe-no-fsync",
		"--logger=zap", "--log-level=error",
	)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, http.DefaultClient, etcdURL+"/health", "", 30*time.Second, s.etcd.exited); err != nil {
		return nil, fmt.Errorf("etcd not healthy: %w%s", err, s.logTail("etcd.log"))
	}

	s.URL = "https://127.0.0.1:" + strconv.Itoa(ports[2])
	log("starting kube-apiserver on " + s.URL)
	s.apiserver, err = startProcess(ctx, bins.APIServer, filepath.Join(dir, "apiserver.log"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[2]),
		"--tls-cert-file="+filepath.Join(dir, "apiserver.crt"),
		"--tls-private-key-file="+filepath.Join(dir, "apiserver.key"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--anonymous-auth=false",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.96.0.0/24",
		// Without it the server tries to publish its loopback address as
		// the kubernetes service's endpoint and exits.
		"--endpoint-reconciler-type=none",
		// Pods must be creatable in any namespace without a controller
		// manager to create default service accounts; privileged pods
		// are needed to exercise Pod Security checks.
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=0",
	)
	if err != nil {
		return nil, err
	}
	hc, err := s.httpClient()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := waitHTTP(ctx, hc, s.URL+"/readyz", s.AdminToken, 90*time.Second, s.apiserver.exited); err != nil {
		return nil, fmt.Errorf("kube-apiserver not ready: %w%s", err, s.logTail("apiserver.log"))
	}
	log(fmt.Sprintf("kube-apiserver ready in %s", time.Since(start).Round(time.Millisecond)))
	if err := s.bindReadOnly(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// bindReadOnly creates ReadOnlyRole and binds ReadOnlyUser's group to it.
func (s *Server) bindReadOnly(ctx context.Context) error {
	if err := s.RefreshReadOnly(ctx); err != nil {
		return err
	}
	c, err := s.Client(s.AdminToken)
	if err != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ReadOnlyRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ReadOnlyRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: ReadOnlyGroup}},
	}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("bind %s: %w", ReadOnlyRole, err)
	}
	return nil
}

// RefreshReadOnly (re)writes ReadOnlyRole to grant get, list and watch on
// every resource the server serves now. Call it after installing custom
// resource definitions. The role names each resource rather than "*", so
// that it does not itself trip checks for wildcard RBAC rules.
func (s *Server) RefreshReadOnly(ctx context.Context) error {
	c, err := s.Client(s.AdminToken)
	if err != nil {
		return err
	}
	_, lists, err := c.Discovery().ServerGroupsAndResources()
	if err != nil {
		return fmt.Errorf("discover resources for %s: %w", ReadOnlyRole, err)
	}
	byGroup := map[string]map[string]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			if byGroup[gv.Group] == nil {
				byGroup[gv.Group] = map[string]bool{}
			}
			byGroup[gv.Group][r.Name] = true
		}
	}
	var rules []rbacv1.PolicyRule
	for _, g := range slices.Sorted(maps.Keys(byGroup)) {
		rules = append(rules, rbacv1.PolicyRule{
			APIGroups: []string{g},
			Resources: slices.Sorted(maps.Keys(byGroup[g])),
			Verbs:     []string{"get", "list", "watch"},
		})
	}
	roles := c.RbacV1().ClusterRoles()
	role, err := roles.Get(ctx, ReadOnlyRole, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		role = &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ReadOnlyRole}, Rules: rules}
		_, err = roles.Create(ctx, role, metav1.CreateOptions{})
	case err == nil:
		role.Rules = rules
		_, err = roles.Update(ctx, role, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", ReadOnlyRole, err)
	}
	return nil
}

// Stop stops kube-apiserver, then etcd, and removes their files.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.apiserver.stop()
		s.etcd.stop()
		_ = os.RemoveAll(s.dir)
	})
}

// Logs returns the tail of kube-apiserver's log, for failure messages.
func (s *Server) Logs() string { return s.logTail("apiserver.log") }

func (s *Server) httpClient() (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		return nil, errors.New("kubetest: CA certificate does not parse")
	}
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}, nil
}

func (s *Server) logTail(name string) string {
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return "\n" + name + " (last lines):\n" + strings.Join(lines, "\n")
}

// process is a started child and a channel closed when it exits.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func startProcess(ctx context.Context, path, logPath string, args ...string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("kubetest log: %w", err)
	}
	defer logf.Close() // the child holds its own descriptor
	// The servers outlive the start: only Stop ends them.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(path), err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitHTTP polls url until it answers 200, the deadline passes, or exited
// is closed.
func waitHTTP(ctx context.Context, c *http.Client, url, token string, limit time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %s (last: %s)", url, limit, last)
		case <-exited:
			return errors.New("the process exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePorts(ctx context.Context, n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("kubetest port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func token() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Start returns the test binary's shared server, starting it on first
// use. When the binaries are missing the test is skipped with a message
// saying how to get them, except under CI=true, where Start first runs
// scripts/kube-apiserver.sh (so does RAMPART_KUBE_BUILD=1) and fails if
// that does not produce them: CI must never skip these tests.
func Start(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() {
		shared.srv, shared.err = startShared(t)
	})
	if shared.err != nil {
		if errors.Is(shared.err, ErrMissing) && os.Getenv("CI") != "true" {
			t.Skipf("kubetest: %v", shared.err)
		}
		t.Fatalf("kubetest: %v", shared.err)
	}
	return shared.srv
}

func startShared(t testing.TB) (*Server, error) {
	bins, err := FindBinaries(os.Getenv)
	if errors.Is(err, ErrMissing) && (os.Getenv("CI") == "true" || os.Getenv("RAMPART_KUBE_BUILD") == "1") {
		t.Logf("kubetest: %v; building them now", err)
		bins, err = BuildBinaries(context.Background(), os.Getenv, func(line string) { t.Log(line) })
	}
	if err != nil {
		return nil, err
	}
	return StartServer(context.Background(), bins, func(line string) { t.Log("kubetest: " + line) })
}

// Main runs the tests and then stops the shared server, if one was
// started; call it from TestMain: os.Exit(kubetest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	return code
}
