// Package tlsendpointtest serves real TLS endpoints on loopback with
// certificates made on the spot: a test CA, leaves in every state the
// tls-endpoint checks look for (good, expired, expiring, wrong name,
// self-signed, weak key, SHA-1, legacy protocol), and a fleet of many SNI
// names behind one listener. It imports only the standard library and not
// package testing, so the demo and the benchmark can use it outside tests.
package tlsendpointtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// CA is a certificate authority made for a test: a root, or an
// intermediate under another CA.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// chain is what a server presents after its leaf: this CA's
	// certificate and its parents', without the root.
	chain [][]byte

	mu      sync.Mutex
	serial  int64
	ecKey   *ecdsa.PrivateKey
	rsaKeys map[int]*rsa.PrivateKey
}

// NewCA makes a root CA with an ECDSA P-256 key, valid from a year ago
// for ten years, so that it covers the back-dated leaves of the expired
// profile as a real CA would.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Rampart test"}},
		NotBefore:             now.Add(-365 * 24 * time.Hour),
		NotAfter:              now.Add(9 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, serial: 1}, nil
}

// NewIntermediate makes a CA under ca; leaves it issues present it in
// their chain.
func (ca *CA) NewIntermediate(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate intermediate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          ca.nextSerial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Rampart test"}},
		NotBefore:             ca.Cert.NotBefore,
		NotAfter:              ca.Cert.NotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("create intermediate certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse intermediate certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, serial: 1, chain: append([][]byte{der}, ca.chain...)}, nil
}

// PEM returns the CA's certificate PEM-encoded, as a CA bundle holds it.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// WriteBundle writes the CA's certificate to path as a PEM bundle.
func (ca *CA) WriteBundle(path string) error {
	if err := os.WriteFile(path, ca.PEM(), 0o644); err != nil {
		return fmt.Errorf("write CA bundle: %w", err)
	}
	return nil
}

// Pool returns a pool holding only this CA, for clients that trust it.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// LeafOptions describe a leaf certificate. Zero fields take defaults.
type LeafOptions struct {
	// CommonName defaults to the first DNS name.
	CommonName  string
	DNSNames    []string
	IPAddresses []net.IP
	// NotBefore defaults to an hour ago, NotAfter to 90 days from now.
	NotBefore, NotAfter time.Time
	// Key is the leaf's key. When nil, RSABits > 0 picks an RSA key of that
	// size and otherwise an ECDSA P-256 key; either is shared by the CA's
	// leaves so that issuing thousands stays cheap.
	Key     crypto.Signer
	RSABits int
	// SignatureAlgorithm is what the issuer signs with (x509.ECDSAWithSHA1
	// for a SHA-1 leaf under an ECDSA CA); zero lets x509 choose.
	SignatureAlgorithm x509.SignatureAlgorithm
	// SelfSigned signs the leaf with its own key instead of the CA's.
	SelfSigned bool
}

// Issue makes a leaf certificate for a TLS server: the leaf followed by
// the CA's intermediates (the root is left out, as servers do).
func (ca *CA) Issue(o LeafOptions) (tls.Certificate, error) {
	key := o.Key
	if key == nil {
		var err error
		if key, err = ca.sharedKey(o.RSABits); err != nil {
			return tls.Certificate{}, err
		}
	}
	now := time.Now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.Add(90 * 24 * time.Hour)
	}
	if o.CommonName == "" && len(o.DNSNames) > 0 {
		o.CommonName = o.DNSNames[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber:       ca.nextSerial(),
		Subject:            pkix.Name{CommonName: o.CommonName},
		DNSNames:           o.DNSNames,
		IPAddresses:        o.IPAddresses,
		NotBefore:          o.NotBefore,
		NotAfter:           o.NotAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		SignatureAlgorithm: o.SignatureAlgorithm,
	}
	parent, signer, chain := ca.Cert, crypto.Signer(ca.Key), ca.chain
	if o.SelfSigned {
		tmpl.SubjectKeyId = keyID(key.Public())
		parent, signer, chain = tmpl, key, nil
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create leaf certificate %q: %w", o.CommonName, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse leaf certificate %q: %w", o.CommonName, err)
	}
	return tls.Certificate{
		Certificate: append([][]byte{der}, chain...),
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

func (ca *CA) nextSerial() *big.Int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.serial++
	return big.NewInt(ca.serial)
}

func (ca *CA) sharedKey(rsaBits int) (crypto.Signer, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if rsaBits > 0 {
		if k := ca.rsaKeys[rsaBits]; k != nil {
			return k, nil
		}
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("generate RSA-%d key: %w", rsaBits, err)
		}
		if ca.rsaKeys == nil {
			ca.rsaKeys = map[int]*rsa.PrivateKey{}
		}
		ca.rsaKeys[rsaBits] = k
		return k, nil
	}
	if ca.ecKey == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate leaf key: %w", err)
		}
		ca.ecKey = k
	}
	return ca.ecKey, nil
}

func keyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return sum[:20]
}

// Profile names a ready-made endpoint in one of the states the
// tls-endpoint checks tell apart.
type Profile string

// The profiles.
const (
	// Good is valid for 90 days, trusted by the CA, named right, ECDSA
	// P-256, TLS 1.2 and up.
	Good Profile = "good"
	// Expired ended two days ago.
	Expired Profile = "expired"
	// Expiring5Days ends in five days.
	Expiring5Days Profile = "expiring-5d"
	// Expiring20Days ends in twenty days.
	Expiring20Days Profile = "expiring-20d"
	// WrongName is valid for another name only.
	WrongName Profile = "wrong-name"
	// SelfSigned is signed by its own key, not the CA.
	SelfSigned Profile = "self-signed"
	// WeakRSA has an RSA-1024 key.
	WeakRSA Profile = "rsa-1024"
	// SHA1 is signed by the CA with ECDSA-SHA1.
	SHA1 Profile = "sha1"
	// LegacyTLS is a good certificate on a server that accepts TLS 1.0.
	LegacyTLS Profile = "tls10"
)

// Profiles lists every profile, good first.
func Profiles() []Profile {
	return []Profile{Good, Expired, Expiring5Days, Expiring20Days, WrongName, SelfSigned, WeakRSA, SHA1, LegacyTLS}
}

// Endpoint is one name a server answers for: its certificate and the
// oldest protocol version it accepts.
type Endpoint struct {
	Name        string
	Certificate tls.Certificate
	// MinVersion is the oldest TLS version accepted; zero means TLS 1.2.
	MinVersion uint16
}

// Endpoint makes the endpoint for name in profile p, with validity
// computed from now. Names may be DNS names or IP addresses.
func (ca *CA) Endpoint(name string, p Profile, now time.Time) (Endpoint, error) {
	o := LeafOptions{CommonName: name, NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)}
	setName := func(n string) {
		if ip := net.ParseIP(n); ip != nil {
			o.IPAddresses = []net.IP{ip}
		} else {
			o.DNSNames = []string{n}
		}
	}
	setName(name)
	e := Endpoint{Name: name}
	switch p {
	case Good:
	case Expired:
		o.NotBefore, o.NotAfter = now.Add(-90*24*time.Hour), now.Add(-48*time.Hour)
	case Expiring5Days:
		o.NotAfter = now.Add(5 * 24 * time.Hour)
	case Expiring20Days:
		o.NotAfter = now.Add(20 * 24 * time.Hour)
	case WrongName:
		o.CommonName, o.IPAddresses, o.DNSNames = "other.invalid", nil, []string{"other.invalid"}
	case SelfSigned:
		o.SelfSigned = true
	case WeakRSA:
		o.RSABits = 1024
	case SHA1:
		o.SignatureAlgorithm = x509.ECDSAWithSHA1
		if _, ok := ca.Key.(*rsa.PrivateKey); ok {
			o.SignatureAlgorithm = x509.SHA1WithRSA
		}
	case LegacyTLS:
		e.MinVersion = tls.VersionTLS10
	default:
		return Endpoint{}, fmt.Errorf("unknown profile %q", p)
	}
	cert, err := ca.Issue(o)
	if err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %s (%s): %w", name, p, err)
	}
	e.Certificate = cert
	return e, nil
}

// ServerOptions bound the protocol versions a server accepts; zero values
// keep Go's defaults (TLS 1.2 to 1.3).
type ServerOptions struct {
	MinVersion, MaxVersion uint16
}

// Server is a running HTTPS server on loopback. It answers every request
// with 200 "ok" so that a browser or curl can look at it too.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	srv  *http.Server
	done chan struct{}
}

