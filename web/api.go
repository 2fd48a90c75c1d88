package web

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/store"
)

// Request bodies.

type taskPatch struct {
	// Status is open, in_progress or resolved; empty leaves it.
	Status string `json:"status,omitempty"`
	// Assignee is who works on it; "-" clears it; empty leaves it.
	Assignee string `json:"assignee,omitempty"`
}

type commentBody struct {
	Text string `json:"text"`
}

type exceptionBody struct {
	CheckID    string `json:"check_id"`
	ResourceID string `json:"resource_id"`
	// Fingerprint narrows it to one finding; empty covers the check on
	// the resource. TaskID may be given instead of the three.
	Fingerprint string `json:"fingerprint,omitempty"`
	TaskID      int64  `json:"task_id,omitempty"`
	Reason      string `json:"reason"`
	Approver    string `json:"approver"`
	// ExpiresAt is an RFC 3339 time or a YYYY-MM-DD date (midnight UTC).
	ExpiresAt string `json:"expires_at"`
}

type scanBody struct {
	Resources []string `json:"resources,omitempty"`
	Checks    []string `json:"checks,omitempty"`
}

type userPatch struct {
	Role     *string `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	// ExpiresAt is an RFC 3339 time or YYYY-MM-DD; "" clears it.
	ExpiresAt *string `json:"expires_at,omitempty"`
}

type tokenBody struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// ExpiresAt is an RFC 3339 time or YYYY-MM-DD (default 90 days).
	ExpiresAt string `json:"expires_at,omitempty"`
}

type tokenCreated struct {
	rampart.APIToken
	// Secret is shown here once and never again.
	Secret string `json:"secret"`
}

type meResponse struct {
	Name        string               `json:"name"`
	Role        rampart.Role         `json:"role"`
	Via         string               `json:"via"`
	Permissions []rampart.Permission `json:"permissions"`
}

// Helpers.

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// decode reads a JSON body strictly: unknown fields are errors, so that a
// misspelt field is not silently ignored.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return errorf(rampart.KindInvalid, "the request needs a JSON body")
		}
		return errorf(rampart.KindInvalid, "the JSON body: %v", err)
	}
	if dec.More() {
		return errorf(rampart.KindInvalid, "the JSON body holds more than one value")
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// changeCtx carries who makes a change and from where to the store, for
// the audit entries of calls that take no source.
func (s *Server) changeCtx(r *http.Request, p *principal) context.Context {
	return store.WithSource(store.WithActor(r.Context(), p.actor()), remoteIP(r))
}

func pathInt(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, errorf(rampart.KindNotFound, "%s %q is not a positive number", name, v)
	}
	return n, nil
}

// limit reads ?limit= with a default and a ceiling.
func limit(r *http.Request, def, most int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, errorf(rampart.KindInvalid, "limit %q is not a positive number", v)
	}
	return min(n, most), nil
}

// parseTime reads an RFC 3339 time or a YYYY-MM-DD date (midnight UTC).
func parseTime(field, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, errorf(rampart.KindInvalid, "%s %q is neither an RFC 3339 time nor a YYYY-MM-DD date", field, v)
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errorf(rampart.KindInvalid, "%s %q is not true or false", name, v)
	}
	return b, nil
}

func (s *Server) framework(r *http.Request) (string, error) {
	f := r.URL.Query().Get("framework")
	if f == "" {
		return "soc2", nil
	}
	if s.opts.Catalog.Framework(f) == nil {
		return "", errorf(rampart.KindInvalid, "unknown framework %q (want soc2 or iso27001)", f)
	}
	return f, nil
}

// Health.

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *principal) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := io.WriteString(w, "ok\n")
	return err
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *principal) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if _, err := s.opts.Store.Scans(r.Context(), 1); err != nil {
		// The reason is for the log: probes need only the status.
		s.log.Warn("not ready: the store does not answer", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, err = io.WriteString(w, "store unreachable\n")
		return err
	}
	_, err := io.WriteString(w, "ok\n")
	return err
}

// Meta.

func (s *Server) apiOpenAPI(w http.ResponseWriter, _ *http.Request, _ *principal) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err := w.Write(s.openapi)
	return err
}

func (s *Server) apiMe(w http.ResponseWriter, _ *http.Request, p *principal) error {
	me := meResponse{Name: p.Name, Role: p.Role, Via: p.Via, Permissions: []rampart.Permission{}}
	for _, perm := range []rampart.Permission{rampart.PermRead, rampart.PermAudit, rampart.PermWrite, rampart.PermAdmin} {
		if p.can(perm) {
			me.Permissions = append(me.Permissions, perm)
		}
	}
	writeJSON(w, me)
	return nil
}

// Readiness, resources, controls, results.

func (s *Server) apiReadiness(w http.ResponseWriter, r *http.Request, _ *principal) error {
	f, err := s.framework(r)
	if err != nil {
		return err
	}
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, snap.readiness[f])
	return nil
}

func (s *Server) criteriaViews(snap *snapshot, framework string) []criterionView {
	byKey := map[string]rampart.Readiness{}
	for _, rd := range snap.readiness[framework].Criteria {
		byKey[rd.Key] = rd
	}
	out := []criterionView{}
	if f := s.opts.Catalog.Framework(framework); f != nil {
		for _, cr := range f.Criteria {
			v := criterionView{Criterion: cr, Readiness: byKey[cr.ID], Controls: []string{}}
			v.Readiness.Key = cr.ID
			for _, c := range s.opts.Catalog.ControlsForCriterion(cr.ID) {
				v.Controls = append(v.Controls, c.ID)
			}
			out = append(out, v)
		}
	}
	return out
}

func (s *Server) apiCriteria(w http.ResponseWriter, r *http.Request, _ *principal) error {
	f, err := s.framework(r)
	if err != nil {
		return err
	}
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, s.criteriaViews(snap, f))
	return nil
}

func (s *Server) apiResources(w http.ResponseWriter, r *http.Request, _ *principal) error {
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	out := snap.resources
	return writeList(w, out, nil)
}

func (s *Server) apiResource(w http.ResponseWriter, r *http.Request, _ *principal) error {
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	d, err := s.resourceDetail(snap, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, d)
	return nil
}

// resultFilter reads the query parameters shared by the results routes.
func resultFilter(r *http.Request) (rampart.ResultFilter, rampart.Status, error) {
	qv := r.URL.Query()
	f := rampart.ResultFilter{ResourceID: qv.Get("resource"), CheckID: qv.Get("check")}
	var err error
	if v := qv.Get("scan"); v != "" {
		if f.ScanID, err = strconv.ParseInt(v, 10, 64); err != nil || f.ScanID <= 0 {
			return f, "", errorf(rampart.KindInvalid, "scan %q is not a positive number", v)
		}
	}
	if v := qv.Get("since"); v != "" {
		if f.Since, err = parseTime("since", v); err != nil {
			return f, "", err
		}
	}
	if f.Limit, err = limit(r, 500, 5000); err != nil {
		return f, "", err
	}
	st := rampart.Status(qv.Get("status"))
	switch st {
	case "", rampart.StatusPass, rampart.StatusFail, rampart.StatusError, rampart.StatusNotApplicable:
	default:
		return f, "", errorf(rampart.KindInvalid, "unknown status %q (want pass, fail, error or not_applicable)", st)
	}
	return f, st, nil
}

func filterStatus(rs []rampart.Result, st rampart.Status) []rampart.Result {
	if st == "" {
		return rs
	}
	out := rs[:0]
	for _, r := range rs {
		if r.Status == st {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) apiResults(w http.ResponseWriter, r *http.Request, _ *principal) error {
	f, st, err := resultFilter(r)
	if err != nil {
		return err
	}
	var out []rampart.Result
	if f.ScanID == 0 && f.Since.IsZero() {
		// The latest results are in the snapshot already: no query.
		snap, err := s.view.get(r.Context())
		if err != nil {
			return err
		}
		out = snap.latestFor(f.ResourceID, f.CheckID, st, f.Limit)
	} else {
		if out, err = s.opts.Store.Results(r.Context(), f); err != nil {
			return err
		}
		out = filterStatus(out, st)
	}
	return writeList(w, out, nil)
}

// history reads a resource's results over time, newest first. The store
// lists results by scan (or the latest), so the history is read one scan
// at a time from the newest, each an index lookup, over the scans the
// snapshot knows (the last 400).
func (s *Server) history(r *http.Request, resourceID, checkID string, since time.Time, n int) ([]rampart.Result, error) {
	snap, err := s.view.get(r.Context())
	if err != nil {
		return nil, err
	}
	var out []rampart.Result
	for _, sc := range snap.scans {
		if len(out) >= n || (!since.IsZero() && sc.StartedAt.Before(since) && !sc.FinishedAt.After(since)) {
			break
		}
		rs, err := s.opts.Store.Results(r.Context(), rampart.ResultFilter{ScanID: sc.ID, ResourceID: resourceID, CheckID: checkID})
		if err != nil {
			return nil, err
		}
		for _, res := range rs {
			if since.IsZero() || !res.At.Before(since) {
				out = append(out, res)
			}
		}
	}
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

func (s *Server) apiResourceResults(w http.ResponseWriter, r *http.Request, _ *principal) error {
	id := r.PathValue("id")
	if !slices.ContainsFunc(s.opts.Resources, func(res *rampart.Resource) bool { return res.ID == id }) {
		return errorf(rampart.KindNotFound, "resource %s is not in the register", id)
	}
	f, st, err := resultFilter(r)
	if err != nil {
		return err
	}
	rs, err := s.history(r, id, f.CheckID, f.Since, f.Limit)
	if err != nil {
		return err
	}
	rs = filterStatus(rs, st)
	if rs == nil {
		rs = []rampart.Result{}
	}
	writeJSON(w, rs)
	return nil
}

func (s *Server) apiControls(w http.ResponseWriter, r *http.Request, _ *principal) error {
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	area, criterion := r.URL.Query().Get("area"), r.URL.Query().Get("criterion")
	out := []controlView{}
	for _, c := range s.opts.Catalog.Controls {
		if area != "" && !catalog.InArea(c.Area, area) {
			continue
		}
		if criterion != "" && !slices.Contains(c.Criteria, criterion) {
			continue
		}
		out = append(out, s.controlView(snap, c))
	}
	writeJSON(w, out)
	return nil
}

func (s *Server) apiControl(w http.ResponseWriter, r *http.Request, _ *principal) error {
	c := s.opts.Catalog.Control(r.PathValue("id"))
	if c == nil {
		return errorf(rampart.KindNotFound, "control %s is not in the catalog", r.PathValue("id"))
	}
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, s.controlDetail(snap, c))
	return nil
}

// Evidence.

func (s *Server) apiEvidence(w http.ResponseWriter, r *http.Request, _ *principal) error {
	e, rc, err := s.opts.Store.Evidence(r.Context(), r.PathValue("sha256"))
	if err != nil {
		return err
	}
	_ = rc.Close() // only the metadata is wanted
	writeJSON(w, e)
	return nil
}

func (s *Server) apiEvidenceContent(w http.ResponseWriter, r *http.Request, _ *principal) error {
	e, rc, err := s.opts.Store.Evidence(r.Context(), r.PathValue("sha256"))
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", e.MediaType)
	h.Set("Content-Length", itoa(e.Size))
	h.Set("X-Content-SHA256", e.SHA256)
	if sum, err := hexToBase64(e.SHA256); err == nil {
		// RFC 3230's Digest, which curl and proxies know, beside the hex.
		h.Set("Digest", "sha-256="+sum)
	}
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="evidence-%s%s"`, e.SHA256[:12], extension(e.MediaType)))
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	_, err = io.Copy(w, rc)
	return err
}

