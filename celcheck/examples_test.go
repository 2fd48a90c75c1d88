package celcheck_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/celcheck"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint"
)

// docChecks loads every checks file shown in docs/cel-checks.md, so that the
// page's examples are compiled and run by the tests.
func docChecks(t *testing.T) map[string]*rampart.Check {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "cel-checks.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*rampart.Check{}
	blocks := strings.Split(string(doc), "```yaml\n")
	for i, b := range blocks[1:] {
		block, _, ok := strings.Cut(b, "```")
		if !ok {
			t.Fatalf("yaml block %d is not closed", i+1)
		}
		if !strings.HasPrefix(block, "checks:") {
			continue
		}
		checks, err := celcheck.Parse("cel-checks.md", []byte(block))
		if err != nil {
			t.Fatalf("yaml block %d: %v", i+1, err)
		}
		for _, c := range checks {
			out[c.ID] = c
		}
	}
	return out
}

func tlsExample(issuer, version, keyAlg string, expires time.Time, dnsNames ...string) *tlsendpoint.Facts {
	return &tlsendpoint.Facts{
		Address: "www.example.com:443", ServerName: "www.example.com", CollectedAt: now,
		Version: version, CipherSuite: "TLS_AES_128_GCM_SHA256",
		Chain: []tlsendpoint.Certificate{
			{
				Position: 0, Subject: "CN=www.example.com", CommonName: "www.example.com", Issuer: issuer,
				DNSNames: dnsNames, NotBefore: now.AddDate(0, -1, 0), NotAfter: expires,
				PublicKeyAlgorithm: keyAlg, PublicKeyBits: 256, SignatureAlgorithm: "ECDSA-SHA256",
			},
			{
				Position: 1, Subject: issuer, Issuer: "CN=Root", NotAfter: now.AddDate(3, 0, 0),
				PublicKeyAlgorithm: keyAlg, PublicKeyBits: 384, IsCA: true,
			},
			{
				Position: 2, Subject: "CN=Root", Issuer: "CN=Root", NotAfter: now.AddDate(10, 0, 0),
				PublicKeyAlgorithm: "RSA", PublicKeyBits: 4096, IsCA: true, SelfSigned: true,
			},
		},
		Trust:    tlsendpoint.TrustResult{Roots: "system", Status: tlsendpoint.Trusted, VerifiedAt: now},
		Hostname: tlsendpoint.HostnameMatch{Name: "www.example.com", Matches: true},
	}
}

func TestDocExamples(t *testing.T) {
	t.Parallel()
	checks := docChecks(t)
	public := &rampart.Resource{ID: "www", Kind: "tls-endpoint", Environment: "production", Criticality: rampart.CriticalityHigh, Tags: []string{"public"}}
	internal := &rampart.Resource{ID: "intranet", Kind: "tls-endpoint", Environment: "staging", Criticality: rampart.CriticalityLow}
	host := &rampart.Resource{ID: "db1", Kind: "server", Environment: "production", Criticality: rampart.CriticalityCritical}

	good := tlsExample("CN=R11,O=Let's Encrypt,C=US", "TLS 1.3", "ECDSA", now.AddDate(0, 2, 0), "www.example.com")
	weak := tlsExample("CN=Corp CA", "TLS 1.2", "RSA", now.AddDate(0, 0, 5), "*.example.com", "example.com")
	noNames := tlsExample("CN=R11,O=Let's Encrypt,C=US", "TLS 1.3", "ECDSA", now.AddDate(0, 2, 0))
	server := func(name string) celcheck.JSONFacts {
		b, err := os.ReadFile(filepath.Join("testdata", "facts", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	type want struct {
		status rampart.Status
		items  []string
	}
	pass, na := want{status: rampart.StatusPass}, want{status: rampart.StatusNotApplicable}
	failed := func(items ...string) want { return want{rampart.StatusFail, items} }
	tests := []struct {
		check    string
		resource *rampart.Resource
		facts    rampart.Facts
		want     want
	}{
		{"ACME-TLS-ISSUER", public, good, pass},
		{"ACME-TLS-ISSUER", public, weak, failed("ACME-TLS-ISSUER")},
		{"ACME-TLS-ISSUER", internal, weak, na},
		{"ACME-TLS-RENEW-21D", public, good, pass},
		{"ACME-TLS-RENEW-21D", public, weak, failed("ACME-TLS-RENEW-21D")},
		{"ACME-TLS13-PUBLIC", public, good, pass},
		{"ACME-TLS13-PUBLIC", public, weak, failed("ACME-TLS13-PUBLIC")},
		{"ACME-TLS13-PUBLIC", internal, weak, na},
		{"ACME-TLS-ECDSA", public, good, pass},
		{"ACME-TLS-ECDSA", public, weak, failed("CN=Corp CA", "CN=www.example.com")},
		{"ACME-TLS-NO-WILDCARD", public, good, pass},
		{"ACME-TLS-NO-WILDCARD", public, weak, failed("*.example.com")},
		{"ACME-TLS-NO-WILDCARD", public, noNames, pass},

		{"ACME-SSH-NO-X11", host, server("server-hardened"), pass},
		{"ACME-SSH-NO-X11", host, server("server-weak"), failed("ACME-SSH-NO-X11")},
		{"ACME-SSH-NO-X11", host, server("server-rhel"), na},
		{"ACME-DEBIAN-12", host, server("server-hardened"), pass},
		{"ACME-DEBIAN-12", host, server("server-weak"), failed("ACME-DEBIAN-12")},
		{"ACME-DEBIAN-12", host, server("server-rhel"), na},
		{"ACME-AUDIT-RULES", host, server("server-hardened"), pass},
		{"ACME-AUDIT-RULES", host, server("server-weak"), want{status: rampart.StatusError}},
		{"ACME-AUDIT-RULES", host, server("server-rhel"), failed("ACME-AUDIT-RULES")},
		{"ACME-FW-AT-BOOT", host, server("server-hardened"), pass},
		{"ACME-FW-AT-BOOT", host, server("server-weak"), failed("ufw")},
		{"ACME-FW-AT-BOOT", host, server("server-rhel"), pass},
		{"ACME-SHADOW-ROOT", host, server("server-hardened"), pass},
		{"ACME-SHADOW-ROOT", host, server("server-weak"), failed("ACME-SHADOW-ROOT")},
		{"ACME-SHADOW-ROOT", host, server("server-rhel"), pass},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.check] = true
		c := checks[tt.check]
		if c == nil {
			t.Errorf("docs/cel-checks.md has no check %s", tt.check)
			continue
		}
		if err := rampart.ValidateCheck(c); err != nil {
			t.Errorf("%s: %v", tt.check, err)
		}
		ev := c.Run(celcheck.WithSubject(context.Background(), tt.resource, nil, now), tt.facts)
		var items []string
		for _, f := range ev.Findings {
			items = append(items, f.Item)
		}
		if ev.Status != tt.want.status || !reflect.DeepEqual(items, tt.want.items) {
			t.Errorf("%s on %s = %s %q (%s), want %s %q", tt.check, tt.resource.ID, ev.Status, items, ev.Reason, tt.want.status, tt.want.items)
		}
	}
	for id := range checks {
		if !seen[id] {
			t.Errorf("example %s of docs/cel-checks.md is not exercised", id)
		}
	}
}
