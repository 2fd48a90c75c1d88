package web

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
)

// Page handlers. Forms post to their own routes and, done, redirect
// (303) to the page they came from; an htmx request gets that page back
// directly and swaps in the part it asked for.

type overviewData struct {
	Framework   string
	Frameworks  []*rampart.Framework
	Readiness   readinessResponse
	Trend       template.HTML
	TrendPoints int
	LastScan    *rampart.ScanRun
	Changes     []changeLine
	Certs       []certView
	Expiring    []rampart.Exception
	Failing     []controlView
	MoreFailing int
	// Overdue lists open reviews past their due-by date, up to
	// maxOverdueShown; KeepsReviews says whether the store keeps reviews
	// at all, ReviewPages whether this server shows them.
	Overdue      []overdueReview
	MoreOverdue  int
	KeepsReviews bool
	ReviewPages  bool
	Resources    struct{ Total, Failing, Errored, Unscanned int }
	Controls     struct{ Total, Passing, Failing, Errored, NotEvaluated int }
	Percent      float64
	Evaluated    bool
}

type changeLine struct {
	At     time.Time
	Actor  string
	Action string
	Object string
	Link   string
}

// overdueReview is an overdue review as the overview lists it, with the
// day it was due by in the register's time zone.
type overdueReview struct {
	rampart.Review
	DueByDay string
}

// maxOverdueShown bounds the overview's list of overdue reviews; the
// reviews page lists them all.
const maxOverdueShown = 15

// expiringWithin is how far ahead the overview looks for exceptions that
// will lapse.
const expiringWithin = 30 * 24 * time.Hour

func objectLink(object string) string {
	kind, id, _ := strings.Cut(object, ":")
	switch kind {
	case "task":
		return "/tasks/" + id
	case "exception":
		return "/exceptions"
	case "scan":
		return "/scans"
	}
	return ""
}

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, err := s.framework(r)
	if err != nil {
		return err
	}
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	active, at, err := s.activeExceptions(r)
	if err != nil {
		return err
	}
	// The content depends on the snapshot, the framework, the exceptions
	// and whether the reader may start scans: rendered once for each.
	key := fmt.Sprintf("%s|%v|%d", f, p.can(rampart.PermWrite), at.UnixNano())
	html, ok := snap.renderedContent(key)
	if !ok {
		d := *snap.overview(s, f) // a copy: the snapshot's is shared
		now := s.now()
		d.Expiring = nil
		for _, e := range active {
			if e.ExpiresAt.Sub(now) <= expiringWithin {
				d.Expiring = append(d.Expiring, e)
			}
		}
		sort.Slice(d.Expiring, func(i, j int) bool { return d.Expiring[i].ExpiresAt.Before(d.Expiring[j].ExpiresAt) })
		if html, err = s.renderContent("overview", p, &d); err != nil {
			return err
		}
		snap.keepContent(key, html)
	}
	return s.renderPage(w, r, http.StatusOK, "prerendered", "overview", p, "Overview", html)
}

func (snap *snapshot) renderedContent(key string) (template.HTML, bool) {
	snap.mu.Lock()
	defer snap.mu.Unlock()
	h, ok := snap.rendered[key]
	return h, ok
}

// keepContent caches rendered content, a bounded number of versions.
func (snap *snapshot) keepContent(key string, h template.HTML) {
	snap.mu.Lock()
	defer snap.mu.Unlock()
	if snap.rendered == nil || len(snap.rendered) >= 64 {
		snap.rendered = map[string]template.HTML{}
	}
	snap.rendered[key] = h
}