func extension(mediaType string) string {
	switch {
	case strings.Contains(mediaType, "json"):
		return ".json"
	case strings.HasPrefix(mediaType, "text/"):
		return ".txt"
	}
	return ""
}

// Tasks.

func (s *Server) taskFilter(r *http.Request) (rampart.TaskFilter, int, error) {
	qv := r.URL.Query()
	f := rampart.TaskFilter{Owner: qv.Get("owner"), Area: qv.Get("area"), ResourceID: qv.Get("resource"), Now: s.now()}
	statuses := qv.Get("status")
	if statuses == "" {
		statuses = "open,in_progress"
	}
	if statuses != "all" {
		for _, st := range strings.Split(statuses, ",") {
			ts, err := rampart.ParseTaskStatus(strings.TrimSpace(st))
			if err != nil {
				return f, 0, err
			}
			f.Status = append(f.Status, ts)
		}
	}
	var err error
	if f.IncludeExcepted, err = boolParam(r, "excepted"); err != nil {
		return f, 0, err
	}
	n, err := limit(r, 500, 5000)
	return f, n, err
}

func (s *Server) apiTasks(w http.ResponseWriter, r *http.Request, _ *principal) error {
	f, n, err := s.taskFilter(r)
	if err != nil {
		return err
	}
	tasks, err := s.opts.Store.Tasks(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]taskView, 0, min(len(tasks), n))
	for _, t := range tasks[:min(len(tasks), n)] {
		out = append(out, s.taskView(t, f.Now))
	}
	writeJSON(w, out)
	return nil
}

