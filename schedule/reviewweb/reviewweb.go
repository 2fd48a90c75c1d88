// Package reviewweb serves periodic reviews in `rampart serve`: the
// reviews page, a review's page with its procedure, attestation and
// evidence and the form that completes it with files and links, and the
// same under /api/v1/reviews. Routes returns them as entries of web's route
// table (web.Options.Routes), each with the permission it needs, so that
// web's authentication, roles, CSRF check and OpenAPI document cover them.
package reviewweb

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/web"
)

// MaxUpload bounds one completion's files, as the domain bounds one
// piece of evidence.
const MaxUpload = 32 << 20

// maxBody is a completion's whole body: the files and the form's fields.
// The complete routes raise web's 1 MiB limit to it (Route.MaxBody).
const maxBody = MaxUpload + 1<<20

// Options is what the routes need.
type Options struct {
	Store rampart.ReviewStore
	// Location shows dates in the register's time zone.
	Location *time.Location
	Now      func() time.Time
	// Actor names who makes a request, as the audit log writes it
	// ("user:alice", "token:ci"): the attestation's author. The web server
	// knows it; "" refuses completions.
	Actor func(r *http.Request) string
	// CSRF returns the session's anti-forgery token, which the form
	// posts back in the csrf_token field for web's check; "" for requests
	// without a session.
	CSRF func(r *http.Request) string
	// MayComplete reports whether the caller may complete reviews, so
	// that the form is shown only to them (the route's permission is
	// still what refuses the others); nil shows it to everyone.
	MayComplete func(r *http.Request) bool
}

//go:embed templates/*.html
var templates embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"date":   func(t time.Time) string { return t.Format(time.DateOnly) },
	"states": func() []string { return []string{"open", "overdue", "completed", "all"} },
}).ParseFS(templates, "templates/*.html"))

type handler struct{ o Options }

// Routes returns the reviews' routes for web.Options.Routes.
func Routes(o Options) []web.Route {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Actor == nil {
		o.Actor = func(*http.Request) string { return "" }
	}
	if o.CSRF == nil {
		o.CSRF = func(*http.Request) string { return "" }
	}
	if o.MayComplete == nil {
		o.MayComplete = func(*http.Request) bool { return true }
	}
	h := &handler{o}
	status := web.Param{Name: "status", Type: "string", Doc: "open (default), due, overdue, completed or all"}
	return []web.Route{
		{Method: "GET", Path: "/reviews", Perm: rampart.PermRead, Page: true, Handler: http.HandlerFunc(h.listPage)},
		{Method: "GET", Path: "/reviews/{id}", Perm: rampart.PermRead, Page: true, Handler: http.HandlerFunc(h.reviewPage)},
		{Method: "POST", Path: "/reviews/{id}/complete", Perm: rampart.PermWrite, Page: true, MaxBody: maxBody, Handler: http.HandlerFunc(h.completeForm)},
		{
			Method: "GET", Path: "/api/v1/reviews", Perm: rampart.PermRead, Handler: http.HandlerFunc(h.apiList), Tag: "reviews",
			Summary: "Periodic reviews, the earliest due first", Query: []web.Param{
				status,
				{Name: "owner", Type: "string", Doc: "only reviews assigned to this role"},
				{Name: "control", Type: "string", Doc: "only reviews of this control"},
			},
			Response: []View{},
		},
		{
			Method: "GET", Path: "/api/v1/reviews/{id}", Perm: rampart.PermRead, Handler: http.HandlerFunc(h.apiReview), Tag: "reviews",
			Summary: "One review with its procedure, attestation and evidence", Response: View{},
		},
		{
			Method: "POST", Path: "/api/v1/reviews/{id}/complete", Perm: rampart.PermWrite, MaxBody: maxBody, Handler: http.HandlerFunc(h.apiComplete), Tag: "reviews",
			Summary:  "Complete a review: multipart/form-data with statement, evidence files, links (one per line), period_start and period_end",
			Response: View{},
		},
	}
}

// View is a review as the API shows it, with its state at the time asked.
type View struct {
	rampart.Review
	State string `json:"state"`
}

func (h *handler) view(r rampart.Review) View { return View{Review: r, State: r.State(h.o.Now())} }