// overview computes the overview of one framework once per snapshot.
func (snap *snapshot) overview(s *Server, f string) *overviewData {
	snap.mu.Lock()
	defer snap.mu.Unlock()
	if d, ok := snap.overviews[f]; ok {
		return d
	}
	d := &overviewData{Framework: f, Frameworks: s.opts.Catalog.Frameworks, Readiness: snap.readiness[f], LastScan: snap.lastScan, Certs: snap.certs}
	d.Trend, d.TrendPoints = trendChart(snap.scans)
	for _, e := range snap.changes {
		d.Changes = append(d.Changes, changeLine{At: e.At, Actor: e.Actor, Action: e.Action, Object: e.Object, Link: objectLink(e.Object)})
	}
	for _, c := range s.opts.Catalog.Controls {
		st := snap.statuses[c.ID].Status
		d.Controls.Total++
		switch st {
		case rampart.StatusPass:
			d.Controls.Passing++
		case rampart.StatusFail:
			d.Controls.Failing++
			d.Failing = append(d.Failing, s.controlView(snap, c))
		case rampart.StatusError:
			d.Controls.Errored++
		default:
			d.Controls.NotEvaluated++
		}
	}
	sort.SliceStable(d.Failing, func(i, j int) bool { return d.Failing[i].Fail > d.Failing[j].Fail })
	if len(d.Failing) > maxFailingShown {
		d.MoreFailing = len(d.Failing) - maxFailingShown
		d.Failing = d.Failing[:maxFailingShown]
	}
	if ev := d.Controls.Passing + d.Controls.Failing + d.Controls.Errored; ev > 0 {
		d.Evaluated, d.Percent = true, 100*float64(d.Controls.Passing)/float64(ev)
	}
	d.KeepsReviews, d.ReviewPages = s.reviews != nil, s.reviewPages
	for _, r := range snap.overdue {
		if len(d.Overdue) == maxOverdueShown {
			d.MoreOverdue = len(snap.overdue) - maxOverdueShown
			break
		}
		d.Overdue = append(d.Overdue, overdueReview{Review: r, DueByDay: r.DueBy.In(s.opts.Location).Format(time.DateOnly)})
	}
	for _, rv := range snap.resources {
		d.Resources.Total++
		switch rv.Status {
		case rampart.StatusFail:
			d.Resources.Failing++
		case rampart.StatusError:
			d.Resources.Errored++
		case "":
			d.Resources.Unscanned++
		}
	}
	if snap.overviews == nil {
		snap.overviews = map[string]*overviewData{}
	}
	snap.overviews[f] = d
	return d
}

// maxFailingShown bounds the overview's list of failing controls; the
// controls page lists them all.
const maxFailingShown = 15

type controlsData struct {
	Area, Criterion, Status string
	Areas                   []rampart.Area
	Controls                []controlView
}

func (s *Server) controlsPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	qv := r.URL.Query()
	d := controlsData{Area: qv.Get("area"), Criterion: qv.Get("criterion"), Status: qv.Get("status"), Areas: s.opts.Catalog.Areas}
	for _, c := range s.opts.Catalog.Controls {
		if d.Area != "" && !catalog.InArea(c.Area, d.Area) {
			continue
		}
		if d.Criterion != "" && !slices.Contains(c.Criteria, d.Criterion) {
			continue
		}
		v := s.controlView(snap, c)
		if d.Status != "" && string(v.Status) != d.Status {
			continue
		}
		d.Controls = append(d.Controls, v)
	}
	return s.render(w, r, http.StatusOK, "controls", p, "Controls", d)
}

type controlPageData struct {
	controlDetail
	Resources map[string]resourceView
}

func (s *Server) controlPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	c := s.opts.Catalog.Control(r.PathValue("id"))
	if c == nil {
		return errorf(rampart.KindNotFound, "control %s is not in the catalog", r.PathValue("id"))
	}
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	d := controlPageData{controlDetail: s.controlDetail(snap, c), Resources: map[string]resourceView{}}
	for _, ch := range d.CheckInfo {
		for _, res := range ch.Results {
			if i, ok := snap.resIndex[res.ResourceID]; ok {
				d.Resources[res.ResourceID] = snap.resources[i]
			}
		}
	}
	return s.render(w, r, http.StatusOK, "control", p, c.ID+" "+c.Title, d)
}

type resourcesData struct {
	Kind, Status, Query string
	Kinds               []rampart.Kind
	Resources           []resourceView
}

func (s *Server) resourcesPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	qv := r.URL.Query()
	d := resourcesData{Kind: qv.Get("kind"), Status: qv.Get("status"), Query: strings.TrimSpace(qv.Get("q"))}
	seen := map[rampart.Kind]bool{}
	for _, rv := range snap.resources {
		if !seen[rv.Kind] {
			seen[rv.Kind] = true
			d.Kinds = append(d.Kinds, rv.Kind)
		}
		if d.Kind != "" && string(rv.Kind) != d.Kind {
			continue
		}
		if d.Status != "" && string(rv.Status) != d.Status {
			continue
		}
		if d.Query != "" && !strings.Contains(strings.ToLower(rv.ID+" "+rv.Name+" "+rv.Owner), strings.ToLower(d.Query)) {
			continue
		}
		d.Resources = append(d.Resources, rv)
	}
	slices.Sort(d.Kinds)
	return s.render(w, r, http.StatusOK, "resources", p, "Resources", d)
}

