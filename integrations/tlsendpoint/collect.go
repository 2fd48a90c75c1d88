package tlsendpoint

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/rampart-dev/rampart"
)

// Collector connects to a resource's address and records its Facts.
type Collector struct {
	// Env supplies ReadFile for the CA bundle; nil fields fall back to
	// the os package.
	Env rampart.Env
	// Now is the clock; nil means time.Now. The demo and tests may pin
	// it, but the certificate validity they serve must then agree.
	Now func() time.Time
}

var _ rampart.Collector = (*Collector)(nil)

// Collect implements rampart.Collector. A connection or handshake that
// fails is an error: every check of the resource is then an error.
func (c *Collector) Collect(ctx context.Context, r *rampart.Resource) (rampart.Facts, error) {
	spec, err := specOf(r)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	roots, err := c.roots(spec)
	if err != nil {
		return nil, err
	}
	name := spec.serverName()
	f := &Facts{Address: spec.Address, ServerName: name, CollectedAt: now().UTC()}

	state, err := handshake(ctx, spec, name, tls.VersionTLS10, tls.VersionTLS13)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return nil, fmt.Errorf("tls handshake with %s: no answer within %s", spec.Address, spec.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("tls handshake with %s: %w", spec.Address, err)
	}
	certs := state.PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("tls handshake with %s: server presented no certificate", spec.Address)
	}
	f.Version = tls.VersionName(state.Version)
	f.CipherSuite = tls.CipherSuiteName(state.CipherSuite)
	for i, cert := range certs {
		f.Chain = append(f.Chain, describe(i, cert))
	}
	f.Trust = verifyChain(certs, roots, f.CollectedAt)
	if spec.CABundle == "" {
		f.Trust.Roots = "system"
	} else {
		f.Trust.Roots = spec.CABundle
	}
	f.Hostname = HostnameMatch{Name: name, Matches: true}
	if err := certs[0].VerifyHostname(name); err != nil {
		f.Hostname.Matches, f.Hostname.Error = false, err.Error()
	}
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		f.Protocols = append(f.Protocols, probe(ctx, spec, name, v))
	}
	return f, nil
}

func specOf(r *rampart.Resource) (*Spec, error) {
	switch s := r.Spec.(type) {
	case *Spec:
		return s, nil
	case Spec:
		return &s, nil
	}
	return nil, fmt.Errorf("resource %s: spec of type %T, want tls-endpoint spec", r.ID, r.Spec)
}

// roots returns the CA bundle's pool, or nil for the system roots.
func (c *Collector) roots(spec *Spec) (*x509.CertPool, error) {
	if spec.CABundle == "" {
		return nil, nil
	}
	read := os.ReadFile
	if c.Env.ReadFile != nil {
		read = c.Env.ReadFile
	}
	pem, err := read(spec.CABundle)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", spec.CABundle)
	}
	return pool, nil
}

// cipherSuites offers every suite Go implements, secure ones first, so
// that a server stuck on old suites still completes a handshake and can
// be inspected and reported.
func cipherSuites() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		ids = append(ids, s.ID)
	}
	return ids
}

func clientConfig(name string, minV, maxV uint16) *tls.Config {
	return &tls.Config{
		ServerName: name,
		// The chain and the name are verified by hand afterwards, so
		// that an expired, untrusted or misnamed certificate can still
		// be recorded and reported precisely.
		InsecureSkipVerify: true, //nolint:gosec // verified in verifyChain and VerifyHostname
		MinVersion:         minV,
		MaxVersion:         maxV,
		CipherSuites:       cipherSuites(),
	}
}

func handshake(ctx context.Context, spec *Spec, name string, minV, maxV uint16) (tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	d := &tls.Dialer{Config: clientConfig(name, minV, maxV)}
	conn, err := d.DialContext(ctx, "tcp", spec.Address)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState(), nil
}

