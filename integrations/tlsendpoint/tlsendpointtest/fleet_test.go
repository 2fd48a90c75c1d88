package tlsendpointtest_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/integrations/tlsendpoint/tlsendpointtest"
)

// TestFleetServesHTTPS: a client that trusts only the test CA gets the
// right certificate per SNI name and an HTTP answer.
func TestFleetServesHTTPS(t *testing.T) {
	t.Parallel()
	ca := tlsendpointtest.MustCA(t, "Fixture Root")
	var endpoints []tlsendpointtest.Endpoint
	names := []string{"a.fixture.test", "b.fixture.test", "c.fixture.test"}
	for _, n := range names {
		e, err := ca.Endpoint(n, tlsendpointtest.Good, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		endpoints = append(endpoints, e)
	}
	fleet := tlsendpointtest.ServeFleet(t, endpoints)
	for _, n := range names {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: n}}}
		resp, err := client.Get("https://" + fleet.Addr + "/")
		if err != nil {
			t.Fatalf("GET as %s: %v", n, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.TLS.PeerCertificates[0].Subject.CommonName; got != n {
			t.Errorf("SNI %s got certificate %s", n, got)
		}
		if strings.TrimSpace(string(body)) != "ok" {
			t.Errorf("body = %q", body)
		}
		client.CloseIdleConnections()
	}
}

func TestProfilesAreDistinct(t *testing.T) {
	t.Parallel()
	ca := tlsendpointtest.MustCA(t, "Fixture Root")
	now := time.Now()
	for _, p := range tlsendpointtest.Profiles() {
		e, err := ca.Endpoint("p.test", p, now)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		leaf := e.Certificate.Leaf
		left := leaf.NotAfter.Sub(now)
		var ok bool
		switch p {
		case tlsendpointtest.Good:
			ok = left > 80*24*time.Hour && leaf.VerifyHostname("p.test") == nil
		case tlsendpointtest.Expired:
			ok = left < 0
		case tlsendpointtest.Expiring5Days:
			ok = left > 4*24*time.Hour && left <= 5*24*time.Hour
		case tlsendpointtest.Expiring20Days:
			ok = left > 19*24*time.Hour && left <= 20*24*time.Hour
		case tlsendpointtest.WrongName:
			ok = leaf.VerifyHostname("p.test") != nil
		case tlsendpointtest.SelfSigned:
			ok = leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil
		case tlsendpointtest.WeakRSA:
			ok = leaf.PublicKeyAlgorithm.String() == "RSA"
		case tlsendpointtest.SHA1:
			ok = strings.Contains(leaf.SignatureAlgorithm.String(), "SHA1")
		case tlsendpointtest.LegacyTLS:
			ok = e.MinVersion == tls.VersionTLS10
		}
		if !ok {
			t.Errorf("profile %s: leaf valid until %s, names %v, signed %s, min version %x",
				p, leaf.NotAfter, leaf.DNSNames, leaf.SignatureAlgorithm, e.MinVersion)
		}
	}
	if _, err := ca.Endpoint("p.test", "nonsense", now); err == nil {
		t.Error("unknown profile accepted")
	}
}

func TestFleetRefusesDuplicateNames(t *testing.T) {
	t.Parallel()
	ca := tlsendpointtest.MustCA(t, "Fixture Root")
	e, err := ca.Endpoint("dup.test", tlsendpointtest.Good, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f, err := tlsendpointtest.StartFleet([]tlsendpointtest.Endpoint{e, e}); err == nil {
		f.Close()
		t.Fatal("fleet with a duplicate name started")
	}
}

// TestFleetSet: a renewed certificate is served from the next handshake.
func TestFleetSet(t *testing.T) {
	t.Parallel()
	ca := tlsendpointtest.MustCA(t, "Fixture Root")
	old, err := ca.Endpoint("renew.test", tlsendpointtest.Expired, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fleet := tlsendpointtest.ServeFleet(t, []tlsendpointtest.Endpoint{old})
	notAfter := func() time.Time {
		t.Helper()
		c, err := tls.Dial("tcp", fleet.Addr, &tls.Config{ServerName: "renew.test", InsecureSkipVerify: true}) //nolint:gosec // looking at the certificate only
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].NotAfter
	}
	if !notAfter().Before(time.Now()) {
		t.Fatal("the expired endpoint is not expired")
	}
	renewed, err := ca.Endpoint("renew.test", tlsendpointtest.Good, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fleet.Set(renewed)
	if !notAfter().After(time.Now()) {
		t.Error("Set did not replace the certificate")
	}
	added, err := ca.Endpoint("new.test", tlsendpointtest.Good, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fleet.Set(added)
	if len(fleet.Names()) != 2 {
		t.Errorf("names = %q, want renew.test and new.test", fleet.Names())
	}
}