type historyRow struct {
	CheckID, Title string
	Cells          []rampart.Result
}

type resourcePageData struct {
	resourceDetail
	History []historyRow
	Tasks   []taskView
}

// historyScans is how many scans the resource page's history strip shows.
const historyScans = 30

func (s *Server) resourcePage(w http.ResponseWriter, r *http.Request, p *principal) error {
	snap, err := s.view.get(r.Context())
	if err != nil {
		return err
	}
	det, err := s.resourceDetail(snap, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := resourcePageData{resourceDetail: det}
	hist, err := s.history(r, det.ID, "", time.Time{}, historyScans*max(1, len(det.Results)))
	if err != nil {
		return err
	}
	rows := map[string]*historyRow{}
	for _, res := range hist {
		row := rows[res.CheckID]
		if row == nil {
			row = &historyRow{CheckID: res.CheckID, Title: res.CheckID}
			if ch := s.opts.Catalog.Check(res.CheckID); ch != nil {
				row.Title = ch.Title
			}
			rows[res.CheckID] = row
		}
		if len(row.Cells) < historyScans {
			row.Cells = append(row.Cells, res)
		}
	}
	for _, row := range rows {
		slices.Reverse(row.Cells) // oldest on the left
		d.History = append(d.History, *row)
	}
	sort.Slice(d.History, func(i, j int) bool { return d.History[i].CheckID < d.History[j].CheckID })
	tasks, err := s.tasksCached(r, rampart.TaskFilter{ResourceID: det.ID, Status: []rampart.TaskStatus{rampart.TaskOpen, rampart.TaskInProgress}, IncludeExcepted: true})
	if err != nil {
		return err
	}
	for _, t := range tasks {
		d.Tasks = append(d.Tasks, s.taskView(t, s.now()))
	}
	return s.render(w, r, http.StatusOK, "resource", p, det.Name, d)
}

type evidenceData struct {
	rampart.Evidence
	Content []byte
	JSON    bool
	Results []resultView
}

// maxShown bounds how much evidence the page shows inline; the rest is a
// download.
const maxShown = 512 << 10

func (s *Server) evidencePage(w http.ResponseWriter, r *http.Request, p *principal) error {
	e, rc, err := s.opts.Store.Evidence(r.Context(), r.PathValue("sha256"))
	if err != nil {
		return err
	}
	defer rc.Close()
	d := evidenceData{Evidence: e, JSON: strings.Contains(e.MediaType, "json")}
	if e.Size <= maxShown {
		buf := make([]byte, e.Size)
		if _, err := ioReadFull(rc, buf); err != nil {
			return err
		}
		d.Content = buf
	}
	if e.ResourceID != "" {
		if snap, err := s.view.get(r.Context()); err == nil {
			var cites []rampart.Result
			for _, i := range snap.byResource[e.ResourceID] {
				if snap.latest[i].Evidence == e.SHA256 {
					cites = append(cites, snap.latest[i])
				}
			}
			d.Results = s.resultViews(cites)
		}
	}
	return s.render(w, r, http.StatusOK, "evidence", p, "Evidence "+e.SHA256[:12], d)
}

// Tasks: the list, the board, one task.

type tasksData struct {
	Filter   rampart.TaskFilter
	Statuses string
	Tasks    []taskView
	Total    int
	Excepted bool
	Owner    string
	Area     string
	Resource string
	// First and Last number the tasks shown; Prev and Next link the pages.
	First, Last int
	Prev, Next  string
}

// pageTasks is how many tasks a page of the list shows.
const pageTasks = 100

func (s *Server) tasksPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, _, err := s.taskFilter(r)
	if err != nil {
		return err
	}
	e, err := s.taskEntry(r, f)
	if err != nil {
		return err
	}
	// The list is rendered once per cached list and query.
	html, ok := e.content(r.URL.RawQuery)
	if !ok {
		tasks := e.tasks
		d := tasksData{
			Filter: f, Statuses: r.URL.Query().Get("status"), Total: len(tasks), Excepted: f.IncludeExcepted,
			Owner: f.Owner, Area: f.Area, Resource: f.ResourceID,
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(1, min(page, (len(tasks)+pageTasks-1)/pageTasks))
		from := (page - 1) * pageTasks
		tasks = tasks[min(from, len(tasks)):min(from+pageTasks, len(tasks))]
		q := r.URL.Query()
		if page > 1 {
			q.Set("page", strconv.Itoa(page-1))
			d.Prev = "/tasks?" + q.Encode()
		}
		if from+pageTasks < d.Total {
			q.Set("page", strconv.Itoa(page+1))
			d.Next = "/tasks?" + q.Encode()
		}
		d.First, d.Last = from+1, from+len(tasks)
		for _, t := range tasks {
			d.Tasks = append(d.Tasks, s.taskView(t, f.Now))
		}
		if html, err = s.renderContent("tasks", p, d); err != nil {
			return err
		}
		e.keep(r.URL.RawQuery, html)
	}
	return s.renderPage(w, r, http.StatusOK, "prerendered", "tasks", p, "Tasks", html)
}

type column struct {
	Key, Title string
	Tasks      []taskView
	More       int
}

// boardColumn bounds each column: a board of thousands of cards helps
// nobody; the list pages through the rest.
const boardColumn = 50

func (s *Server) boardPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	now := s.now()
	tasks, err := s.tasksCached(r, rampart.TaskFilter{IncludeExcepted: true, Now: now})
	if err != nil {
		return err
	}
	cols := []column{
		{Key: "open", Title: "Open"},
		{Key: "in_progress", Title: "In progress"},
		{Key: "accepted", Title: "Accepted risk"},
		{Key: "resolved", Title: "Resolved"},
	}
	idx := map[string]int{"open": 0, "in_progress": 1, "accepted": 2, "resolved": 3}
	for _, t := range tasks {
		key := string(t.Status)
		if t.Exception != nil && t.Status != rampart.TaskResolved {
			key = "accepted"
		}
		if key == "resolved" && now.Sub(t.ResolvedAt) > 30*24*time.Hour {
			continue // the board shows the last month's resolutions
		}
		c := &cols[idx[key]]
		if len(c.Tasks) >= boardColumn {
			c.More++
			continue
		}
		c.Tasks = append(c.Tasks, s.taskView(t, now))
	}
	return s.render(w, r, http.StatusOK, "board", p, "Task board", map[string]any{"Columns": cols, "Tomorrow": now.AddDate(0, 0, 1)})
}

