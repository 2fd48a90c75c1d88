package tlsendpoint_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint/tlsendpointtest"
)

const (
	pass = rampart.StatusPass
	fail = rampart.StatusFail
	errd = rampart.StatusError
)

// statuses maps check id to status; checks left out of a case's map are
// expected to pass.
type statuses map[string]rampart.Status

func allPass(except statuses) statuses {
	out := statuses{}
	for _, c := range tlsendpoint.Checks() {
		out[c.ID] = pass
	}
	for id, s := range except {
		out[id] = s
	}
	return out
}

// evaluate runs every check over the facts.
func evaluate(t *testing.T, facts rampart.Facts) map[string]rampart.Evaluation {
	t.Helper()
	out := map[string]rampart.Evaluation{}
	for _, c := range tlsendpoint.Checks() {
		out[c.ID] = c.Run(t.Context(), facts)
	}
	return out
}

func collect(t *testing.T, spec *tlsendpoint.Spec) (*tlsendpoint.Facts, error) {
	t.Helper()
	if err := spec.Validate(); err != nil {
		t.Fatalf("spec: %v", err)
	}
	c := tlsendpoint.Integration.NewCollector(rampart.Env{})
	facts, err := c.Collect(t.Context(), &rampart.Resource{ID: "tls/test", Kind: tlsendpoint.Kind, Spec: spec})
	if err != nil {
		return nil, err
	}
	return facts.(*tlsendpoint.Facts), nil
}

func checkStatuses(t *testing.T, evals map[string]rampart.Evaluation, want statuses) {
	t.Helper()
	for id, w := range want {
		e := evals[id]
		if e.Status != w {
			t.Errorf("%s = %s (reason %q, findings %+v), want %s", id, e.Status, e.Reason, e.Findings, w)
		}
		if e.Status == fail && len(e.Findings) == 0 {
			t.Errorf("%s fails without findings", id)
		}
		if e.Status != fail && len(e.Findings) > 0 {
			t.Errorf("%s = %s with findings %+v", id, e.Status, e.Findings)
		}
		if e.Status == pass && e.Reason == "" {
			t.Errorf("%s passes without saying what it saw", id)
		}
	}
	if len(evals) != len(want) {
		t.Errorf("got %d evaluations, want %d", len(evals), len(want))
	}
}

var profileCases = []struct {
	profile tlsendpointtest.Profile
	want    statuses
	// items lists, per failing check, the finding items expected.
	items map[string][]string
}{
	{tlsendpointtest.Good, allPass(nil), nil},
	{
		tlsendpointtest.Expired,
		allPass(statuses{"TLS-EXPIRED": fail}),
		map[string][]string{"TLS-EXPIRED": {"certificate %s (position 0)"}},
	},
	{
		tlsendpointtest.Expiring5Days,
		allPass(statuses{"TLS-EXPIRING-7D": fail}),
		map[string][]string{"TLS-EXPIRING-7D": {"certificate %s (position 0)"}},
	},
	{
		tlsendpointtest.Expiring20Days,
		allPass(statuses{"TLS-EXPIRING-30D": fail}),
		map[string][]string{"TLS-EXPIRING-30D": {"certificate %s (position 0)"}},
	},
	{
		tlsendpointtest.WrongName,
		allPass(statuses{"TLS-HOSTNAME": fail}),
		map[string][]string{"TLS-HOSTNAME": {"server name %s"}},
	},
	{
		tlsendpointtest.SelfSigned,
		allPass(statuses{"TLS-TRUST": fail}),
		map[string][]string{"TLS-TRUST": {"certificate chain"}},
	},
	{
		tlsendpointtest.WeakRSA,
		allPass(statuses{"TLS-KEY-STRENGTH": fail}),
		map[string][]string{"TLS-KEY-STRENGTH": {"certificate %s (position 0)"}},
	},
	{
		// Go refuses SHA-1 signatures when verifying, so trust fails too.
		tlsendpointtest.SHA1,
		allPass(statuses{"TLS-SHA1": fail, "TLS-TRUST": fail}),
		map[string][]string{"TLS-SHA1": {"certificate %s (position 0)"}, "TLS-TRUST": {"certificate chain"}},
	},
	{
		tlsendpointtest.LegacyTLS,
		allPass(statuses{"TLS-PROTOCOL": fail}),
		map[string][]string{"TLS-PROTOCOL": {"protocol TLS 1.0", "protocol TLS 1.1"}},
	},
}

