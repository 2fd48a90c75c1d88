package tlsendpoint_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint"
)

var scanTime = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// factsWith returns sound facts (every check passes) with a leaf that
// expires after left, changed by edit.
func factsWith(left time.Duration, edit func(f *tlsendpoint.Facts)) *tlsendpoint.Facts {
	f := &tlsendpoint.Facts{
		Address:     "example.test:443",
		ServerName:  "example.test",
		CollectedAt: scanTime,
		Version:     "TLS 1.3",
		CipherSuite: "TLS_AES_128_GCM_SHA256",
		Chain: []tlsendpoint.Certificate{
			{
				Position: 0, CommonName: "example.test", DNSNames: []string{"example.test"},
				NotBefore: scanTime.Add(-30 * 24 * time.Hour), NotAfter: scanTime.Add(left),
				PublicKeyAlgorithm: "ECDSA", PublicKeyBits: 256, Curve: "P-256", SignatureAlgorithm: "ECDSA-SHA256",
			},
			{
				Position: 1, CommonName: "Issuing CA", IsCA: true,
				NotBefore: scanTime.Add(-365 * 24 * time.Hour), NotAfter: scanTime.Add(5 * 365 * 24 * time.Hour),
				PublicKeyAlgorithm: "RSA", PublicKeyBits: 4096, SignatureAlgorithm: "SHA256-RSA",
			},
		},
		Trust:    tlsendpoint.TrustResult{Roots: "system", Status: tlsendpoint.Trusted, VerifiedAt: scanTime},
		Hostname: tlsendpoint.HostnameMatch{Name: "example.test", Matches: true},
		Protocols: []tlsendpoint.ProtocolProbe{
			{Version: "TLS 1.0", Result: tlsendpoint.ProbeRejected},
			{Version: "TLS 1.1", Result: tlsendpoint.ProbeRejected},
		},
	}
	if edit != nil {
		edit(f)
	}
	return f
}

const day = 24 * time.Hour