func (s *Server) apiTask(w http.ResponseWriter, r *http.Request, _ *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	t, err := s.opts.Store.Task(r.Context(), id)
	if err != nil {
		return err
	}
	cs, err := s.comments(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, taskDetail{taskView: s.taskView(t, s.now()), Comments: cs})
	return nil
}

func (s *Server) updateTask(r *http.Request, p *principal, id int64, patch taskPatch) (rampart.Task, error) {
	var st rampart.TaskStatus
	if patch.Status != "" {
		var err error
		if st, err = rampart.ParseTaskStatus(patch.Status); err != nil {
			return rampart.Task{}, err
		}
	}
	if st == "" && patch.Assignee == "" {
		return rampart.Task{}, errorf(rampart.KindInvalid, "give a status or an assignee")
	}
	if len(patch.Assignee) > 200 {
		return rampart.Task{}, errorf(rampart.KindInvalid, "an assignee has at most 200 characters")
	}
	return s.opts.Store.UpdateTask(s.changeCtx(r, p), id, st, patch.Assignee, p.actor())
}

func (s *Server) apiTaskUpdate(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	var patch taskPatch
	if err := decode(r, &patch); err != nil {
		return err
	}
	t, err := s.updateTask(r, p, id, patch)
	if err != nil {
		return err
	}
	s.tasks.invalidate()
	writeJSON(w, s.taskView(t, s.now()))
	return nil
}

