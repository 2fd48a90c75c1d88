package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/rampart-dev/rampart"
)

// Route is one entry of the route table: a method and a path pattern (Go
// 1.22 ServeMux syntax), the permission it needs, and its handler. Either
// Perm is set or Public is true: a route that says neither is refused at
// registration, so none can be forgotten.
type Route struct {
	Method string
	Path   string
	// Perm is the permission the caller's role must grant.
	Perm rampart.Permission
	// Public marks the few routes anyone may reach: health, sign-in and
	// static assets.
	Public bool
	// Page routes answer errors with an HTML page and send an anonymous
	// visitor to /login; the others answer JSON.
	Page bool
	// MaxBody bounds the request body in bytes (1 MiB when 0); a larger
	// body is refused with 413. Routes that take uploads raise it.
	MaxBody int64

	// Summary, Query, Body, Response and Status document an API route in
	// the OpenAPI document. Body and Response are example values whose Go
	// types give the schemas; Status is the success status (200 when 0);
	// Produces is the media type when it is not JSON.
	Summary  string
	Tag      string
	Query    []Param
	Body     any
	Response any
	Status   int
	Produces string

	// Handler serves a route added through Options.Routes. The server's
	// own routes use h, which returns errors for the one error mapper.
	Handler http.Handler
	h       handlerFunc
}

// Param documents a query parameter.
type Param struct {
	Name, Type, Doc string
}

// Pattern is the route's ServeMux pattern.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// handlerFunc is a handler of the server's own: it returns an error
// instead of writing one, so that errors are mapped in one place.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *principal) error

func q(name, typ, doc string) Param { return Param{Name: name, Type: typ, Doc: doc} }

