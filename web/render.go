package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one parsed template set per page (each the layout plus the
// page), and the static assets with their content hashes, which go into
// their URLs so that browsers may cache them for good.
type pages struct {
	sets   map[string]*template.Template
	assets map[string]asset
}

type asset struct {
	body []byte
	hash string
	mime string
}

// pageData is what every page template gets.
type pageData struct {
	Title   string
	Nav     string
	User    *principal
	Version string
	Assets  map[string]string
	Now     time.Time
	Data    any
	// Reviews shows the reviews' pages in the menu.
	Reviews bool
}

func loadPages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}, assets: map[string]asset{}}
	err := fs.WalkDir(staticFS, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		typ := mime.TypeByExtension(path.Ext(name))
		if typ == "" {
			typ = "application/octet-stream"
		}
		p.assets[strings.TrimPrefix(name, "static/")] = asset{body: b, hash: hex.EncodeToString(sum[:])[:12], mime: typ}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read static assets: %w", err)
	}
	base, err := template.New("layout.html").Funcs(p.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", n, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// assetURL is an asset's URL with its content hash.
func (p *pages) assetURL(name string) string {
	a, ok := p.assets[name]
	if !ok {
		panic("web: no static asset " + name)
	}
	return "/static/" + name + "?v=" + a.hash
}

func (p *pages) funcs() template.FuncMap {
	return template.FuncMap{
		"statusClass": func(s rampart.Status) string {
			if s == "" {
				return "st-none"
			}
			return "st-" + strings.ReplaceAll(string(s), "_", "-")
		},
		"statusText": func(s rampart.Status) string {
			switch s {
			case "":
				return "not scanned"
			case rampart.StatusNotApplicable:
				return "not evaluated"
			}
			return string(s)
		},
		"pct": func(f float64) string { return fmt.Sprintf("%.0f%%", f) },
		"evaluated": func(r rampart.Readiness) bool {
			return r.Passing+r.Failing+r.Errored > 0
		},
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format(time.DateOnly)
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"short": func(s string) string {
			if len(s) > 12 {
				return s[:12]
			}
			return s
		},
		"can": func(p *principal, perm string) bool { return p != nil && p.can(rampart.Permission(perm)) },
		"json": func(b []byte) string {
			var out bytes.Buffer
			if err := json.Indent(&out, b, "", "  "); err != nil {
				return string(b)
			}
			return out.String()
		},
		"title": func(s string) string {
			s = strings.ReplaceAll(s, "_", " ")
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		},
		"join":  strings.Join,
		"lower": strings.ToLower,
		"add":   func(a, b int) int { return a + b },
	}
}

// renderContent renders only a page's content block, for pages whose
// content is cached and wrapped in the layout per request.
func (s *Server) renderContent(name string, p *principal, data any) (template.HTML, error) {
	t, ok := s.pages.sets[name]
	if !ok {
		return "", fmt.Errorf("web: no page template %s", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "content", pageData{User: p, Now: s.now(), Data: data}); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return template.HTML(buf.String()), nil // #nosec G203 -- produced by html/template
}

// render writes a page: the whole layout, or for an htmx request that
// targets a fragment, the same page (htmx selects what it swaps).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *principal, title string, data any) error {
	nav, _, _ := strings.Cut(name, "_")
	return s.renderPage(w, r, status, name, nav, p, title, data)
}

// renderPage is render with the navigation entry named apart from the
// template (a prerendered page keeps its place in the menu).
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name, nav string, p *principal, title string, data any) error {
	t, ok := s.pages.sets[name]
	if !ok {
		return fmt.Errorf("web: no page template %s", name)
	}
	pd := pageData{
		Title: title, Nav: nav, User: p, Version: s.opts.Version, Now: s.now(), Data: data, Reviews: s.reviewPages,
		Assets: map[string]string{
			"css":  s.pages.assetURL("app.css"),
			"js":   s.pages.assetURL("app.js"),
			"htmx": s.pages.assetURL("htmx.min.js"),
		},
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pd); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages show the estate's weaknesses: never keep them in a cache.
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "HX-Request")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// ErrNoLayout is what Page returns for a request that did not come
// through a Server's guard.
var ErrNoLayout = errors.New("web: the request did not come through the server's guard: no page layout")

// Page writes an HTML page in the dashboard's layout (menu, who is signed
// in, sign-out, the session's anti-forgery header for htmx, the embedded
// assets) for a route added through Options.Routes: content is the page's
// body below its title, nav the menu entry it belongs to ("reviews").
// Like the server's own pages it is never cached. It returns ErrNoLayout,
// having written nothing, when r did not come through the server's guard
// (a handler served on its own, as in its tests).
func Page(w http.ResponseWriter, r *http.Request, status int, title, nav string, content template.HTML) error {
	c := callerOf(r)
	if c.s == nil {
		return ErrNoLayout
	}
	return c.s.renderPage(w, r, status, "prerendered", nav, c.p, title, content)
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	p, err := s.authenticate(r)
	if err != nil {
		p = &principal{}
	}
	if err := s.render(w, r, status, "error", p, http.StatusText(status), map[string]any{
		"Status": status, "Text": http.StatusText(status), "Message": msg,
	}); err != nil {
		s.log.Error("render error page", "err", err)
		http.Error(w, msg, status)
	}
}

func (s *Server) static(w http.ResponseWriter, r *http.Request, _ *principal) error {
	name := r.PathValue("file")
	a, ok := s.pages.assets[name]
	if !ok {
		return errorf(rampart.KindNotFound, "no static file %s", name)
	}
	h := w.Header()
	h.Set("Content-Type", a.mime)
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+a.hash+`"`)
	if match := r.Header.Get("If-None-Match"); match == `"`+a.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	_, err := w.Write(a.body)
	return err
}