func (h *handler) list(r *http.Request) ([]rampart.Review, string, error) {
	q := r.URL.Query()
	f := rampart.ReviewFilter{Owner: q.Get("owner"), ControlID: q.Get("control")}
	status := q.Get("status")
	switch status {
	case "", "open", "due":
		f.Status = []rampart.ReviewStatus{rampart.ReviewOpen}
	case "overdue":
		f.OverdueAt = h.o.Now()
	case "completed":
		f.Status = []rampart.ReviewStatus{rampart.ReviewCompleted}
	case "all":
	default:
		return nil, status, rampart.Errorf(rampart.KindInvalid, "status %q: want open, due, overdue, completed or all", status)
	}
	rs, err := h.o.Store.Reviews(r.Context(), f)
	if status == "due" {
		kept := rs[:0]
		for _, rv := range rs {
			if !rv.Overdue(h.o.Now()) {
				kept = append(kept, rv)
			}
		}
		rs = kept
	}
	if status == "" {
		status = "open"
	}
	return rs, status, err
}

func (h *handler) review(r *http.Request) (rampart.Review, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return rampart.Review{}, rampart.Errorf(rampart.KindNotFound, "review %q not found", r.PathValue("id"))
	}
	return h.o.Store.Review(r.Context(), id)
}

// --- API -------------------------------------------------------------------

func (h *handler) apiList(w http.ResponseWriter, r *http.Request) {
	rs, _, err := h.list(r)
	if err != nil {
		apiError(w, err)
		return
	}
	out := make([]View, 0, len(rs))
	for _, rv := range rs {
		out = append(out, h.view(rv))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) apiReview(w http.ResponseWriter, r *http.Request) {
	rv, err := h.review(r)
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.view(rv))
}

func (h *handler) apiComplete(w http.ResponseWriter, r *http.Request) {
	rv, err := h.complete(r)
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.view(rv))
}

// complete reads a completion from a multipart form (or a urlencoded one
// without files) and stores it.
func (h *handler) complete(r *http.Request) (rampart.Review, error) {
	actor := h.o.Actor(r)
	if actor == "" {
		return rampart.Review{}, rampart.Errorf(rampart.KindUnauthorized, "completing a review needs to know who attests: sign in")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return rampart.Review{}, rampart.Errorf(rampart.KindNotFound, "review %q not found", r.PathValue("id"))
	}
	// Web's guard bounds the body already (Route.MaxBody); this keeps the
	// handlers bounded when served without it.
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	if err := parseForm(r); err != nil {
		return rampart.Review{}, err
	}
	c := rampart.ReviewCompletion{By: actor, Statement: strings.TrimSpace(r.FormValue("statement")), At: h.o.Now(), Source: remote(r)}
	if c.PeriodStart, err = h.day(r.FormValue("period_start"), "period_start"); err != nil {
		return rampart.Review{}, err
	}
	if c.PeriodEnd, err = h.day(r.FormValue("period_end"), "period_end"); err != nil {
		return rampart.Review{}, err
	}
	if !c.PeriodEnd.IsZero() {
		c.PeriodEnd = c.PeriodEnd.AddDate(0, 0, 1) // through that day
	}
	for _, l := range strings.Split(r.FormValue("links"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			c.Evidence = append(c.Evidence, rampart.EvidenceInput{Kind: rampart.EvidenceLink, URL: l})
		}
	}
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["evidence"] {
			f, err := fh.Open()
			if err != nil {
				return rampart.Review{}, fmt.Errorf("read upload %s: %w", fh.Filename, err)
			}
			content, err := io.ReadAll(io.LimitReader(f, MaxUpload+1))
			_ = f.Close()
			if err != nil {
				return rampart.Review{}, fmt.Errorf("read upload %s: %w", fh.Filename, err)
			}
			if len(content) == 0 && fh.Filename == "" {
				continue // the form's empty file input
			}
			media := fh.Header.Get("Content-Type")
			if media == "" || media == "application/octet-stream" {
				media = mime.TypeByExtension(filepath.Ext(fh.Filename))
			}
			c.Evidence = append(c.Evidence, rampart.EvidenceInput{
				Kind: rampart.EvidenceUpload, Name: filepath.Base(fh.Filename), MediaType: media, Content: content,
			})
		}
	}
	return h.o.Store.CompleteReview(r.Context(), id, c)
}

func parseForm(r *http.Request) error {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		err = r.ParseMultipartForm(MaxUpload) //nolint:gosec // the body is bounded by complete's MaxBytesReader
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return rampart.Errorf(kindTooLarge, "the upload is larger than the server accepts (%d MiB at most)", MaxUpload>>20)
	}
	if err != nil {
		return rampart.Errorf(rampart.KindInvalid, "the form could not be read: %v", err)
	}
	return nil
}