// table is the route table. Keep it the only place routes are declared.
func (s *Server) table() []Route {
	read, audit, write, admin := rampart.PermRead, rampart.PermAudit, rampart.PermWrite, rampart.PermAdmin
	taskFilters := []Param{
		q("status", "string", "comma-separated statuses: open, in_progress, resolved (default open,in_progress)"),
		q("owner", "string", "only tasks of resources with this owner"),
		q("area", "string", "only tasks in this area"),
		q("resource", "string", "only tasks of this resource"),
		q("excepted", "boolean", "include tasks an active exception covers"),
		q("limit", "integer", "at most this many (default 500)"),
	}
	rs := []Route{
		// Public by design: probes, sign-in and the assets the sign-in
		// page needs. TestPublicRoutes lists them.
		{Method: "GET", Path: "/healthz", Public: true, h: s.healthz, Summary: "Liveness: the process answers", Tag: "health", Produces: "text/plain"},
		{Method: "GET", Path: "/readyz", Public: true, h: s.readyz, Summary: "Readiness: the store answers", Tag: "health", Produces: "text/plain"},
		{Method: "GET", Path: "/login", Public: true, Page: true, h: s.loginPage},
		{Method: "POST", Path: "/login", Public: true, Page: true, h: s.loginSubmit},
		{Method: "GET", Path: "/auth/oidc/login", Public: true, Page: true, h: s.oidcStart},
		{Method: "GET", Path: "/auth/oidc/callback", Public: true, Page: true, h: s.oidcCallback},
		{Method: "GET", Path: "/static/{file...}", Public: true, h: s.static},

		// Pages.
		{Method: "POST", Path: "/logout", Perm: read, Page: true, h: s.logout},
		{Method: "GET", Path: "/{$}", Perm: read, Page: true, h: s.overviewPage},
		{Method: "GET", Path: "/controls", Perm: read, Page: true, h: s.controlsPage},
		{Method: "GET", Path: "/controls/{id}", Perm: read, Page: true, h: s.controlPage},
		{Method: "GET", Path: "/resources", Perm: read, Page: true, h: s.resourcesPage},
		{Method: "GET", Path: "/resources/{id}", Perm: read, Page: true, h: s.resourcePage},
		{Method: "GET", Path: "/evidence/{sha256}", Perm: read, Page: true, h: s.evidencePage},
		{Method: "GET", Path: "/tasks", Perm: read, Page: true, h: s.tasksPage},
		{Method: "GET", Path: "/tasks/board", Perm: read, Page: true, h: s.boardPage},
		{Method: "GET", Path: "/tasks/{id}", Perm: read, Page: true, h: s.taskPage},
		{Method: "POST", Path: "/tasks/{id}/status", Perm: write, Page: true, h: s.taskStatusForm},
		{Method: "POST", Path: "/tasks/{id}/assign", Perm: write, Page: true, h: s.taskAssignForm},
		{Method: "POST", Path: "/tasks/{id}/comments", Perm: write, Page: true, h: s.taskCommentForm},
		{Method: "POST", Path: "/tasks/{id}/accept", Perm: write, Page: true, h: s.taskAcceptForm},
		{Method: "GET", Path: "/exceptions", Perm: read, Page: true, h: s.exceptionsPage},
		{Method: "POST", Path: "/exceptions/{id}/revoke", Perm: write, Page: true, h: s.exceptionRevokeForm},
		{Method: "GET", Path: "/scans", Perm: read, Page: true, h: s.scansPage},
		{Method: "GET", Path: "/scans/progress", Perm: read, Page: true, h: s.scanProgressFragment},
		{Method: "POST", Path: "/scans", Perm: write, Page: true, h: s.scanStartForm},
		{Method: "GET", Path: "/audit", Perm: audit, Page: true, h: s.auditPage},

		// The API.
		{
			Method: "GET", Path: "/api/v1/openapi.json", Perm: read, h: s.apiOpenAPI, Tag: "meta",
			Summary: "This API's OpenAPI 3.1 document", Response: map[string]any{},
		},
		{
			Method: "GET", Path: "/api/v1/me", Perm: read, h: s.apiMe, Tag: "meta",
			Summary: "Who the caller is and what the role allows", Response: meResponse{},
		},
		{
			Method: "GET", Path: "/api/v1/readiness", Perm: read, h: s.apiReadiness, Tag: "readiness",
			Summary: "Readiness per category, criterion and area", Query: []Param{q("framework", "string", "soc2 (default) or iso27001")},
			Response: readinessResponse{},
		},
		{
			Method: "GET", Path: "/api/v1/criteria", Perm: read, h: s.apiCriteria, Tag: "readiness",
			Summary: "Criteria of a framework with their readiness and controls", Query: []Param{q("framework", "string", "soc2 (default) or iso27001")},
			Response: []criterionView{},
		},
		{
			Method: "GET", Path: "/api/v1/resources", Perm: read, h: s.apiResources, Tag: "resources",
			Summary: "The register's resources with their status", Response: []resourceView{},
		},
		{
			Method: "GET", Path: "/api/v1/resources/{id}", Perm: read, h: s.apiResource, Tag: "resources",
			Summary: "One resource with its latest results", Response: resourceDetail{},
		},
		{
			Method: "GET", Path: "/api/v1/resources/{id}/results", Perm: read, h: s.apiResourceResults, Tag: "results",
			Summary:  "A resource's results history, newest first",
			Query:    []Param{q("check", "string", "only this check"), q("since", "string", "RFC 3339 time or YYYY-MM-DD"), q("limit", "integer", "at most this many (default 500, at most 5000)")},
			Response: []rampart.Result{},
		},
		{
			Method: "GET", Path: "/api/v1/controls", Perm: read, h: s.apiControls, Tag: "controls",
			Summary: "Controls with status, last run and next due", Query: []Param{q("area", "string", "only this area and those under it"), q("criterion", "string", "only controls supporting this criterion")},
			Response: []controlView{},
		},
		{
			Method: "GET", Path: "/api/v1/controls/{id}", Perm: read, h: s.apiControl, Tag: "controls",
			Summary: "One control: criteria, checks, results per resource", Response: controlDetail{},
		},
		{
			Method: "GET", Path: "/api/v1/results", Perm: read, h: s.apiResults, Tag: "results",
			Summary: "Results: the latest of each resource and check, or those of one scan",
			Query: []Param{
				q("resource", "string", "only this resource"), q("check", "string", "only this check"),
				q("scan", "integer", "the results of this scan instead of the latest"), q("status", "string", "only this status"),
				q("since", "string", "RFC 3339 time or YYYY-MM-DD"), q("limit", "integer", "at most this many (default 500, at most 5000)"),
			},
			Response: []rampart.Result{},
		},
		{
			Method: "GET", Path: "/api/v1/evidence/{sha256}", Perm: read, h: s.apiEvidence, Tag: "evidence",
			Summary: "Evidence metadata", Response: rampart.Evidence{},
		},
		{
			Method: "GET", Path: "/api/v1/evidence/{sha256}/content", Perm: read, h: s.apiEvidenceContent, Tag: "evidence",
			Summary: "Download evidence; X-Content-SHA256 and Digest carry its hash", Produces: "application/octet-stream",
		},
		{
			Method: "GET", Path: "/api/v1/tasks", Perm: read, h: s.apiTasks, Tag: "tasks",
			Summary: "The TODO list, most urgent first", Query: taskFilters, Response: []taskView{},
		},
		{
			Method: "GET", Path: "/api/v1/tasks/{id}", Perm: read, h: s.apiTask, Tag: "tasks",
			Summary: "One task with its comments", Response: taskDetail{},
		},
		{
			Method: "PATCH", Path: "/api/v1/tasks/{id}", Perm: write, h: s.apiTaskUpdate, Tag: "tasks",
			Summary: "Change a task's status or assignee", Body: taskPatch{}, Response: taskView{},
		},
		{
			Method: "GET", Path: "/api/v1/tasks/{id}/comments", Perm: read, h: s.apiTaskComments, Tag: "tasks",
			Summary: "A task's comments, oldest first", Response: []comment{},
		},
		{
			Method: "POST", Path: "/api/v1/tasks/{id}/comments", Perm: write, h: s.apiTaskComment, Tag: "tasks",
			Summary: "Comment on a task", Body: commentBody{}, Response: comment{}, Status: http.StatusCreated,
		},
		{
			Method: "GET", Path: "/api/v1/exceptions", Perm: read, h: s.apiExceptions, Tag: "exceptions",
			Summary: "Exceptions: the active ones, or all with all=true", Query: []Param{q("all", "boolean", "revoked and expired ones too")},
			Response: []rampart.Exception{},
		},
		{
			Method: "POST", Path: "/api/v1/exceptions", Perm: write, h: s.apiExceptionCreate, Tag: "exceptions",
			Summary: "Accept a risk: one finding, or one check on one resource", Body: exceptionBody{}, Response: rampart.Exception{}, Status: http.StatusCreated,
		},
		{
			Method: "POST", Path: "/api/v1/exceptions/{id}/revoke", Perm: write, h: s.apiExceptionRevoke, Tag: "exceptions",
			Summary: "Revoke an exception", Response: rampart.Exception{},
		},
		{
			Method: "GET", Path: "/api/v1/scans", Perm: read, h: s.apiScans, Tag: "scans",
			Summary: "Scan runs, newest first", Query: []Param{q("limit", "integer", "at most this many (default 50)")}, Response: []rampart.ScanRun{},
		},
		{
			Method: "POST", Path: "/api/v1/scans", Perm: write, h: s.apiScanStart, Tag: "scans",
			Summary: "Start a scan (one at a time); 409 while one runs", Body: scanBody{}, Response: scanProgress{}, Status: http.StatusAccepted,
		},
		{
			Method: "GET", Path: "/api/v1/scans/current", Perm: read, h: s.apiScanCurrent, Tag: "scans",
			Summary: "Progress of the scan started here, running or last finished", Response: scanProgress{},
		},
		{
			Method: "GET", Path: "/api/v1/scans/{id}", Perm: read, h: s.apiScan, Tag: "scans",
			Summary: "One scan run", Response: rampart.ScanRun{},
		},
		{
			Method: "GET", Path: "/api/v1/audit", Perm: audit, h: s.apiAudit, Tag: "audit",
			Summary: "The audit log in sequence order",
			Query: []Param{
				q("actor", "string", "only this actor"), q("action", "string", "only this action"), q("object", "string", "only this object"),
				q("after", "integer", "entries after this sequence number"), q("limit", "integer", "at most this many (default 500, at most 5000)"),
			},
			Response: []rampart.AuditEntry{},
		},
		{
			Method: "GET", Path: "/api/v1/audit/verify", Perm: audit, h: s.apiAuditVerify, Tag: "audit",
			Summary: "Walk the hash chain and report whether it is intact", Response: rampart.AuditVerification{},
		},
		{
			Method: "GET", Path: "/api/v1/users", Perm: admin, h: s.apiUsers, Tag: "admin",
			Summary: "Users", Response: []rampart.User{},
		},
		{
			Method: "PATCH", Path: "/api/v1/users/{name}", Perm: admin, h: s.apiUserUpdate, Tag: "admin",
			Summary: "Change a user's role, expiry or disabled flag", Body: userPatch{}, Response: rampart.User{},
		},
		{
			Method: "GET", Path: "/api/v1/tokens", Perm: admin, h: s.apiTokens, Tag: "admin",
			Summary: "API tokens (never their secrets)", Response: []rampart.APIToken{},
		},
		{
			Method: "POST", Path: "/api/v1/tokens", Perm: admin, h: s.apiTokenCreate, Tag: "admin",
			Summary: "Make an API token; its secret is in this response only", Body: tokenBody{}, Response: tokenCreated{}, Status: http.StatusCreated,
		},
		{
			Method: "POST", Path: "/api/v1/tokens/{id}/revoke", Perm: admin, h: s.apiTokenRevoke, Tag: "admin",
			Summary: "Revoke an API token", Response: rampart.APIToken{},
		},
	}
	if s.opts.Metrics != nil {
		m := Route{Method: "GET", Path: "/metrics", Perm: read, Handler: s.opts.Metrics}
		if s.opts.MetricsPublic {
			m.Perm, m.Public = "", true
		}
		rs = append(rs, m)
	}
	return rs
}