type taskPageData struct {
	taskDetail
	History  []rampart.AuditEntry
	Resource *resourceView
	Control  string
}

func (s *Server) taskPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	t, err := s.opts.Store.Task(r.Context(), id)
	if err != nil {
		return err
	}
	log, err := s.opts.Store.AuditLog(r.Context(), rampart.AuditFilter{Object: "task:" + itoa(id)})
	if err != nil {
		return err
	}
	d := taskPageData{taskDetail: taskDetail{taskView: s.taskView(t, s.now()), Comments: []comment{}}}
	for _, e := range log {
		if e.Action == "task.comment" {
			c := comment{Seq: e.Seq, At: e.At, Author: e.Actor}
			var b commentBody
			if jsonUnmarshal(e.After, &b) == nil {
				c.Text = b.Text
			}
			d.Comments = append(d.Comments, c)
			continue
		}
		d.History = append(d.History, e)
	}
	if snap, err := s.view.get(r.Context()); err == nil {
		if i, ok := snap.resIndex[t.ResourceID]; ok {
			rv := snap.resources[i]
			d.Resource = &rv
		}
	}
	if ch := s.opts.Catalog.Check(t.CheckID); ch != nil && len(ch.Controls) > 0 {
		d.Control = ch.Controls[0]
	}
	return s.render(w, r, http.StatusOK, "task", p, "Task "+itoa(id), d)
}

// done ends a form: an htmx request gets the page it returns to, to swap
// in what it targets; a plain form is redirected there.
func (s *Server) done(w http.ResponseWriter, r *http.Request, to string) error {
	to = safeNext(to)
	s.tasks.invalidate()
	s.excs.invalidate()
	if r.Header.Get("HX-Request") == "true" {
		// Served by this server's own mux, never sent anywhere.
		get, err := http.NewRequestWithContext(r.Context(), http.MethodGet, to, nil) //nolint:gosec // G704: a local path (safeNext)
		if err != nil {
			return err
		}
		get.Header = r.Header.Clone()
		get.RemoteAddr = r.RemoteAddr
		w.Header().Set("HX-Push-Url", "false")
		s.mux.ServeHTTP(w, get)
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther) //nolint:gosec // G710: safeNext keeps it on this site
	return nil
}

