package web

import (
	"context"
	"fmt"
	"hash/fnv"
	"html/template"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
)

// The views: what the API returns and the pages show, built from the
// latest results, which the snapshot caches per scan.

type resourceView struct {
	ID          string              `json:"id"`
	Kind        rampart.Kind        `json:"kind"`
	Name        string              `json:"name"`
	Owner       string              `json:"owner"`
	Criticality rampart.Criticality `json:"criticality"`
	Environment string              `json:"environment,omitempty"`
	Tags        []string            `json:"tags,omitempty"`
	// Status is the worst of the resource's latest results; empty when
	// it has none yet (never scanned, or a kind only reviews cover).
	Status   rampart.Status `json:"status,omitempty"`
	Pass     int            `json:"pass"`
	Fail     int            `json:"fail"`
	Errors   int            `json:"errors"`
	LastSeen time.Time      `json:"last_seen,omitzero"`
}

type resultView struct {
	rampart.Result
	CheckTitle string   `json:"check_title"`
	Controls   []string `json:"controls,omitempty"`
}

type resourceDetail struct {
	resourceView
	Results []resultView `json:"results"`
}

type controlView struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Statement   string         `json:"statement"`
	Area        string         `json:"area"`
	Criteria    []string       `json:"criteria"`
	Periodicity string         `json:"periodicity"`
	Owner       string         `json:"owner"`
	Checks      []string       `json:"checks,omitempty"`
	Manual      bool           `json:"manual"`
	Status      rampart.Status `json:"status"`
	Pass        int            `json:"pass"`
	Fail        int            `json:"fail"`
	Errors      int            `json:"errors"`
	// LastRun is the newest result of any of its checks; NextDue is when
	// its periodicity asks for the next run after that.
	LastRun time.Time `json:"last_run,omitzero"`
	NextDue time.Time `json:"next_due,omitzero"`
}

type checkView struct {
	ID       string           `json:"id"`
	Title    string           `json:"title"`
	Severity rampart.Severity `json:"severity"`
	Kind     rampart.Kind     `json:"kind"`
	Results  []rampart.Result `json:"results"`
}

type controlDetail struct {
	controlView
	Procedure    string              `json:"procedure,omitempty"`
	CriteriaInfo []rampart.Criterion `json:"criteria_info"`
	CheckInfo    []checkView         `json:"check_info"`
}

type criterionView struct {
	rampart.Criterion
	Readiness rampart.Readiness `json:"readiness"`
	Controls  []string          `json:"controls"`
}

type readinessResponse struct {
	Framework  string              `json:"framework"`
	Categories []rampart.Readiness `json:"categories"`
	Criteria   []rampart.Readiness `json:"criteria"`
	Areas      []rampart.Readiness `json:"areas"`
	LastScan   *rampart.ScanRun    `json:"last_scan,omitempty"`
}

type taskView struct {
	rampart.Task
	Priority      string    `json:"priority"`
	PriorityScore float64   `json:"priority_score"`
	DueBy         time.Time `json:"due_by"`
	Overdue       bool      `json:"overdue"`
}

type comment struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
}

type taskDetail struct {
	taskView
	Comments []comment `json:"comments"`
}

// certView is a certificate that has expired or soon will, from the
// failing results of the TLS expiry checks.
type certView struct {
	ResourceID string           `json:"resource_id"`
	CheckID    string           `json:"check_id"`
	Severity   rampart.Severity `json:"severity"`
	Message    string           `json:"message"`
}

// scanView is everything derived from the latest results, computed once
// per scan: reading every latest result is what costs.
type scanView struct {
	key        string
	lastScan   *rampart.ScanRun
	scans      []rampart.ScanRun
	latest     []rampart.Result
	byResource map[string][]int
	byCheck    map[string][]int
	// base is the controls' statuses from the results alone.
	base      map[string]rampart.ControlStatus
	lastRun   map[string]time.Time
	resources []resourceView
	resIndex  map[string]int
	certs     []certView
	changes   []rampart.AuditEntry
}