// register checks every route and builds the mux.
func (s *Server) register(routes []Route) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range routes {
		switch {
		case rt.Perm == "" && !rt.Public:
			return nil, fmt.Errorf("web: route %s names no permission and is not marked public", rt.Pattern())
		case rt.Perm != "" && rt.Public:
			return nil, fmt.Errorf("web: route %s is public and names a permission", rt.Pattern())
		case rt.h == nil && rt.Handler == nil:
			return nil, fmt.Errorf("web: route %s has no handler", rt.Pattern())
		case rt.MaxBody < 0:
			return nil, fmt.Errorf("web: route %s has a negative body limit", rt.Pattern())
		case rt.Method == "" || !strings.HasPrefix(rt.Path, "/"):
			return nil, fmt.Errorf("web: route %q needs a method and a path", rt.Pattern())
		case seen[rt.Pattern()]:
			return nil, fmt.Errorf("web: route %s is declared twice", rt.Pattern())
		}
		if rt.Perm != "" {
			switch rt.Perm {
			case rampart.PermRead, rampart.PermAudit, rampart.PermWrite, rampart.PermAdmin:
			default:
				return nil, fmt.Errorf("web: route %s names unknown permission %q", rt.Pattern(), rt.Perm)
			}
		}
		seen[rt.Pattern()] = true
		mux.Handle(rt.Pattern(), s.guard(rt))
	}
	return mux, nil
}
