package argocd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

// Facts are what one collection of an Argo CD server found. Each list
// that can be refused on its own carries its own error, so that the
// checks reading it answer error with the reason.
type Facts struct {
	URL         string    `json:"url"`
	CollectedAt time.Time `json:"collectedAt"`
	// RequireAutoSync and Projects are the register's policy, copied so
	// that a result can be reproduced from the evidence.
	RequireAutoSync bool     `json:"requireAutoSync"`
	Projects        []string `json:"projects,omitempty"`

	Applications      []Application `json:"applications"`
	ApplicationsError string        `json:"applicationsError,omitempty"`
	AppProjects       []Project     `json:"appProjects"`
	AppProjectsError  string        `json:"appProjectsError,omitempty"`
	Accounts          []Account     `json:"accounts"`
	AccountsError     string        `json:"accountsError,omitempty"`
}

// Application is one Argo CD application, as the checks see it.
type Application struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Project   string `json:"project"`
	// Sync is status.sync.status: Synced, OutOfSync or Unknown.
	Sync     string `json:"sync"`
	Revision string `json:"revision,omitempty"`
	// Health is status.health.status: Healthy, Progressing, Degraded,
	// Suspended, Missing or Unknown.
	Health        string `json:"health"`
	HealthMessage string `json:"healthMessage,omitempty"`
	// Conditions are status.conditions (SyncError, ComparisonError, …).
	Conditions []Condition `json:"conditions,omitempty"`
	// Operation is the last operation's phase and message.
	OperationPhase   string `json:"operationPhase,omitempty"`
	OperationMessage string `json:"operationMessage,omitempty"`
	// Resources are the managed resources that are not synced or not
	// healthy, with Argo CD's messages.
	Resources []Resource `json:"resources,omitempty"`
	// AutoSync is spec.syncPolicy.automated being set; Prune and SelfHeal
	// are its fields.
	AutoSync bool `json:"autoSync"`
	Prune    bool `json:"prune"`
	SelfHeal bool `json:"selfHeal"`
}

// Condition is one application condition.
type Condition struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Resource is one managed resource that needs attention.
type Resource struct {
	Kind          string `json:"kind"`
	Namespace     string `json:"namespace,omitempty"`
	Name          string `json:"name"`
	Sync          string `json:"sync,omitempty"`
	Health        string `json:"health,omitempty"`
	HealthMessage string `json:"healthMessage,omitempty"`
}

// Project is one AppProject's scope.
type Project struct {
	Name         string        `json:"name"`
	SourceRepos  []string      `json:"sourceRepos"`
	Destinations []Destination `json:"destinations"`
}