// snapshot is what every request shares until the next scan or the next
// change of the periodic reviews: the scan's view, with the reviews folded
// into the controls' statuses and readiness as `rampart status` does
// (rampart.ApplyReviews), and the pages rendered from them.
type snapshot struct {
	*scanView
	reviewKey string
	statuses  map[string]rampart.ControlStatus
	readiness map[string]readinessResponse
	// overdue lists the open reviews past their due-by time, the earliest
	// due first; reviewLast and reviewNext are, per manual control, when
	// its latest review was completed and when one is next due.
	overdue    []rampart.Review
	reviewLast map[string]time.Time
	reviewNext map[string]time.Time

	mu        sync.Mutex
	overviews map[string]*overviewData
	rendered  map[string]template.HTML
}

// viewCache holds the snapshot of the newest scan. Building one reads
// every latest result (tens of thousands on a large estate), so it is
// done once per scan, by one request while the others wait for it.
type viewCache struct {
	s       *Server
	mu      sync.Mutex
	snap    *snapshot
	checked time.Time // when the newest scan was last looked up
	// checking is set while one request looks the newest scan up.
	checking bool
}

// recheckEvery is how often the newest scan is looked up: a scan that
// finishes shows on the dashboard within this.
const recheckEvery = time.Second

// runningRefresh bounds how stale the snapshot may be while a scan is
// still saving results.
const runningRefresh = 2 * time.Second

