package cli

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart/store"
	"github.com/rampart-dev/rampart/web"
)

// serveAddons wire into `rampart serve` what other packages provide (the
// scheduler, notifications, Prometheus metrics, the reviews' pages): each
// may set opts.Metrics and append to opts.Background and opts.Routes.
var serveAddons = []func(e *env, a *app, db *store.DB, opts *web.Options) error{
	serveScheduleAndNotify,
}

func newServeCmd(e *env) *cobra.Command {
	var listen, certFile, keyFile, oidcPath, logFormat, addrFile string
	var secure, metricsPublic bool
	var sessionTTL time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web dashboard and the HTTP API",
		Long: `Serve runs Rampart's web dashboard and its JSON API (under /api/v1, described
at /api/v1/openapi.json) over the register's store, until it gets SIGTERM or
SIGINT; then it finishes the requests in flight and stops.

Everyone signs in: create the first admin with

  rampart user add --role admin --password-stdin alice

(the password is read from standard input; there is no default password),
or configure single sign-on with --oidc-config. Programs use API tokens:
rampart token create.

It listens on 127.0.0.1:8080 unless told otherwise; serve HTTPS with
--tls-cert and --tls-key, or behind a proxy that terminates TLS with
--secure. Access logs go to stderr. See docs/web.md.`,
		Example: `  rampart serve
  rampart serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem
  rampart serve --secure --oidc-config oidc.yaml   # behind a TLS proxy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (certFile == "") != (keyFile == "") {
				return usageErrorf("--tls-cert and --tls-key go together")
			}
			if _, _, err := net.SplitHostPort(listen); err != nil {
				return usageErrorf("--listen %q: want HOST:PORT, such as 127.0.0.1:8080", listen)
			}
			log, err := serveLogger(e, cmd, logFormat)
			if err != nil {
				return err
			}
			a, err := e.loadApp(e.registerPath(""))
			if err != nil {
				return err
			}
			opts := web.Options{
				Catalog:       a.cat,
				Resources:     a.cfg.Resources,
				Logger:        log,
				Version:       Version(),
				Location:      a.cfg.Schedule.TimeZone,
				Secure:        secure || certFile != "",
				SessionTTL:    sessionTTL,
				MetricsPublic: metricsPublic,
			}
			if oidcPath != "" {
				if opts.OIDC, err = web.LoadOIDCConfig(oidcPath, e.getenv, os.ReadFile); err != nil {
					return err
				}
			}
			db, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			opts.Store = db
			eng := a.engine(e, db)
			eng.Logger = log
			opts.Engine = eng
			for _, add := range serveAddons {
				if err := add(e, a, db, &opts); err != nil {
					return err
				}
			}
			srv, err := web.New(opts)
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context(), web.ListenOptions{
				Addr: listen, CertFile: certFile, KeyFile: keyFile,
				Ready: func(addr net.Addr) {
					scheme := "http"
					if certFile != "" {
						scheme = "https"
					}
					fmt.Fprintf(e.stderr, "rampart: serving %s://%s\n", scheme, addr)
					if addrFile != "" {
						// Written once listening, so that scripts can wait for it.
						if err := os.WriteFile(addrFile, []byte(addr.String()+"\n"), 0o600); err != nil {
							log.Warn("write --addr-file", "err", err)
						}
					}
				},
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", envOr(e, "RAMPART_LISTEN", "127.0.0.1:8080"), "HOST:PORT to listen on ($RAMPART_LISTEN)")
	f.StringVar(&certFile, "tls-cert", e.getenv("RAMPART_TLS_CERT"), "PEM certificate (chain) to serve HTTPS with ($RAMPART_TLS_CERT)")
	f.StringVar(&keyFile, "tls-key", e.getenv("RAMPART_TLS_KEY"), "PEM private key of --tls-cert ($RAMPART_TLS_KEY)")
	f.BoolVar(&secure, "secure", false, "the server is reached over HTTPS through a proxy: Secure cookies and HSTS")
	f.StringVar(&oidcPath, "oidc-config", e.getenv("RAMPART_OIDC_CONFIG"), "YAML file configuring single sign-on through OpenID Connect ($RAMPART_OIDC_CONFIG)")
	f.DurationVar(&sessionTTL, "session-ttl", 12*time.Hour, "how long a sign-in lasts")
	f.BoolVar(&metricsPublic, "metrics-public", false, "serve /metrics without a token (for a Prometheus on a trusted network)")
	f.StringVar(&logFormat, "log-format", "text", "access and server logs as text or json")
	f.StringVar(&addrFile, "addr-file", "", "write the address listened on to this file once listening (for scripts using port 0)")
	return cmd
}

func envOr(e *env, name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// serveLogger logs at info (so that access logs show) unless --log-level
// says otherwise, as text or JSON.
func serveLogger(e *env, cmd *cobra.Command, format string) (*slog.Logger, error) {
	level := slog.LevelInfo
	if cmd.Flags().Changed("log-level") {
		if err := level.UnmarshalText([]byte(e.logLevel)); err != nil {
			return nil, usageErrorf("--log-level %q: want debug, info, warn or error", e.logLevel)
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, usageErrorf("--log-format %q: want text or json", format)
}