func (s *Server) apiTaskComments(w http.ResponseWriter, r *http.Request, _ *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.opts.Store.Task(r.Context(), id); err != nil {
		return err
	}
	cs, err := s.comments(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, cs)
	return nil
}

// maxComment bounds a comment: it is kept forever in the audit chain.
const maxComment = 4000

func (s *Server) addComment(r *http.Request, p *principal, id int64, text string) (comment, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return comment{}, errorf(rampart.KindInvalid, "a comment needs text")
	case len(text) > maxComment:
		return comment{}, errorf(rampart.KindInvalid, "a comment has at most %d characters", maxComment)
	}
	if _, err := s.opts.Store.Task(r.Context(), id); err != nil {
		return comment{}, err
	}
	body, err := json.Marshal(commentBody{Text: text})
	if err != nil {
		return comment{}, err
	}
	e, err := s.opts.Store.Audit(r.Context(), rampart.AuditEntry{
		Actor: p.actor(), Source: remoteIP(r), Action: "task.comment", Object: "task:" + itoa(id), After: body,
	})
	if err != nil {
		return comment{}, err
	}
	return comment{Seq: e.Seq, At: e.At, Author: e.Actor, Text: text}, nil
}

func (s *Server) apiTaskComment(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	var body commentBody
	if err := decode(r, &body); err != nil {
		return err
	}
	c, err := s.addComment(r, p, id, body.Text)
	if err != nil {
		return err
	}
	writeJSONStatus(w, http.StatusCreated, c)
	return nil
}

// Exceptions.

func (s *Server) apiExceptions(w http.ResponseWriter, r *http.Request, _ *principal) error {
	all, err := boolParam(r, "all")
	if err != nil {
		return err
	}
	at := s.now()
	if all {
		at = time.Time{}
	}
	out, err := s.opts.Store.Exceptions(r.Context(), at)
	return writeList(w, out, err)
}