func checkItems(t *testing.T, evals map[string]rampart.Evaluation, items map[string][]string, name string) {
	t.Helper()
	for id, want := range items {
		var got []string
		for _, f := range evals[id].Findings {
			got = append(got, f.Item)
		}
		var w []string
		for _, s := range want {
			if strings.Contains(s, "%s") {
				s = strings.ReplaceAll(s, "%s", name)
			}
			w = append(w, s)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s items = %q, want %q", id, got, w)
		}
	}
}

// TestProfiles serves each profile from its own real TLS server on
// loopback and expects the exact status of every check.
func TestProfiles(t *testing.T) {
	t.Parallel()
	ca := tlsendpointtest.MustCA(t, "Rampart Test Root")
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteBundle(bundle); err != nil {
		t.Fatal(err)
	}
	for _, tc := range profileCases {
		t.Run(string(tc.profile), func(t *testing.T) {
			t.Parallel()
			name := string(tc.profile) + ".test"
			e, err := ca.Endpoint(name, tc.profile, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			srv := tlsendpointtest.Serve(t, e.Certificate, tlsendpointtest.ServerOptions{MinVersion: e.MinVersion})
			facts, err := collect(t, &tlsendpoint.Spec{Address: srv.Addr, ServerName: name, CABundle: bundle, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			evals := evaluate(t, facts)
			checkStatuses(t, evals, tc.want)
			checkItems(t, evals, tc.items, name)
		})
	}
}

// TestFleet serves every profile from one listener by SNI, the way the
// benchmark and the demo do, and expects the same results as one server
// per profile.
func TestFleet(t *testing.T) {
	t.Parallel()
	ca := tlsendpointtest.MustCA(t, "Rampart Fleet Root")
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteBundle(bundle); err != nil {
		t.Fatal(err)
	}
	var endpoints []tlsendpointtest.Endpoint
	for _, tc := range profileCases {
		e, err := ca.Endpoint(string(tc.profile)+".fleet.test", tc.profile, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		endpoints = append(endpoints, e)
	}
	fleet := tlsendpointtest.ServeFleet(t, endpoints)
	if got := len(fleet.Names()); got != len(profileCases) {
		t.Fatalf("fleet answers for %d names, want %d", got, len(profileCases))
	}
	for _, tc := range profileCases {
		t.Run(string(tc.profile), func(t *testing.T) {
			t.Parallel()
			name := string(tc.profile) + ".fleet.test"
			facts, err := collect(t, &tlsendpoint.Spec{Address: fleet.Addr, ServerName: name, CABundle: bundle, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if facts.Chain[0].CommonName != name && tc.profile != tlsendpointtest.WrongName {
				t.Errorf("fleet presented %q for SNI %q", facts.Chain[0].CommonName, name)
			}
			evals := evaluate(t, facts)
			checkStatuses(t, evals, tc.want)
		})
	}
	t.Run("unknown name", func(t *testing.T) {
		t.Parallel()
		_, err := collect(t, &tlsendpoint.Spec{Address: fleet.Addr, ServerName: "nobody.fleet.test", Timeout: 5 * time.Second})
		if err == nil {
			t.Fatal("collect of a name the fleet does not serve succeeded")
		}
	})
}

// TestChainsAndRoots covers what the profiles do not: intermediates,
// the system roots, IP-address names, and the facts recorded.
func TestChainsAndRoots(t *testing.T) {
	t.Parallel()
	root := tlsendpointtest.MustCA(t, "Rampart Chain Root")
	inter, err := root.NewIntermediate("Rampart Chain Issuing CA")
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "root.pem")
	if err := root.WriteBundle(bundle); err != nil {
		t.Fatal(err)
	}

	t.Run("intermediate", func(t *testing.T) {
		t.Parallel()
		e, err := inter.Endpoint("app.test", tlsendpointtest.Good, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		srv := tlsendpointtest.Serve(t, e.Certificate, tlsendpointtest.ServerOptions{})
		f, err := collect(t, &tlsendpoint.Spec{Address: srv.Addr, ServerName: "app.test", CABundle: bundle, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		checkStatuses(t, evaluate(t, f), allPass(nil))
		if len(f.Chain) != 2 || f.Chain[1].CommonName != "Rampart Chain Issuing CA" || !f.Chain[1].IsCA || f.Chain[1].SelfSigned {
			t.Errorf("chain = %+v, want leaf then the issuing CA", f.Chain)
		}
		if len(f.Trust.VerifiedChain) != 3 {
			t.Errorf("verified chain = %q, want leaf, intermediate, root", f.Trust.VerifiedChain)
		}
		leaf := f.Chain[0]
		if leaf.PublicKeyAlgorithm != "ECDSA" || leaf.PublicKeyBits != 256 || leaf.Curve != "P-256" ||
			leaf.SignatureAlgorithm != "ECDSA-SHA256" || len(leaf.SHA256) != 64 || leaf.SerialNumber == "" ||
			!reflect.DeepEqual(leaf.DNSNames, []string{"app.test"}) || leaf.Position != 0 {
			t.Errorf("leaf facts = %+v", leaf)
		}
		if f.Version != "TLS 1.3" || f.CipherSuite == "" || f.Trust.Roots != bundle {
			t.Errorf("version %q cipher %q roots %q", f.Version, f.CipherSuite, f.Trust.Roots)
		}
		for _, p := range f.Protocols {
			if p.Result != tlsendpoint.ProbeRejected {
				t.Errorf("probe %s = %s (%s), want rejected", p.Version, p.Result, p.Detail)
			}
		}
	})

	t.Run("system roots do not hold the test CA", func(t *testing.T) {
		t.Parallel()
		e, err := root.Endpoint("sys.test", tlsendpointtest.Good, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		srv := tlsendpointtest.Serve(t, e.Certificate, tlsendpointtest.ServerOptions{})
		f, err := collect(t, &tlsendpoint.Spec{Address: srv.Addr, ServerName: "sys.test", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		evals := evaluate(t, f)
		checkStatuses(t, evals, allPass(statuses{"TLS-TRUST": fail}))
		if f.Trust.Roots != "system" {
			t.Errorf("roots = %q, want system", f.Trust.Roots)
		}
	})

	t.Run("IP address name defaults from the address", func(t *testing.T) {
		t.Parallel()
		e, err := root.Endpoint("127.0.0.1", tlsendpointtest.Good, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		srv := tlsendpointtest.Serve(t, e.Certificate, tlsendpointtest.ServerOptions{})
		f, err := collect(t, &tlsendpoint.Spec{Address: srv.Addr, CABundle: bundle, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if f.ServerName != "127.0.0.1" {
			t.Errorf("server name = %q, want the address's host", f.ServerName)
		}
		checkStatuses(t, evaluate(t, f), allPass(nil))
	})

	t.Run("expired leaf is still verified for trust", func(t *testing.T) {
		t.Parallel()
		e, err := inter.Endpoint("old.test", tlsendpointtest.Expired, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		srv := tlsendpointtest.Serve(t, e.Certificate, tlsendpointtest.ServerOptions{})
		f, err := collect(t, &tlsendpoint.Spec{Address: srv.Addr, ServerName: "old.test", CABundle: bundle, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if f.Trust.Status != tlsendpoint.Trusted || !f.Trust.VerifiedAt.Before(f.CollectedAt) {
			t.Errorf("trust = %+v, want trusted at an earlier instant than %s", f.Trust, f.CollectedAt)
		}
		checkStatuses(t, evaluate(t, f), allPass(statuses{"TLS-EXPIRED": fail}))
	})

	t.Run("TLS 1.0 only server", func(t *testing.T) {
		t.Parallel()
		e, err := root.Endpoint("legacy.test", tlsendpointtest.Good, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		srv := tlsendpointtest.Serve(t, e.Certificate, tlsendpointtest.ServerOptions{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10})
		f, err := collect(t, &tlsendpoint.Spec{Address: srv.Addr, ServerName: "legacy.test", CABundle: bundle, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if f.Version != "TLS 1.0" {
			t.Errorf("negotiated %q, want TLS 1.0", f.Version)
		}
		evals := evaluate(t, f)
		checkStatuses(t, evals, allPass(statuses{"TLS-PROTOCOL": fail}))
		checkItems(t, evals, map[string][]string{"TLS-PROTOCOL": {"protocol TLS 1.0"}}, "")
	})
}

// TestCollectErrors: when nothing can be seen, the collector fails, and
// the engine marks every check an error.
func TestCollectErrors(t *testing.T) {
	t.Parallel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()

	// A listener that accepts and then says nothing: the handshake must
	// time out rather than hang the scan.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()

	ca := tlsendpointtest.MustCA(t, "Rampart Errors Root")
	e, err := ca.Endpoint("ok.test", tlsendpointtest.Good, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := tlsendpointtest.Serve(t, e.Certificate, tlsendpointtest.ServerOptions{})
	notPEM := filepath.Join(t.TempDir(), "bundle.pem")
	if err := ca.WriteBundle(notPEM + ".real"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		spec tlsendpoint.Spec
		want string
	}{
		{"connection refused", tlsendpoint.Spec{Address: refused, Timeout: 2 * time.Second}, "refused"},
		{"handshake timeout", tlsendpoint.Spec{Address: silent.Addr().String(), Timeout: 200 * time.Millisecond}, "no answer within 200ms"},
		{"missing CA bundle", tlsendpoint.Spec{Address: srv.Addr, CABundle: notPEM, Timeout: 2 * time.Second}, "read CA bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := collect(t, &tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("collect error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}

	t.Run("wrong spec type", func(t *testing.T) {
		t.Parallel()
		c := &tlsendpoint.Collector{}
		if _, err := c.Collect(context.Background(), &rampart.Resource{ID: "x", Spec: "nope"}); err == nil {
			t.Fatal("collect with a foreign spec succeeded")
		}
	})
}

// TestFactsRoundTrip: results must be reproducible from the evidence, so
// the facts decoded from their JSON give the same evaluations.
func TestFactsRoundTrip(t *testing.T) {
	t.Parallel()
	ca := tlsendpointtest.MustCA(t, "Rampart JSON Root")
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteBundle(bundle); err != nil {
		t.Fatal(err)
	}
	e, err := ca.Endpoint("json.test", tlsendpointtest.Expiring20Days, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := tlsendpointtest.Serve(t, e.Certificate, tlsendpointtest.ServerOptions{MinVersion: tls.VersionTLS11})
	f, err := collect(t, &tlsendpoint.Spec{Address: srv.Addr, ServerName: "json.test", CABundle: bundle, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, err := rampart.FactsJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	var back tlsendpoint.Facts
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	before, after := evaluate(t, f), evaluate(t, &back)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("evaluations differ after a JSON round trip:\nbefore %+v\nafter  %+v", before, after)
	}
	checkStatuses(t, after, allPass(statuses{"TLS-EXPIRING-30D": fail, "TLS-PROTOCOL": fail}))
}