// probe offers exactly one protocol version. Failing to connect at all is
// unknown, not a rejection: only the server's answer to the handshake
// tells whether it accepts the version.
func probe(ctx context.Context, spec *Spec, name string, v uint16) ProtocolProbe {
	p := ProtocolProbe{Version: tls.VersionName(v)}
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", spec.Address)
	if err != nil {
		p.Result, p.Detail = ProbeUnknown, err.Error()
		return p
	}
	defer raw.Close()
	conn := tls.Client(raw, clientConfig(name, v, v))
	err = conn.HandshakeContext(ctx)
	var ne net.Error
	switch {
	case err == nil:
		p.Result, p.Detail = ProbeAccepted, tls.CipherSuiteName(conn.ConnectionState().CipherSuite)
	case ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()):
		p.Result, p.Detail = ProbeUnknown, err.Error()
	default:
		p.Result, p.Detail = ProbeRejected, err.Error()
	}
	return p
}

func describe(pos int, c *x509.Certificate) Certificate {
	sum := sha256.Sum256(c.Raw)
	d := Certificate{
		Position:           pos,
		Subject:            c.Subject.String(),
		CommonName:         c.Subject.CommonName,
		Issuer:             c.Issuer.String(),
		SerialNumber:       c.SerialNumber.Text(16),
		DNSNames:           c.DNSNames,
		NotBefore:          c.NotBefore.UTC(),
		NotAfter:           c.NotAfter.UTC(),
		PublicKeyAlgorithm: c.PublicKeyAlgorithm.String(),
		SignatureAlgorithm: c.SignatureAlgorithm.String(),
		SHA256:             hex.EncodeToString(sum[:]),
		IsCA:               c.IsCA,
		SelfSigned: bytes.Equal(c.RawSubject, c.RawIssuer) &&
			(len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)),
	}
	for _, ip := range c.IPAddresses {
		d.IPAddresses = append(d.IPAddresses, ip.String())
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		d.PublicKeyBits = k.N.BitLen()
	case *ecdsa.PublicKey:
		d.PublicKeyBits = k.Curve.Params().BitSize
		d.Curve = k.Curve.Params().Name
	}
	if c.PublicKeyAlgorithm == x509.Ed25519 {
		d.PublicKeyBits = 256
	}
	return d
}

// verifyChain verifies the presented chain for server authentication,
// without the name. When a presented certificate is outside its validity
// period at the collection time, it verifies at an instant inside all of
// them instead, so that trust reports only the chain and expiry is left to
// the expiry checks.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, now time.Time) TrustResult {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	verify := func(at time.Time) ([][]*x509.Certificate, error) {
		return certs[0].Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: inter,
			CurrentTime:   at,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
	}
	at := now
	chains, err := verify(at)
	if err != nil && !allValidAt(certs, now) {
		// The last instant all presented certificates were valid is the
		// likeliest to fall inside the root's validity too; the first
		// such instant is the fallback.
		if lo, hi, ok := commonValidity(certs); ok {
			for _, t := range []time.Time{hi, lo} {
				if chains, err = verify(t); err == nil {
					at = t
					break
				}
			}
			if err != nil {
				at = hi
			}
		}
	}
	t := TrustResult{VerifiedAt: at.UTC()}
	var sysErr x509.SystemRootsError
	switch {
	case errors.As(err, &sysErr):
		t.Status, t.Error = TrustUnknown, err.Error()
	case err != nil:
		t.Status, t.Error = Untrusted, err.Error()
	default:
		t.Status = Trusted
		for _, c := range chains[0] {
			t.VerifiedChain = append(t.VerifiedChain, c.Subject.String())
		}
	}
	return t
}

func allValidAt(certs []*x509.Certificate, t time.Time) bool {
	for _, c := range certs {
		if t.Before(c.NotBefore) || t.After(c.NotAfter) {
			return false
		}
	}
	return true
}

func commonValidity(certs []*x509.Certificate) (lo, hi time.Time, ok bool) {
	lo, hi = certs[0].NotBefore, certs[0].NotAfter
	for _, c := range certs[1:] {
		if c.NotBefore.After(lo) {
			lo = c.NotBefore
		}
		if c.NotAfter.Before(hi) {
			hi = c.NotAfter
		}
	}
	return lo, hi, !lo.After(hi)
}