func (s *Server) createException(r *http.Request, p *principal, b exceptionBody) (rampart.Exception, error) {
	if b.TaskID != 0 {
		t, err := s.opts.Store.Task(r.Context(), b.TaskID)
		if err != nil {
			return rampart.Exception{}, err
		}
		if b.CheckID == "" && b.ResourceID == "" {
			b.CheckID, b.ResourceID = t.CheckID, t.ResourceID
			if b.Fingerprint == "" {
				b.Fingerprint = t.Fingerprint
			}
		}
	}
	if b.ExpiresAt == "" {
		return rampart.Exception{}, errorf(rampart.KindInvalid, "an exception needs an expiry date")
	}
	exp, err := parseTime("expires_at", b.ExpiresAt)
	if err != nil {
		return rampart.Exception{}, err
	}
	if len(b.Reason) > maxComment || len(b.Approver) > 200 {
		return rampart.Exception{}, errorf(rampart.KindInvalid, "the reason or the approver is too long")
	}
	if s.opts.Catalog.Check(b.CheckID) == nil && b.CheckID != "" {
		return rampart.Exception{}, errorf(rampart.KindInvalid, "unknown check %q", b.CheckID)
	}
	e, err := s.opts.Store.AddException(s.changeCtx(r, p), rampart.Exception{
		CheckID: b.CheckID, ResourceID: b.ResourceID, Fingerprint: b.Fingerprint,
		Reason: strings.TrimSpace(b.Reason), Approver: strings.TrimSpace(b.Approver),
		CreatedBy: p.actor(), CreatedAt: s.now(), ExpiresAt: exp,
	})
	if err != nil {
		return rampart.Exception{}, err
	}
	return e, nil
}

func (s *Server) apiExceptionCreate(w http.ResponseWriter, r *http.Request, p *principal) error {
	var b exceptionBody
	if err := decode(r, &b); err != nil {
		return err
	}
	e, err := s.createException(r, p, b)
	if err != nil {
		return err
	}
	s.tasks.invalidate()
	s.excs.invalidate()
	writeJSONStatus(w, http.StatusCreated, e)
	return nil
}

func (s *Server) revokeException(r *http.Request, p *principal, id int64) (rampart.Exception, error) {
	if err := s.opts.Store.RevokeException(s.changeCtx(r, p), id, p.actor(), s.now()); err != nil {
		return rampart.Exception{}, err
	}
	all, err := s.opts.Store.Exceptions(r.Context(), time.Time{})
	if err != nil {
		return rampart.Exception{}, err
	}
	for _, e := range all {
		if e.ID == id {
			return e, nil
		}
	}
	return rampart.Exception{}, errorf(rampart.KindNotFound, "exception %d not found", id)
}

func (s *Server) apiExceptionRevoke(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	e, err := s.revokeException(r, p, id)
	if err != nil {
		return err
	}
	s.tasks.invalidate()
	s.excs.invalidate()
	writeJSON(w, e)
	return nil
}

// Scans.

func (s *Server) apiScans(w http.ResponseWriter, r *http.Request, _ *principal) error {
	n, err := limit(r, 50, 1000)
	if err != nil {
		return err
	}
	out, err := s.opts.Store.Scans(r.Context(), n)
	return writeList(w, out, err)
}

func (s *Server) apiScan(w http.ResponseWriter, r *http.Request, _ *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	// Scans has no lookup by id; scan ids are dense and recent ones are
	// what people ask for, so read back far enough.
	all, err := s.opts.Store.Scans(r.Context(), 0)
	if err != nil {
		return err
	}
	for _, sc := range all {
		if sc.ID == id {
			writeJSON(w, sc)
			return nil
		}
	}
	return errorf(rampart.KindNotFound, "scan %d not found", id)
}

func (s *Server) apiScanStart(w http.ResponseWriter, r *http.Request, p *principal) error {
	var b scanBody
	if r.ContentLength != 0 {
		if err := decode(r, &b); err != nil {
			return err
		}
	}
	pr, err := s.scans.start(r, p, b)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/scans/current")
	writeJSONStatus(w, http.StatusAccepted, pr)
	return nil
}

