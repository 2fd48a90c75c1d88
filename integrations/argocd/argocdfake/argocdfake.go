// Package argocdfake is a loopback Argo CD API server for tests: it
// answers GET /api/v1/applications, /api/v1/projects and /api/v1/account
// with the payload shapes of Argo CD's REST gateway (an ApplicationList's
// metadata and items, grpc-gateway error bodies with their codes), a 401
// for a token it does not know, a 403 for a section the token may not
// read, and, on demand, a 500 or a body that is not JSON.
package argocdfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// App is an application.
type App struct {
	Name, Namespace, Project string
	RepoURL, Path            string
	DestServer, DestNS       string
	// Sync is Synced, OutOfSync or Unknown; Health is Healthy,
	// Progressing, Degraded, Suspended, Missing or Unknown.
	Sync, Health   string
	Conditions     []Condition
	OperationPhase string
	OperationMsg   string
	// Automated is the sync policy's automated block; nil for manual sync.
	Automated *Automated
	Resources []Resource
}

// Condition is an application condition.
type Condition struct{ Type, Message string }

// Automated is spec.syncPolicy.automated.
type Automated struct{ Prune, SelfHeal bool }

// Resource is a managed resource's status.
type Resource struct {
	Kind, Namespace, Name string
	Sync, Health, Message string
}

// Project is an AppProject.
type Project struct {
	Name         string
	SourceRepos  []string
	Destinations []Destination
}

// Destination is a project destination.
type Destination struct{ Server, Name, Namespace string }

// Account is a local account.
type Account struct {
	Name    string
	Enabled bool
}

// Mode makes an endpoint misbehave.
type Mode string

// The modes.
const (
	OK        Mode = ""
	Internal  Mode = "500"       // 500 with a grpc-gateway error body
	Garbage   Mode = "garbage"   // 200 with an HTML page
	Forbidden Mode = "forbidden" // 403 permission denied
)

// Config describes the fake.
type Config struct {
	Token    string
	Apps     []App
	Projects []Project
	Accounts []Account
	// Modes sets an endpoint's behaviour by path ("/api/v1/account").
	Modes map[string]Mode
	// TLS serves HTTPS with httptest's certificate (see Certificate).
	TLS bool
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	cfg Config

	mu       sync.Mutex
	requests map[string]int
}

// New starts a fake on loopback; Close stops it.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, requests: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/applications", s.guard(s.applications))
	mux.HandleFunc("GET /api/v1/projects", s.guard(s.projects))
	mux.HandleFunc("GET /api/v1/account", s.guard(s.accounts))
	if cfg.TLS {
		s.Server = httptest.NewTLSServer(mux)
	} else {
		s.Server = httptest.NewServer(mux)
	}
	return s
}

// Requests counts the requests to a path.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// grpcError writes the grpc-gateway error body Argo CD's API answers with.
func grpcError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": msg, "code": code, "message": msg})
}

func (s *Server) guard(next func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path]++
		s.mu.Unlock()
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || tok != s.cfg.Token {
			grpcError(w, http.StatusUnauthorized, 16, "invalid session: token signature is invalid")
			return
		}
		switch s.cfg.Modes[r.URL.Path] {
		case Internal:
			grpcError(w, http.StatusInternalServerError, 13, "rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 10.96.0.12:8081: connect: connection refused\"")
			return
		case Forbidden:
			grpcError(w, http.StatusForbidden, 7, "permission denied")
			return
		case Garbage:
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1>nginx</body></html>\n"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		next(w, r)
	}
}

var created = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC).Format(time.RFC3339)

