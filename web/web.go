// Package web is `rampart serve`: the HTTP server, the JSON API under
// /api/v1, the server-rendered dashboard (html/template and htmx, every
// asset embedded), sign-in with local passwords, sessions and OpenID
// Connect, API tokens, and the roles that guard every route.
//
// Every route is declared once, in the route table (routes.go), with the
// permission it needs: the table registers the handlers, feeds the OpenAPI
// document and is what the authorization tests enumerate. A route cannot
// be registered without a permission; the few public ones say so
// explicitly. See docs/web.md and docs/api.md.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/engine"
)

// Store is what the server keeps its data in: store.DB is one.
type Store interface {
	rampart.Store
	rampart.UserStore
}

// Options configure a Server. Store and Catalog are required.
type Options struct {
	Store   Store
	Catalog *catalog.Catalog
	// Resources is the register the dashboard shows and scans cover.
	Resources []*rampart.Resource
	// Engine runs scans started from the API and the UI, the same engine
	// the CLI builds; nil turns scanning through the web off.
	Engine *engine.Engine

	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Version is shown in the footer and in the OpenAPI document.
	Version string
	// Location is the register's time zone, in which the days of periodic
	// reviews are shown (UTC when nil).
	Location *time.Location

	// Secure marks the server as reached over HTTPS (served with TLS, or
	// behind a proxy that terminates it): cookies get Secure and
	// responses Strict-Transport-Security.
	Secure bool
	// SessionTTL is how long a sign-in lasts (12 hours when zero).
	SessionTTL time.Duration
	// OIDC turns single sign-on on when set.
	OIDC *OIDCConfig

	// Metrics, when set, is served at /metrics. It asks for a bearer
	// token of any role unless MetricsPublic is set, for a Prometheus
	// that scrapes without credentials on a trusted network.
	Metrics       http.Handler
	MetricsPublic bool
	// Background jobs run beside the server (a scheduler, a notifier):
	// started by Run, their context is cancelled at shutdown and Run
	// waits for them. A job that returns an error stops the server.
	Background []func(context.Context) error
	// Routes adds routes to the table, each with the permission it needs;
	// those under /api/v1/ with a Summary appear in the OpenAPI document.
	Routes []Route
}

// Server is the web server's handler and state.
type Server struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	routes  []Route
	mux     *http.ServeMux
	handler http.Handler
	pages   *pages
	view    *viewCache
	tasks   taskCache
	verify  verifyCache
	auth    authCache
	excs    exceptionCache
	scans   *scanner
	limiter *loginLimiter
	oidc    *oidcProvider
	openapi []byte
	// reviews is the store's periodic reviews when it keeps them (store.DB
	// does): the overview lists the overdue ones and readiness counts them.
	reviews rampart.ReviewStore
	// reviewPages is set when an added route serves the reviews' pages,
	// which the menu and the overview then link to.
	reviewPages bool
}

// New builds a server from opts.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Catalog == nil {
		return nil, errors.New("web: a store and a catalog are required")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	s := &Server{opts: opts, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.Location == nil {
		s.opts.Location = time.UTC
	}
	s.reviews, _ = opts.Store.(rampart.ReviewStore)
	var err error
	if s.pages, err = loadPages(); err != nil {
		return nil, err
	}
	s.view = &viewCache{s: s}
	s.scans = &scanner{s: s}
	s.limiter = newLoginLimiter(s.now)
	if opts.OIDC != nil {
		if s.oidc, err = newOIDCProvider(context.Background(), opts.OIDC); err != nil {
			return nil, err
		}
	}
	s.routes = append(s.table(), opts.Routes...)
	for _, rt := range opts.Routes {
		s.reviewPages = s.reviewPages || rt.Pattern() == "GET /reviews"
	}
	if s.mux, err = s.register(s.routes); err != nil {
		return nil, err
	}
	if s.openapi, err = openAPIDocument(s.routes, opts.Version); err != nil {
		return nil, err
	}
	s.handler = s.middleware(s.mux)
	return s, nil
}

// Handler is the server's whole HTTP handler, middleware included.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes lists the route table, for tests and documentation.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// ListenOptions say where and how Run listens.
type ListenOptions struct {
	// Addr is HOST:PORT ("127.0.0.1:8080" when empty).
	Addr string
	// CertFile and KeyFile, both set, serve HTTPS.
	CertFile, KeyFile string
	// Listener, when set, is used instead of Addr (tests pass one on
	// port 0).
	Listener net.Listener
	// Ready, when set, is called with the address listened on.
	Ready func(addr net.Addr)
}

// Timeouts and limits of the HTTP server, documented in docs/web.md.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownGrace     = 20 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Run serves until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to 20 seconds), cancels
// the background jobs and a running scan, and waits for them.
func (s *Server) Run(ctx context.Context, lo ListenOptions) error {
	ln := lo.Listener
	if ln == nil {
		addr := lo.Addr
		if addr == "" {
			addr = "127.0.0.1:8080"
		}
		var err error
		if ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", addr); err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	tlsOn := lo.CertFile != "" || lo.KeyFile != ""
	if tlsOn {
		cert, err := tls.LoadX509KeyPair(lo.CertFile, lo.KeyFile)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("load TLS certificate %s and key %s: %w", lo.CertFile, lo.KeyFile, err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}

	bgCtx, stopBG := context.WithCancel(ctx)
	defer stopBG()
	var wg sync.WaitGroup
	errc := make(chan error, len(s.opts.Background)+2)
	for _, job := range s.opts.Background {
		wg.Go(func() {
			if err := job(bgCtx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("background job: %w", err)
			}
		})
	}
	wg.Go(func() { s.purgeSessions(bgCtx) })

	go func() {
		var err error
		if tlsOn {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve: %w", err)
		}
	}()
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	s.log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "tls", tlsOn)
	if lo.Ready != nil {
		lo.Ready(ln.Addr())
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	stopBG()
	s.scans.cancel()
	wg.Wait()
	s.scans.wait()
	if shutErr != nil {
		shutErr = fmt.Errorf("shut down: %w", shutErr)
	}
	return errors.Join(runErr, shutErr)
}

// purgeSessions removes expired sessions every hour, so the table holds
// only live ones.
func (s *Server) purgeSessions(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.opts.Store.PurgeSessions(ctx, s.now()); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("purge expired sessions", "err", err)
			}
		} else if n > 0 {
			s.log.Info("purged expired sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