func (s *Server) apiScanCurrent(w http.ResponseWriter, _ *http.Request, _ *principal) error {
	writeJSON(w, s.scans.progress())
	return nil
}

// Audit.

func (s *Server) auditFilter(r *http.Request) (rampart.AuditFilter, error) {
	qv := r.URL.Query()
	f := rampart.AuditFilter{Actor: qv.Get("actor"), Action: qv.Get("action"), Object: qv.Get("object")}
	if v := qv.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, errorf(rampart.KindInvalid, "after %q is not a sequence number", v)
		}
		f.AfterSeq = n
	}
	var err error
	f.Limit, err = limit(r, 500, 5000)
	return f, err
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, _ *principal) error {
	f, err := s.auditFilter(r)
	if err != nil {
		return err
	}
	out, err := s.opts.Store.AuditLog(r.Context(), f)
	return writeList(w, out, err)
}

func (s *Server) apiAuditVerify(w http.ResponseWriter, r *http.Request, _ *principal) error {
	v, err := s.opts.Store.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, v)
	return nil
}

// Users and tokens.

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request, _ *principal) error {
	out, err := s.opts.Store.Users(r.Context())
	return writeList(w, out, err)
}

func (s *Server) apiUserUpdate(w http.ResponseWriter, r *http.Request, p *principal) error {
	var patch userPatch
	if err := decode(r, &patch); err != nil {
		return err
	}
	u, err := s.opts.Store.User(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	if patch.Role != nil {
		if u.Role, err = rampart.ParseRole(*patch.Role); err != nil {
			return err
		}
	}
	if patch.Disabled != nil {
		u.Disabled = *patch.Disabled
	}
	if patch.ExpiresAt != nil {
		u.ExpiresAt = time.Time{}
		if *patch.ExpiresAt != "" {
			if u.ExpiresAt, err = parseTime("expires_at", *patch.ExpiresAt); err != nil {
				return err
			}
		}
	}
	if u.Name == p.Name && p.Via == "session" && (u.Disabled || u.Role != rampart.RoleAdmin) {
		return errorf(rampart.KindConflict, "you may not disable yourself or give up your own admin role")
	}
	out, err := s.opts.Store.UpdateUser(r.Context(), u, s.auditActor(r, p))
	if err != nil {
		return err
	}
	s.auth.clear()
	writeJSON(w, out)
	return nil
}

func (s *Server) apiTokens(w http.ResponseWriter, r *http.Request, _ *principal) error {
	out, err := s.opts.Store.Tokens(r.Context())
	return writeList(w, out, err)
}

// defaultTokenLife is how long a token lasts when no expiry is given.
const defaultTokenLife = 90 * 24 * time.Hour

func (s *Server) apiTokenCreate(w http.ResponseWriter, r *http.Request, p *principal) error {
	var b tokenBody
	if err := decode(r, &b); err != nil {
		return err
	}
	role, err := rampart.ParseRole(b.Role)
	if err != nil {
		return err
	}
	exp := s.now().Add(defaultTokenLife)
	if b.ExpiresAt != "" {
		if exp, err = parseTime("expires_at", b.ExpiresAt); err != nil {
			return err
		}
	}
	secret, t := NewToken(b.Name, role, exp)
	t.CreatedAt = s.now()
	t, err = s.opts.Store.CreateToken(r.Context(), t, s.auditActor(r, p))
	if err != nil {
		return err
	}
	writeJSONStatus(w, http.StatusCreated, tokenCreated{APIToken: t, Secret: secret})
	return nil
}

func (s *Server) apiTokenRevoke(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	if err := s.opts.Store.RevokeToken(r.Context(), id, s.auditActor(r, p), s.now()); err != nil {
		return err
	}
	s.auth.clear()
	all, err := s.opts.Store.Tokens(r.Context())
	if err != nil {
		return err
	}
	for _, t := range all {
		if t.ID == id {
			writeJSON(w, t)
			return nil
		}
	}
	return errorf(rampart.KindNotFound, "token %d not found", id)
}

// hexToBase64 turns a hex SHA-256 into the base64 form of the Digest
// header.
func hexToBase64(h string) (string, error) {
	b, err := hex.DecodeString(h)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