func (s *Server) applications(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query()["projects"]
	items := []any{}
	for i, a := range s.cfg.Apps {
		if len(want) > 0 && !slices.Contains(want, a.Project) {
			continue
		}
		source := map[string]any{"repoURL": a.RepoURL, "path": a.Path, "targetRevision": "HEAD"}
		dest := map[string]any{"server": a.DestServer, "namespace": a.DestNS}
		spec := map[string]any{"source": source, "destination": dest, "project": a.Project}
		if a.Automated != nil {
			spec["syncPolicy"] = map[string]any{
				"automated":   map[string]any{"prune": a.Automated.Prune, "selfHeal": a.Automated.SelfHeal},
				"syncOptions": []string{"CreateNamespace=true"},
			}
		}
		resources := []any{}
		for _, res := range a.Resources {
			m := map[string]any{"version": "v1", "kind": res.Kind, "namespace": res.Namespace, "name": res.Name, "status": res.Sync}
			if res.Kind == "Deployment" {
				m["group"] = "apps"
			}
			if res.Health != "" {
				h := map[string]any{"status": res.Health}
				if res.Message != "" {
					h["message"] = res.Message
				}
				m["health"] = h
			}
			resources = append(resources, m)
		}
		conditions := []any{}
		for _, c := range a.Conditions {
			conditions = append(conditions, map[string]any{"type": c.Type, "message": c.Message, "lastTransitionTime": created})
		}
		revision := fmt.Sprintf("%040x", i+1)
		status := map[string]any{
			"resources": resources,
			"sync": map[string]any{
				"status": a.Sync, "revision": revision,
				"comparedTo": map[string]any{"source": source, "destination": dest},
			},
			"health":       map[string]any{"status": a.Health, "lastTransitionTime": created},
			"history":      []any{map[string]any{"revision": revision, "deployedAt": created, "id": 0, "source": source, "deployStartedAt": created}},
			"reconciledAt": created, "observedAt": created, "sourceType": "Directory",
			"summary":             map[string]any{},
			"controllerNamespace": "argocd",
		}
		if len(conditions) > 0 {
			status["conditions"] = conditions
		}
		if a.OperationPhase != "" {
			status["operationState"] = map[string]any{
				"operation": map[string]any{"sync": map[string]any{"revision": revision}, "initiatedBy": map[string]any{"automated": a.Automated != nil}},
				"phase":     a.OperationPhase, "message": a.OperationMsg, "startedAt": created, "finishedAt": created,
			}
		}
		items = append(items, map[string]any{
			"metadata": map[string]any{
				"name": a.Name, "namespace": a.Namespace, "uid": fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
				"resourceVersion": fmt.Sprint(1000 + i), "generation": 3, "creationTimestamp": created,
			},
			"spec": spec, "status": status,
		})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"metadata": map[string]any{"resourceVersion": "123456"}, "items": items})
}

func (s *Server) projects(w http.ResponseWriter, _ *http.Request) {
	items := []any{}
	for i, p := range s.cfg.Projects {
		dests := []any{}
		for _, d := range p.Destinations {
			m := map[string]any{"namespace": d.Namespace}
			if d.Server != "" {
				m["server"] = d.Server
			}
			if d.Name != "" {
				m["name"] = d.Name
			}
			dests = append(dests, m)
		}
		items = append(items, map[string]any{
			"metadata": map[string]any{
				"name": p.Name, "namespace": "argocd", "uid": fmt.Sprintf("10000000-0000-4000-8000-%012d", i),
				"resourceVersion": fmt.Sprint(2000 + i), "generation": 1, "creationTimestamp": created,
			},
			"spec": map[string]any{
				"sourceRepos": p.SourceRepos, "destinations": dests,
				"clusterResourceWhitelist": []any{map[string]any{"group": "*", "kind": "*"}},
			},
			"status": map[string]any{},
		})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"metadata": map[string]any{"resourceVersion": "654321"}, "items": items})
}

func (s *Server) accounts(w http.ResponseWriter, _ *http.Request) {
	items := []any{}
	for _, a := range s.cfg.Accounts {
		caps := []string{"login"}
		if a.Name != "admin" {
			caps = []string{"apiKey"}
		}
		items = append(items, map[string]any{"name": a.Name, "enabled": a.Enabled, "capabilities": caps})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items})
}