// Destination is where a project's applications may deploy.
type Destination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// Account is a local Argo CD account.
type Account struct {
	Name         string   `json:"name"`
	Enabled      bool     `json:"enabled"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// Collector collects argocd facts.
type Collector struct {
	Env rampart.Env
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

var _ rampart.Collector = (*Collector)(nil)

// Collect implements rampart.Collector.
func (c *Collector) Collect(ctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
	spec, ok := r.Spec.(*Spec)
	if !ok || spec == nil {
		return nil, fmt.Errorf("resource %s has no argocd spec", r.ID)
	}
	getenv, readFile := c.Env.Getenv, c.Env.ReadFile
	if getenv == nil {
		getenv = os.Getenv
	}
	if readFile == nil {
		readFile = os.ReadFile
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	token, err := spec.Token.Resolve(getenv, readFile)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	client, err := httpClient(spec, readFile)
	if err != nil {
		return nil, err
	}
	api := &api{base: strings.TrimSuffix(spec.URL, "/"), token: token, client: client, timeout: spec.Timeout}
	f := &Facts{URL: spec.URL, CollectedAt: now().UTC(), RequireAutoSync: spec.RequireAutoSync, Projects: slices.Clone(spec.Projects)}

	q := url.Values{}
	for _, p := range spec.Projects {
		q.Add("projects", p)
	}
	var apps applicationList
	if err := api.get(ctx, "/api/v1/applications", q, &apps); err != nil {
		if fatal(err) {
			return nil, err
		}
		f.ApplicationsError = explain(err, "applications", "applications, get")
	} else {
		f.Applications = apps.facts(spec.Projects)
	}
	var projects projectList
	if err := api.get(ctx, "/api/v1/projects", nil, &projects); err != nil {
		if fatal(err) {
			return nil, err
		}
		f.AppProjectsError = explain(err, "projects", "projects, get")
	} else {
		f.AppProjects = projects.facts(spec.Projects)
	}
	var accounts accountList
	if err := api.get(ctx, "/api/v1/account", nil, &accounts); err != nil {
		if fatal(err) {
			return nil, err
		}
		f.AccountsError = explain(err, "accounts", "accounts, get")
	} else {
		f.Accounts = accounts.facts()
	}
	return f, nil
}

func httpClient(spec *Spec, readFile func(string) ([]byte, error)) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if spec.CABundle != "" {
		pem, err := readFile(spec.CABundle)
		if err != nil {
			return nil, fmt.Errorf("caBundle %s: %w", spec.CABundle, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caBundle %s: no PEM certificate in it", spec.CABundle)
		}
		cfg.RootCAs = pool
	}
	// The register asked for it in so many words: a lab server with a
	// self-signed certificate.
	cfg.InsecureSkipVerify = spec.InsecureSkipVerify //nolint:gosec // opt-in, documented
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr}, nil
}

// api talks to Argo CD's REST gateway.
type api struct {
	base    string
	token   string
	client  *http.Client
	timeout time.Duration
}

// apiError is a refused or failed request.
type apiError struct {
	Status  int
	Path    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("GET %s: Argo CD answered %d %s: %s", e.Path, e.Status, http.StatusText(e.Status), e.Message)
}

// errUnauthorized marks a token Argo CD does not accept: nothing else
// will succeed.
var errUnauthorized = errors.New("the Argo CD server rejected the token")

func fatal(err error) bool {
	return errors.Is(err, errUnauthorized) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || isTransport(err)
}

// transportError is a failure to reach the server at all (DNS, TCP, TLS).
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func isTransport(err error) bool {
	var t *transportError
	return errors.As(err, &t)
}

func (a *api) get(ctx context.Context, path string, q url.Values, out any) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	u := a.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("GET %s: %w", path, ctx.Err())
		}
		return &transportError{fmt.Errorf("GET %s: %w", path, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	if err != nil {
		return fmt.Errorf("GET %s: read answer: %w", path, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("%w (GET %s answered 401: %s): renew the token or fix its reference", errUnauthorized, path, message(body))
	}
	if resp.StatusCode != http.StatusOK {
		return &apiError{Status: resp.StatusCode, Path: path, Message: message(body)}
	}
	return decode(path, body, out)
}

// decode reads one Argo CD answer; an answer that is not the JSON object
// expected is an error that says so, with its start.
func decode(path string, body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: the answer is not Argo CD's JSON (%w): %s", path, err, preview(body))
	}
	return nil
}

// message is the grpc-gateway error's message, or the start of the body.
func message(body []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && (e.Message != "" || e.Error != "") {
		if e.Message != "" {
			return e.Message
		}
		return e.Error
	}
	return preview(body)
}

func preview(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// explain words a section's failure; a 403 names the RBAC permission.
func explain(err error, what, permission string) string {
	var a *apiError
	if errors.As(err, &a) && a.Status == http.StatusForbidden {
		return fmt.Sprintf("the token lacks the Argo CD permission to read %s (RBAC %q; GET %s answered 403: %s)", what, permission, a.Path, a.Message)
	}
	return fmt.Sprintf("read %s: %v", what, err)
}

// The API's payloads, as far as the checks read them.

type applicationList struct {
	Items []struct {
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Spec struct {
			Project    string `json:"project"`
			SyncPolicy *struct {
				Automated *struct {
					Prune    bool `json:"prune"`
					SelfHeal bool `json:"selfHeal"`
				} `json:"automated"`
			} `json:"syncPolicy"`
		} `json:"spec"`
		Status struct {
			Sync struct {
				Status   string `json:"status"`
				Revision string `json:"revision"`
			} `json:"sync"`
			Health struct {
				Status  string `json:"status"`
				Message string `json:"message"`
			} `json:"health"`
			Conditions []Condition `json:"conditions"`
			Resources  []struct {
				Kind      string `json:"kind"`
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
				Status    string `json:"status"`
				Health    *struct {
					Status  string `json:"status"`
					Message string `json:"message"`
				} `json:"health"`
			} `json:"resources"`
			OperationState *struct {
				Phase   string `json:"phase"`
				Message string `json:"message"`
			} `json:"operationState"`
		} `json:"status"`
	} `json:"items"`
}

func (l *applicationList) facts(projects []string) []Application {
	out := []Application{}
	for _, it := range l.Items {
		if len(projects) > 0 && !slices.Contains(projects, it.Spec.Project) {
			continue
		}
		a := Application{
			Name: it.Metadata.Name, Namespace: it.Metadata.Namespace, Project: it.Spec.Project,
			Sync: it.Status.Sync.Status, Revision: it.Status.Sync.Revision,
			Health: it.Status.Health.Status, HealthMessage: it.Status.Health.Message,
			Conditions: it.Status.Conditions,
		}
		if op := it.Status.OperationState; op != nil {
			a.OperationPhase, a.OperationMessage = op.Phase, op.Message
		}
		if sp := it.Spec.SyncPolicy; sp != nil && sp.Automated != nil {
			a.AutoSync, a.Prune, a.SelfHeal = true, sp.Automated.Prune, sp.Automated.SelfHeal
		}
		for _, r := range it.Status.Resources {
			res := Resource{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
			if r.Status != "" && r.Status != "Synced" {
				res.Sync = r.Status
			}
			if r.Health != nil && r.Health.Status != "" && r.Health.Status != "Healthy" {
				res.Health, res.HealthMessage = r.Health.Status, r.Health.Message
			}
			if res.Sync != "" || res.Health != "" {
				a.Resources = append(a.Resources, res)
			}
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

type projectList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			SourceRepos  []string      `json:"sourceRepos"`
			Destinations []Destination `json:"destinations"`
		} `json:"spec"`
	} `json:"items"`
}

func (l *projectList) facts(projects []string) []Project {
	out := []Project{}
	for _, it := range l.Items {
		if len(projects) > 0 && !slices.Contains(projects, it.Metadata.Name) {
			continue
		}
		out = append(out, Project{Name: it.Metadata.Name, SourceRepos: it.Spec.SourceRepos, Destinations: it.Spec.Destinations})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type accountList struct {
	Items []Account `json:"items"`
}

func (l *accountList) facts() []Account {
	out := slices.Clone(l.Items)
	if out == nil {
		out = []Account{}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