// Listen starts a server presenting cert on a free loopback port.
func Listen(cert tls.Certificate, opts ServerOptions) (*Server, error) {
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   opts.MinVersion,
		MaxVersion:   opts.MaxVersion,
		CipherSuites: allCipherSuites(),
	}
	return start(cfg)
}

// Fleet is one server answering for many SNI names, each with its own
// certificate and protocol floor. It is safe for concurrent use: Set may
// change an endpoint while handshakes run.
type Fleet struct {
	*Server
	mu        sync.RWMutex
	endpoints map[string]*Endpoint
}

// StartFleet starts one loopback server for all endpoints. A client must
// send the endpoint's name as SNI (set tls.Config.ServerName, or the
// tls-endpoint spec's serverName); IP-address names, which clients do not
// send as SNI, are answered only when there is exactly one of them.
func StartFleet(endpoints []Endpoint) (*Fleet, error) {
	f := &Fleet{endpoints: make(map[string]*Endpoint, len(endpoints))}
	for i := range endpoints {
		e := endpoints[i]
		if _, dup := f.endpoints[e.Name]; dup {
			return nil, fmt.Errorf("endpoint %q listed twice", e.Name)
		}
		f.endpoints[e.Name] = &e
	}
	suites := allCipherSuites()
	base := &tls.Config{CipherSuites: suites}
	base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		e := f.lookup(hello.ServerName)
		if e == nil {
			return nil, fmt.Errorf("no endpoint named %q", hello.ServerName)
		}
		return &tls.Config{
			Certificates: []tls.Certificate{e.Certificate},
			MinVersion:   e.MinVersion,
			CipherSuites: suites,
		}, nil
	}
	s, err := start(base)
	if err != nil {
		return nil, err
	}
	f.Server = s
	return f, nil
}

// lookup finds the endpoint for an SNI name; without SNI, the only
// IP-address endpoint, if there is exactly one.
func (f *Fleet) lookup(name string) *Endpoint {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if name != "" {
		return f.endpoints[name]
	}
	var found *Endpoint
	for n, e := range f.endpoints {
		if net.ParseIP(n) == nil {
			continue
		}
		if found != nil {
			return nil
		}
		found = e
	}
	return found
}

// Set adds an endpoint, or replaces the one of the same name, for the
// handshakes that follow: a renewal, or a regression, in a demo or script.
func (f *Fleet) Set(e Endpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.endpoints[e.Name] = &e
}

// Names lists the fleet's endpoint names, in no particular order.
func (f *Fleet) Names() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	names := make([]string, 0, len(f.endpoints))
	for n := range f.endpoints {
		names = append(names, n)
	}
	return names
}

func start(cfg *tls.Config) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	s := &Server{
		Addr: ln.Addr().String(),
		srv: &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte("ok\n"))
			}),
			TLSConfig:         cfg,
			ReadHeaderTimeout: 5 * time.Second,
			// Scanners and probes hang up after the handshake or
			// fail it on purpose; that is not worth a log line.
			ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		// Serve returns ErrServerClosed after Close; nothing else is
		// expected from a loopback listener.
		_ = s.srv.Serve(tls.NewListener(ln, cfg))
	}()
	return s, nil
}

// Close stops the server and waits for its accept loop to end.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("close server %s: %w", s.Addr, err)
	}
	return nil
}

// Shutdown stops the server gracefully.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down server %s: %w", s.Addr, err)
	}
	<-s.done
	return nil
}

// allCipherSuites lets a server configured for TLS 1.0 speak it with the
// CBC suites old clients offer; secure suites come first.
func allCipherSuites() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		ids = append(ids, s.ID)
	}
	return ids
}

// TB is the part of testing.TB the helpers use, so that this package does
// not import testing.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Serve starts a server presenting cert and closes it when the test ends.
func Serve(t TB, cert tls.Certificate, opts ServerOptions) *Server {
	t.Helper()
	s, err := Listen(cert, opts)
	if err != nil {
		t.Fatalf("tlsendpointtest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// ServeFleet starts a fleet and closes it when the test ends.
func ServeFleet(t TB, endpoints []Endpoint) *Fleet {
	t.Helper()
	f, err := StartFleet(endpoints)
	if err != nil {
		t.Fatalf("tlsendpointtest: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// MustCA is NewCA for tests.
func MustCA(t TB, commonName string) *CA {
	t.Helper()
	ca, err := NewCA(commonName)
	if err != nil {
		t.Fatalf("tlsendpointtest: %v", err)
	}
	return ca
}