// TestChecksOnFacts pins each check's rule on facts made by hand,
// including the boundaries between the expiry windows.
func TestChecksOnFacts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		facts *tlsendpoint.Facts
		want  statuses
		items map[string][]string
	}{
		{"sound", factsWith(90*day, nil), allPass(nil), nil},
		{"30 days left passes", factsWith(30*day, nil), allPass(nil), nil},
		{"just under 30 days", factsWith(30*day-time.Second, nil), allPass(statuses{"TLS-EXPIRING-30D": fail}), nil},
		{"exactly 7 days is the 30-day window", factsWith(7*day, nil), allPass(statuses{"TLS-EXPIRING-30D": fail}), nil},
		{"just under 7 days", factsWith(7*day-time.Second, nil), allPass(statuses{"TLS-EXPIRING-7D": fail}), nil},
		{"expires at the scan instant", factsWith(0, nil), allPass(statuses{"TLS-EXPIRING-7D": fail}), nil},
		{"expired a second ago", factsWith(-time.Second, nil), allPass(statuses{"TLS-EXPIRED": fail}), nil},
		{
			"not yet valid",
			factsWith(90*day, func(f *tlsendpoint.Facts) { f.Chain[0].NotBefore = scanTime.Add(time.Hour) }),
			allPass(statuses{"TLS-EXPIRED": fail}), nil,
		},
		{
			"expiring intermediate and leaf are two findings",
			factsWith(3*day, func(f *tlsendpoint.Facts) { f.Chain[1].NotAfter = scanTime.Add(2 * day) }),
			allPass(statuses{"TLS-EXPIRING-7D": fail}),
			map[string][]string{"TLS-EXPIRING-7D": {"certificate example.test (position 0)", "certificate Issuing CA (position 1)"}},
		},
		{
			"EC key under 256 bits",
			factsWith(90*day, func(f *tlsendpoint.Facts) { f.Chain[0].PublicKeyBits, f.Chain[0].Curve = 224, "P-224" }),
			allPass(statuses{"TLS-KEY-STRENGTH": fail}), nil,
		},
		{
			"RSA 2048 passes, DSA fails",
			factsWith(90*day, func(f *tlsendpoint.Facts) {
				f.Chain[0].PublicKeyAlgorithm, f.Chain[0].PublicKeyBits, f.Chain[0].Curve = "RSA", 2048, ""
				f.Chain[1].PublicKeyAlgorithm, f.Chain[1].PublicKeyBits = "DSA", 0
			}),
			allPass(statuses{"TLS-KEY-STRENGTH": fail}),
			map[string][]string{"TLS-KEY-STRENGTH": {"certificate Issuing CA (position 1)"}},
		},
		{
			"Ed25519 passes",
			factsWith(90*day, func(f *tlsendpoint.Facts) {
				f.Chain[0].PublicKeyAlgorithm, f.Chain[0].PublicKeyBits, f.Chain[0].Curve = "Ed25519", 256, ""
			}),
			allPass(nil), nil,
		},
		{
			"unknown key algorithm cannot be judged",
			factsWith(90*day, func(f *tlsendpoint.Facts) { f.Chain[1].PublicKeyAlgorithm = "unknown" }),
			allPass(statuses{"TLS-KEY-STRENGTH": errd}), nil,
		},
		{
			"SHA-1 on a presented self-signed root is ignored",
			factsWith(90*day, func(f *tlsendpoint.Facts) {
				f.Chain[1].SelfSigned, f.Chain[1].SignatureAlgorithm = true, "SHA1-RSA"
			}),
			allPass(nil), nil,
		},
		{
			"SHA-1 on an intermediate fails",
			factsWith(90*day, func(f *tlsendpoint.Facts) { f.Chain[1].SignatureAlgorithm = "SHA1-RSA" }),
			allPass(statuses{"TLS-SHA1": fail}),
			map[string][]string{"TLS-SHA1": {"certificate Issuing CA (position 1)"}},
		},
		{
			"MD5 on a self-signed leaf fails",
			factsWith(90*day, func(f *tlsendpoint.Facts) {
				f.Chain = f.Chain[:1]
				f.Chain[0].SelfSigned, f.Chain[0].SignatureAlgorithm = true, "MD5-RSA"
			}),
			allPass(statuses{"TLS-SHA1": fail}), nil,
		},
		{
			"probe that could not connect is an error",
			factsWith(90*day, func(f *tlsendpoint.Facts) {
				f.Protocols[1] = tlsendpoint.ProtocolProbe{Version: "TLS 1.1", Result: tlsendpoint.ProbeUnknown, Detail: "connection reset"}
			}),
			allPass(statuses{"TLS-PROTOCOL": errd}), nil,
		},
		{
			"accepted version outweighs an unknown one",
			factsWith(90*day, func(f *tlsendpoint.Facts) {
				f.Protocols[0].Result = tlsendpoint.ProbeAccepted
				f.Protocols[1].Result = tlsendpoint.ProbeUnknown
			}),
			allPass(statuses{"TLS-PROTOCOL": fail}),
			map[string][]string{"TLS-PROTOCOL": {"protocol TLS 1.0"}},
		},
		{
			"missing probes are an error",
			factsWith(90*day, func(f *tlsendpoint.Facts) { f.Protocols = nil }),
			allPass(statuses{"TLS-PROTOCOL": errd}), nil,
		},
		{
			"trust unknown is an error",
			factsWith(90*day, func(f *tlsendpoint.Facts) {
				f.Trust = tlsendpoint.TrustResult{Roots: "system", Status: tlsendpoint.TrustUnknown, Error: "no system roots"}
			}),
			allPass(statuses{"TLS-TRUST": errd}), nil,
		},
		{
			"empty trust result is an error",
			factsWith(90*day, func(f *tlsendpoint.Facts) { f.Trust = tlsendpoint.TrustResult{} }),
			allPass(statuses{"TLS-TRUST": errd}), nil,
		},
		{
			"no chain: every certificate check errors",
			factsWith(90*day, func(f *tlsendpoint.Facts) { f.Chain = nil }),
			allPass(statuses{
				"TLS-EXPIRED": errd, "TLS-EXPIRING-7D": errd, "TLS-EXPIRING-30D": errd, "TLS-HOSTNAME": errd,
				"TLS-TRUST": errd, "TLS-KEY-STRENGTH": errd, "TLS-SHA1": errd,
			}), nil,
		},
		{
			"no collection time: every certificate check errors",
			factsWith(90*day, func(f *tlsendpoint.Facts) { f.CollectedAt = time.Time{} }),
			allPass(statuses{
				"TLS-EXPIRED": errd, "TLS-EXPIRING-7D": errd, "TLS-EXPIRING-30D": errd, "TLS-HOSTNAME": errd,
				"TLS-TRUST": errd, "TLS-KEY-STRENGTH": errd, "TLS-SHA1": errd,
			}), nil,
		},
		{
			"empty facts: nothing passes",
			&tlsendpoint.Facts{},
			statuses{
				"TLS-EXPIRED": errd, "TLS-EXPIRING-7D": errd, "TLS-EXPIRING-30D": errd, "TLS-HOSTNAME": errd,
				"TLS-TRUST": errd, "TLS-PROTOCOL": errd, "TLS-KEY-STRENGTH": errd, "TLS-SHA1": errd,
			},
			nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			evals := evaluate(t, tc.facts)
			checkStatuses(t, evals, tc.want)
			checkItems(t, evals, tc.items, "")
		})
	}
}

func TestForeignFactsAreAnError(t *testing.T) {
	t.Parallel()
	for _, c := range tlsendpoint.Checks() {
		if e := c.Run(t.Context(), map[string]any{"chain": []any{}}); e.Status != rampart.StatusError {
			t.Errorf("%s on foreign facts = %s, want error", c.ID, e.Status)
		}
	}
}