func returnTo(r *http.Request, fallback string) string {
	if v := r.PostFormValue("return"); v != "" {
		return v
	}
	return fallback
}

func (s *Server) taskStatusForm(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.updateTask(r, p, id, taskPatch{Status: r.PostFormValue("status")}); err != nil {
		return err
	}
	return s.done(w, r, returnTo(r, "/tasks/"+itoa(id)))
}

func (s *Server) taskAssignForm(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	a := strings.TrimSpace(r.PostFormValue("assignee"))
	if a == "" {
		a = "-"
	}
	if _, err := s.updateTask(r, p, id, taskPatch{Assignee: a}); err != nil {
		return err
	}
	return s.done(w, r, returnTo(r, "/tasks/"+itoa(id)))
}

func (s *Server) taskCommentForm(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.addComment(r, p, id, r.PostFormValue("text")); err != nil {
		return err
	}
	return s.done(w, r, returnTo(r, "/tasks/"+itoa(id)))
}

func (s *Server) taskAcceptForm(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	t, err := s.opts.Store.Task(r.Context(), id)
	if err != nil {
		return err
	}
	b := exceptionBody{
		CheckID: t.CheckID, ResourceID: t.ResourceID, Reason: r.PostFormValue("reason"),
		Approver: r.PostFormValue("approver"), ExpiresAt: r.PostFormValue("expires_at"),
	}
	if r.PostFormValue("scope") != "check" {
		b.Fingerprint = t.Fingerprint
	}
	if _, err := s.createException(r, p, b); err != nil {
		return err
	}
	return s.done(w, r, returnTo(r, "/tasks/"+itoa(id)))
}

func (s *Server) exceptionsPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	all, err := s.opts.Store.Exceptions(r.Context(), time.Time{})
	if err != nil {
		return err
	}
	now := s.now()
	type row struct {
		rampart.Exception
		State string
	}
	var rows []row
	for i := len(all) - 1; i >= 0; i-- {
		e := all[i]
		st := "active"
		switch {
		case !e.RevokedAt.IsZero():
			st = "revoked"
		case !now.Before(e.ExpiresAt):
			st = "expired"
		}
		rows = append(rows, row{Exception: e, State: st})
	}
	return s.render(w, r, http.StatusOK, "exceptions", p, "Exceptions", rows)
}

func (s *Server) exceptionRevokeForm(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathInt(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.revokeException(r, p, id); err != nil {
		return err
	}
	return s.done(w, r, returnTo(r, "/exceptions"))
}

func (s *Server) scansPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	scans, err := s.opts.Store.Scans(r.Context(), 50)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "scans", p, "Scans", map[string]any{
		"Scans": scans, "Progress": s.scans.progress(), "Enabled": s.opts.Engine != nil,
	})
}

func (s *Server) scanProgressFragment(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.render(w, r, http.StatusOK, "scans_progress", p, "Scan progress", s.scans.progress())
}

func (s *Server) scanStartForm(w http.ResponseWriter, r *http.Request, p *principal) error {
	var b scanBody
	if id := strings.TrimSpace(r.PostFormValue("resource")); id != "" {
		b.Resources = []string{id}
	}
	if _, err := s.scans.start(r, p, b); err != nil {
		return err
	}
	return s.done(w, r, returnTo(r, "/scans"))
}

type auditData struct {
	Filter       rampart.AuditFilter
	Entries      []rampart.AuditEntry
	Verification rampart.AuditVerification
	VerifiedAt   time.Time
	Next         int64
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, err := s.auditFilter(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("limit") == "" {
		f.Limit = 100
	}
	entries, err := s.opts.Store.AuditLog(r.Context(), f)
	if err != nil {
		return err
	}
	v, at, err := s.verification(r)
	if err != nil {
		return err
	}
	d := auditData{Filter: f, Entries: entries, Verification: v, VerifiedAt: at}
	if len(entries) == f.Limit {
		d.Next = entries[len(entries)-1].Seq
	}
	return s.render(w, r, http.StatusOK, "audit", p, "Audit log", d)
}