func (h *handler) day(s, field string) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, h.o.Location)
	if err != nil {
		return time.Time{}, rampart.Errorf(rampart.KindInvalid, "%s %q: want YYYY-MM-DD", field, s)
	}
	return t, nil
}

func remote(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// kindTooLarge is web's kind for a body past its limit (413).
const kindTooLarge rampart.ErrorKind = "payload_too_large"

// status maps an error's kind to its HTTP status, as web's own table does.
func status(err error) (int, string) {
	var de *rampart.Error
	msg := "internal error"
	if errors.As(err, &de) {
		msg = de.Message
	}
	switch rampart.KindOf(err) {
	case rampart.KindInvalid:
		return http.StatusBadRequest, msg
	case rampart.KindNotFound:
		return http.StatusNotFound, msg
	case rampart.KindConflict:
		return http.StatusConflict, msg
	case rampart.KindUnauthorized:
		return http.StatusUnauthorized, msg
	case rampart.KindForbidden:
		return http.StatusForbidden, msg
	case kindTooLarge:
		return http.StatusRequestEntityTooLarge, msg
	}
	return http.StatusInternalServerError, msg
}

func apiError(w http.ResponseWriter, err error) {
	code, msg := status(err)
	kind := rampart.KindOf(err)
	writeJSON(w, code, map[string]any{"error": map[string]string{"code": string(kind), "message": msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to do
}

// --- pages -----------------------------------------------------------------

type pageData struct {
	Title       string
	CSRF        string
	Status      string
	Reviews     []row
	Review      *row
	Error       string
	Done        bool
	MayComplete bool
}

type row struct {
	rampart.Review
	State string
	Loc   *time.Location
}

func (r row) In(t time.Time) time.Time { return t.In(r.Loc) }

// Last is the last day of a period ending (exclusive) at t.
func (r row) Last(t time.Time) time.Time { return t.In(r.Loc).Add(-time.Nanosecond) }

func (h *handler) row(rv rampart.Review) row {
	return row{Review: rv, State: rv.State(h.o.Now()), Loc: h.o.Location}
}

// render writes a page: its content in the dashboard's layout when web's
// server guards the route, in this package's plain layout otherwise.
func (h *handler) render(w http.ResponseWriter, r *http.Request, code int, name string, d pageData) {
	var content bytes.Buffer
	if err := pages.ExecuteTemplate(&content, name, d); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	html := template.HTML(content.String()) // #nosec G203 -- produced by html/template
	err := web.Page(w, r, code, d.Title, "reviews", html)
	if !errors.Is(err, web.ErrNoLayout) {
		return // written, or the client went away: nothing to do
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = pages.ExecuteTemplate(w, "head", d)
	_, _ = w.Write(content.Bytes())
	_ = pages.ExecuteTemplate(w, "foot", d)
}

func (h *handler) listPage(w http.ResponseWriter, r *http.Request) {
	rs, st, err := h.list(r)
	if err != nil {
		code, msg := status(err)
		h.render(w, r, code, "list.html", pageData{Title: "Reviews", Error: msg})
		return
	}
	d := pageData{Title: "Reviews", Status: st, CSRF: h.o.CSRF(r)}
	for _, rv := range rs {
		d.Reviews = append(d.Reviews, h.row(rv))
	}
	h.render(w, r, http.StatusOK, "list.html", d)
}

func (h *handler) reviewPage(w http.ResponseWriter, r *http.Request) {
	rv, err := h.review(r)
	if err != nil {
		code, msg := status(err)
		h.render(w, r, code, "review.html", pageData{Title: "Review", Error: msg})
		return
	}
	row := h.row(rv)
	h.render(w, r, http.StatusOK, "review.html", pageData{
		Title: fmt.Sprintf("Review %d: %s", rv.ID, rv.ControlID), Review: &row, CSRF: h.o.CSRF(r), Done: r.URL.Query().Get("done") == "1",
		MayComplete: h.o.MayComplete(r),
	})
}

func (h *handler) completeForm(w http.ResponseWriter, r *http.Request) {
	rv, err := h.complete(r)
	if err != nil {
		code, msg := status(err)
		d := pageData{Title: "Review", Error: msg, CSRF: h.o.CSRF(r), MayComplete: h.o.MayComplete(r)}
		if cur, gerr := h.review(r); gerr == nil {
			row := h.row(cur)
			d.Review, d.Title = &row, fmt.Sprintf("Review %d: %s", cur.ID, cur.ControlID)
		}
		h.render(w, r, code, "review.html", d)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/reviews/%d?done=1", rv.ID), http.StatusSeeOther)
}