// TestCatalog pins ids, severities and controls to the control catalog's
// list, and the metadata the engine requires.
func TestCatalog(t *testing.T) {
	t.Parallel()
	want := map[string]struct {
		sev      rampart.Severity
		controls []string
	}{
		"TLS-EXPIRED":      {rampart.SeverityCritical, []string{"PKI-01"}},
		"TLS-EXPIRING-30D": {rampart.SeverityHigh, []string{"PKI-01"}},
		"TLS-EXPIRING-7D":  {rampart.SeverityCritical, []string{"PKI-01"}},
		"TLS-HOSTNAME":     {rampart.SeverityHigh, []string{"PKI-02"}},
		"TLS-TRUST":        {rampart.SeverityHigh, []string{"PKI-02"}},
		"TLS-PROTOCOL":     {rampart.SeverityHigh, []string{"PKI-02", "SRV-03"}},
		"TLS-KEY-STRENGTH": {rampart.SeverityMedium, []string{"PKI-02"}},
		"TLS-SHA1":         {rampart.SeverityMedium, []string{"PKI-02"}},
	}
	checks := tlsendpoint.Integration.Checks
	if len(checks) != len(want) {
		t.Errorf("%d checks, want %d", len(checks), len(want))
	}
	seen := map[string]bool{}
	for _, c := range checks {
		if err := rampart.ValidateCheck(c); err != nil {
			t.Error(err)
		}
		w, ok := want[c.ID]
		if !ok {
			t.Errorf("unexpected check %s", c.ID)
			continue
		}
		if seen[c.ID] {
			t.Errorf("check %s listed twice", c.ID)
		}
		seen[c.ID] = true
		if c.Severity != w.sev || !slices.Equal(c.Controls, w.controls) || c.Kind != tlsendpoint.Kind || c.Version < 1 {
			t.Errorf("%s: severity %s controls %v kind %s version %d, want %s %v %s",
				c.ID, c.Severity, c.Controls, c.Kind, c.Version, w.sev, w.controls, tlsendpoint.Kind)
		}
		if !strings.Contains(c.Doc, "Reads") {
			t.Errorf("%s: doc does not say what it reads", c.ID)
		}
	}
	if tlsendpoint.Integration.Kind != "tls-endpoint" || tlsendpoint.Integration.NewSpec == nil || tlsendpoint.Integration.NewCollector == nil {
		t.Errorf("integration descriptor incomplete: %+v", tlsendpoint.Integration)
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	s, ok := tlsendpoint.Integration.NewSpec().(*tlsendpoint.Spec)
	if !ok || s.Timeout != 10*time.Second {
		t.Fatalf("NewSpec = %#v, want *Spec with a 10s timeout", s)
	}
	for _, tc := range []struct {
		name string
		spec tlsendpoint.Spec
		want []string // substrings of the error; none means valid
	}{
		{"valid", tlsendpoint.Spec{Address: "example.com:443", Timeout: time.Second}, nil},
		{"IPv6 address and name", tlsendpoint.Spec{Address: "[::1]:8443", ServerName: "::1", Timeout: time.Second}, nil},
		{"missing address", tlsendpoint.Spec{Timeout: time.Second}, []string{"address: required"}},
		{"no port", tlsendpoint.Spec{Address: "example.com", Timeout: time.Second}, []string{`"example.com" is not host:port`}},
		{"empty host", tlsendpoint.Spec{Address: ":443", Timeout: time.Second}, []string{"not host:port"}},
		{
			"bad name and timeout",
			tlsendpoint.Spec{Address: "a:1", ServerName: "https://a", Timeout: 0},
			[]string{"serverName:", "timeout:"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.spec.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want errors %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestSetBaseDir(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ bundle, dir, want string }{
		{"pki/root.pem", "/etc/rampart", "/etc/rampart/pki/root.pem"},
		{"/abs/root.pem", "/etc/rampart", "/abs/root.pem"},
		{"", "/etc/rampart", ""},
	} {
		s := tlsendpoint.Spec{CABundle: tc.bundle}
		s.SetBaseDir(tc.dir)
		if s.CABundle != tc.want {
			t.Errorf("SetBaseDir(%q) on %q = %q, want %q", tc.dir, tc.bundle, s.CABundle, tc.want)
		}
	}
}

func TestLabelIsStableAcrossRenewal(t *testing.T) {
	t.Parallel()
	a := factsWith(10*day, nil).Chain[0]
	b := factsWith(80*day, func(f *tlsendpoint.Facts) { f.Chain[0].SHA256, f.Chain[0].SerialNumber = "ff", "2" }).Chain[0]
	if a.Label() != b.Label() {
		t.Errorf("labels differ after renewal: %q vs %q", a.Label(), b.Label())
	}
	if !reflect.DeepEqual(a.Label(), "certificate example.test (position 0)") {
		t.Errorf("label = %q", a.Label())
	}
}