func (c *viewCache) get(ctx context.Context) (*snapshot, error) {
	now := c.s.now()
	c.mu.Lock()
	if c.snap != nil && (c.checking || (now.Sub(c.checked) < recheckEvery && now.Sub(c.checked) >= 0)) {
		// Fresh enough, or another request is looking: serve what is here.
		snap := c.snap
		c.mu.Unlock()
		return snap, nil
	}
	c.checking = c.snap != nil
	c.mu.Unlock()
	scans, err := c.s.opts.Store.Scans(ctx, 1)
	var rs reviewState
	if err == nil {
		rs, err = c.s.loadReviews(ctx, now)
	}
	if err != nil {
		c.mu.Lock()
		c.checking = false
		c.mu.Unlock()
		return nil, err
	}
	key := "none"
	if len(scans) > 0 {
		sc := scans[0]
		key = fmt.Sprintf("%d/%s/%d", sc.ID, sc.State, sc.FinishedAt.UnixMicro())
		if sc.State == "running" {
			key += "/" + strconv.FormatInt(c.s.now().UnixNano()/int64(runningRefresh), 10)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked, c.checking = now, false
	if c.snap != nil && c.snap.key == key {
		if c.snap.reviewKey != rs.key {
			// Only the reviews changed: fold them into the same scan's view.
			c.snap = c.s.withReviews(c.snap.scanView, rs, now)
		}
		return c.snap, nil
	}
	sv, err := c.s.buildScanView(ctx, key)
	if err != nil {
		return nil, err
	}
	c.snap = c.s.withReviews(sv, rs, now)
	return c.snap, nil
}

// invalidate drops the snapshot after a change made here that it shows.
func (c *viewCache) invalidate() {
	c.mu.Lock()
	c.snap = nil
	c.mu.Unlock()
}

// recheck makes the next request look up the newest scan and the reviews
// again, after a change made through a route this server does not know
// the effect of (a review completed through an added route): cheap when
// only the reviews changed.
func (c *viewCache) recheck() {
	c.mu.Lock()
	c.checked = time.Time{}
	c.mu.Unlock()
}

// reviewState is what the snapshot shows of the periodic reviews, with a
// key that changes when any of it does, the passing of time included (a
// review turning overdue, a completion's evidence expiring).
type reviewState struct {
	latest, overdue []rampart.Review
	key             string
}

func (s *Server) loadReviews(ctx context.Context, now time.Time) (reviewState, error) {
	if s.reviews == nil {
		return reviewState{key: "none"}, nil
	}
	latest, err := s.reviews.LatestReviews(ctx)
	if err != nil {
		return reviewState{}, err
	}
	// All the overdue ones, not only the latest of each control: a
	// review left open stays overdue after the next period opens another.
	overdue, err := s.reviews.Reviews(ctx, rampart.ReviewFilter{OverdueAt: now})
	if err != nil {
		return reviewState{}, err
	}
	h := fnv.New64a()
	for _, r := range latest {
		fmt.Fprintf(h, "%d/%s/%t/%t;", r.ID, r.Status, r.Overdue(now), r.Current(now))
	}
	h.Write([]byte{'|'})
	for _, r := range overdue {
		fmt.Fprintf(h, "%d;", r.ID)
	}
	return reviewState{latest: latest, overdue: overdue, key: strconv.FormatUint(h.Sum64(), 16)}, nil
}

// withReviews folds the reviews into a scan's view: the controls'
// statuses (an overdue review fails its control, a current one passes
// it), the readiness roll-ups, and the manual controls' last and next
// dates.
func (s *Server) withReviews(sv *scanView, rs reviewState, now time.Time) *snapshot {
	cat := s.opts.Catalog
	// The latest of each control and resource, and every overdue one: an
	// older review left undone keeps failing its control even once a
	// newer one is completed, as the metrics count it (docs/schedule.md).
	folded := rampart.MergeReviews(rs.latest, rs.overdue)
	snap := &snapshot{
		scanView: sv, reviewKey: rs.key, overdue: rs.overdue,
		statuses:   rampart.ApplyReviews(sv.base, folded, now),
		readiness:  map[string]readinessResponse{},
		reviewLast: map[string]time.Time{},
		reviewNext: map[string]time.Time{},
	}
	for _, f := range cat.Frameworks {
		rr := readinessFor(cat, snap.statuses, f.ID)
		rr.LastScan = sv.lastScan
		snap.readiness[f.ID] = rr
	}
	for _, r := range rs.latest {
		next := r.DueBy
		if r.Status == rampart.ReviewCompleted {
			next = r.NextDueAt
			if r.CompletedAt.After(snap.reviewLast[r.ControlID]) {
				snap.reviewLast[r.ControlID] = r.CompletedAt
			}
		}
		if cur, ok := snap.reviewNext[r.ControlID]; !ok || next.Before(cur) {
			snap.reviewNext[r.ControlID] = next
		}
	}
	return snap
}

// trendScans is how many scans the trend chart covers.
const trendScans = 400

func (s *Server) buildScanView(ctx context.Context, key string) (*scanView, error) {
	cat := s.opts.Catalog
	snap := &scanView{key: key, byResource: map[string][]int{}, byCheck: map[string][]int{}, lastRun: map[string]time.Time{}}
	var err error
	if snap.scans, err = s.opts.Store.Scans(ctx, trendScans); err != nil {
		return nil, err
	}
	if len(snap.scans) > 0 {
		sc := snap.scans[0]
		snap.lastScan = &sc
	}
	if snap.latest, err = s.opts.Store.Results(ctx, rampart.ResultFilter{}); err != nil {
		return nil, err
	}
	for i, r := range snap.latest {
		snap.byResource[r.ResourceID] = append(snap.byResource[r.ResourceID], i)
		snap.byCheck[r.CheckID] = append(snap.byCheck[r.CheckID], i)
	}
	snap.base = rampart.ControlStatuses(cat.Controls, snap.latest)
	for _, c := range cat.Controls {
		for _, ch := range c.Checks {
			for _, i := range snap.byCheck[ch] {
				if at := snap.latest[i].At; at.After(snap.lastRun[c.ID]) {
					snap.lastRun[c.ID] = at
				}
			}
		}
	}
	snap.resIndex = map[string]int{}
	for _, r := range s.opts.Resources {
		v := resourceView{
			ID: r.ID, Kind: r.Kind, Name: r.Name, Owner: r.Owner, Criticality: r.Criticality,
			Environment: r.Environment, Tags: r.Tags,
		}
		for _, i := range snap.byResource[r.ID] {
			res := snap.latest[i]
			switch res.Status {
			case rampart.StatusPass:
				v.Pass++
			case rampart.StatusFail:
				v.Fail++
			case rampart.StatusError:
				v.Errors++
			}
			if v.Status == "" {
				v.Status = rampart.StatusNotApplicable
			}
			v.Status = rampart.Worst(v.Status, res.Status)
			if res.At.After(v.LastSeen) {
				v.LastSeen = res.At
			}
		}
		snap.resIndex[r.ID] = len(snap.resources)
		snap.resources = append(snap.resources, v)
	}
	snap.certs = expiringCerts(snap.latest)
	if snap.lastScan != nil {
		if snap.changes, err = s.changesSince(ctx, snap.lastScan.ID); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// readinessFor rolls the control statuses up for one framework, the way
// `rampart status` does.
func readinessFor(cat *catalog.Catalog, statuses map[string]rampart.ControlStatus, framework string) readinessResponse {
	inFramework := func(id string) (rampart.Criterion, bool) {
		cr, ok := cat.Criterion(id)
		return cr, ok && cr.Framework == framework
	}
	rr := readinessResponse{
		Framework: framework,
		Criteria: rampart.ReadinessBy(cat.Controls, statuses, func(c *rampart.Control) []string {
			var keys []string
			for _, id := range c.Criteria {
				if _, ok := inFramework(id); ok {
					keys = append(keys, id)
				}
			}
			return keys
		}),
		Categories: rampart.ReadinessBy(cat.Controls, statuses, func(c *rampart.Control) []string {
			var keys []string
			for _, id := range c.Criteria {
				if cr, ok := inFramework(id); ok && !slices.Contains(keys, cr.Category) {
					keys = append(keys, cr.Category)
				}
			}
			return keys
		}),
		Areas: rampart.ReadinessBy(cat.Controls, statuses, func(c *rampart.Control) []string { return []string{c.Area} }),
	}
	for i := range rr.Criteria {
		if cr, ok := cat.Criterion(rr.Criteria[i].Key); ok {
			rr.Criteria[i].Title = cr.Title
		}
	}
	for i := range rr.Areas {
		if a := cat.Area(rr.Areas[i].Key); a != nil {
			rr.Areas[i].Title = a.Title
		}
	}
	return rr
}

// certChecks are the checks whose failures name certificates near or
// past their expiry, most severe first.
var certChecks = []string{"TLS-EXPIRED", "TLS-EXPIRING-7D", "TLS-EXPIRING-30D"}

func expiringCerts(latest []rampart.Result) []certView {
	best := map[string]certView{}
	for _, r := range latest {
		rank := slices.Index(certChecks, r.CheckID)
		if rank < 0 || r.Status != rampart.StatusFail {
			continue
		}
		if cur, ok := best[r.ResourceID]; ok && slices.Index(certChecks, cur.CheckID) <= rank {
			continue
		}
		msg := r.Reason
		if len(r.Findings) > 0 {
			msg = r.Findings[0].Message
		}
		best[r.ResourceID] = certView{ResourceID: r.ResourceID, CheckID: r.CheckID, Severity: r.Severity, Message: msg}
	}
	out := make([]certView, 0, len(best))
	for _, c := range best {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := slices.Index(certChecks, out[i].CheckID), slices.Index(certChecks, out[j].CheckID)
		if ri != rj {
			return ri < rj
		}
		return out[i].ResourceID < out[j].ResourceID
	})
	return out
}

// maxChanges bounds the "since the last scan" list.
const maxChanges = 200

// changesSince lists the task and exception changes recorded since the
// scan began: what the scan opened, reopened and resolved, and what people
// did meanwhile.
func (s *Server) changesSince(ctx context.Context, scanID int64) ([]rampart.AuditEntry, error) {
	start, err := s.opts.Store.AuditLog(ctx, rampart.AuditFilter{Object: "scan:" + strconv.FormatInt(scanID, 10), Action: "scan.start", Limit: 1})
	if err != nil || len(start) == 0 {
		return nil, err
	}
	var out []rampart.AuditEntry
	after := start[0].Seq
	for len(out) < maxChanges {
		page, err := s.opts.Store.AuditLog(ctx, rampart.AuditFilter{AfterSeq: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if (strings.HasPrefix(e.Action, "task.") && e.Action != "task.comment") || strings.HasPrefix(e.Action, "exception.") {
				out = append(out, e)
				if len(out) == maxChanges {
					break
				}
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Seq
	}
	return out, nil
}

func (s *Server) controlView(snap *snapshot, c *rampart.Control) controlView {
	st := snap.statuses[c.ID]
	v := controlView{
		ID: c.ID, Title: c.Title, Statement: c.Statement, Area: c.Area, Criteria: c.Criteria,
		Periodicity: c.Periodicity.String(), Owner: c.Owner, Checks: c.Checks, Manual: c.Manual(),
		Status: st.Status, Pass: st.Pass, Fail: st.Fail, Errors: st.Errors, LastRun: snap.lastRun[c.ID],
	}
	switch {
	case !v.LastRun.IsZero() && !c.Periodicity.IsZero():
		v.NextDue = c.Periodicity.Next(v.LastRun)
	case c.Manual():
		// Evidenced by reviews alone: last completed, and the next one's
		// due date (the open one's due-by, or when the current one's
		// evidence expires).
		v.LastRun, v.NextDue = snap.reviewLast[c.ID], snap.reviewNext[c.ID]
	}
	return v
}

func (s *Server) controlDetail(snap *snapshot, c *rampart.Control) controlDetail {
	d := controlDetail{controlView: s.controlView(snap, c), Procedure: c.Procedure}
	for _, id := range c.Criteria {
		if cr, ok := s.opts.Catalog.Criterion(id); ok {
			d.CriteriaInfo = append(d.CriteriaInfo, cr)
		}
	}
	for _, ch := range s.opts.Catalog.ChecksOfControl(c.ID) {
		if ch == nil {
			continue
		}
		cv := checkView{ID: ch.ID, Title: ch.Title, Severity: ch.Severity, Kind: ch.Kind, Results: []rampart.Result{}}
		for _, i := range snap.byCheck[ch.ID] {
			cv.Results = append(cv.Results, snap.latest[i])
		}
		d.CheckInfo = append(d.CheckInfo, cv)
	}
	return d
}

func (s *Server) resultViews(results []rampart.Result) []resultView {
	out := make([]resultView, 0, len(results))
	for _, r := range results {
		v := resultView{Result: r, CheckTitle: r.CheckID}
		if ch := s.opts.Catalog.Check(r.CheckID); ch != nil {
			v.CheckTitle, v.Controls = ch.Title, ch.Controls
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) resourceDetail(snap *snapshot, id string) (resourceDetail, error) {
	i, ok := snap.resIndex[id]
	if !ok {
		return resourceDetail{}, errorf(rampart.KindNotFound, "resource %s is not in the register", id)
	}
	d := resourceDetail{resourceView: snap.resources[i]}
	var latest []rampart.Result
	for _, j := range snap.byResource[id] {
		latest = append(latest, snap.latest[j])
	}
	d.Results = s.resultViews(latest)
	return d, nil
}

func (s *Server) taskView(t rampart.Task, now time.Time) taskView {
	score := t.Priority(now)
	due := t.DueBy()
	return taskView{
		Task: t, Priority: rampart.PriorityLabel(score), PriorityScore: score, DueBy: due,
		Overdue: t.Status != rampart.TaskResolved && now.After(due),
	}
}

// comments reads a task's comments, which are entries of the audit log:
// append-only and chained like every other change.
func (s *Server) comments(ctx context.Context, id int64) ([]comment, error) {
	entries, err := s.opts.Store.AuditLog(ctx, rampart.AuditFilter{Object: "task:" + strconv.FormatInt(id, 10), Action: "task.comment"})
	if err != nil {
		return nil, err
	}
	out := []comment{}
	for _, e := range entries {
		c := comment{Seq: e.Seq, At: e.At, Author: e.Actor}
		var body commentBody
		if err := jsonUnmarshal(e.After, &body); err == nil {
			c.Text = body.Text
		}
		out = append(out, c)
	}
	return out, nil
}

// latestFor selects from the latest results, in the store's order (by
// resource, then check).
func (snap *snapshot) latestFor(resourceID, checkID string, st rampart.Status, n int) []rampart.Result {
	var idx []int
	switch {
	case resourceID != "":
		idx = snap.byResource[resourceID]
	case checkID != "":
		idx = snap.byCheck[checkID]
	default:
		idx = make([]int, len(snap.latest))
		for i := range idx {
			idx[i] = i
		}
	}
	out := []rampart.Result{}
	for _, i := range idx {
		r := snap.latest[i]
		if (checkID != "" && r.CheckID != checkID) || (st != "" && r.Status != st) {
			continue
		}
		if n > 0 && len(out) == n {
			break
		}
		out = append(out, r)
	}
	return out
}
