package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/web"
)

// TestRunShutsDownGracefully serves on loopback, starts a slow request,
// cancels the server's context, and checks the request finished, the
// background job was stopped and Run returned cleanly.
func TestRunShutsDownGracefully(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	stopped := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = w.Write([]byte("done"))
	})
	f := newFixture(t, func(o *web.Options) {
		o.Routes = []web.Route{{Method: "GET", Path: "/slow", Public: true, Handler: slow}}
		o.Background = []func(context.Context) error{func(ctx context.Context) error {
			<-ctx.Done()
			close(stopped)
			return ctx.Err()
		}}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.srv.Run(ctx, web.ListenOptions{Listener: ln}) }()

	body := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body <- string(b)
	}()
	<-started
	cancel()
	if got := <-body; got != "done" {
		t.Errorf("the request in flight got %q, want done", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	select {
	case <-stopped:
	default:
		t.Error("the background job was not stopped")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still listening after shutdown")
	}
}

func TestBackgroundFailureStopsServer(t *testing.T) {
	t.Parallel()
	boom := errors.New("scheduler lost its lease")
	f := newFixture(t, func(o *web.Options) {
		o.Background = []func(context.Context) error{func(context.Context) error { return boom }}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = f.srv.Run(t.Context(), web.ListenOptions{Listener: ln})
	if !errors.Is(err, boom) {
		t.Errorf("Run = %v, want the job's error", err)
	}
}

func TestRunTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	f := newFixture(t, func(o *web.Options) { o.Secure = true })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- f.srv.Run(ctx, web.ListenOptions{Addr: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile, Ready: func(a net.Addr) { addr <- a }})
	}()
	var a net.Addr
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := c.Get("https://" + a.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") == "" || resp.TLS == nil {
		t.Errorf("HTTPS /healthz: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	// Plain HTTP to the TLS port gets nothing useful.
	if resp, err := http.Get("http://" + a.String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered on the TLS port")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := f.srv.Run(t.Context(), web.ListenOptions{Addr: "127.0.0.1:0", CertFile: certFile, KeyFile: filepath.Join(dir, "missing.pem")}); err == nil {
		t.Error("Run accepted a missing key file")
	}
}

func selfSigned(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rampart.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if w := f.do("GET", "/readyz", "", nil); w.Code != http.StatusOK {
		t.Errorf("/readyz with the store open: %d", w.Code)
	}
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	if w := f.do("GET", "/readyz", "", nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the store closed: %d, want 503", w.Code)
	}
	if w := f.do("GET", "/healthz", "", nil); w.Code != http.StatusOK {
		t.Errorf("/healthz with the store closed: %d, want 200 (the process lives)", w.Code)
	}
}
