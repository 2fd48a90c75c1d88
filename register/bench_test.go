package register_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/register"
)

// BenchmarkParse measures a large estate: 2,000 resources of every shape.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("version: 1\nsettings: {timezone: Europe/Madrid}\nx-owner: &o {owner: platform-team, environment: production}\nresources:\n")
	for i := range 500 {
		fmt.Fprintf(&sb, "  - {id: web-%d, kind: tls-endpoint, name: Web %d, <<: *o, tags: [pki], periodicity: {PKI-01: daily}, spec: {address: 'w%d.example.com:443', timeout: 5s}}\n", i, i, i)
		fmt.Fprintf(&sb, "  - {id: host-%d, kind: server, name: Host %d, owner: ops, criticality: high, spec: {root: /}}\n", i, i)
		fmt.Fprintf(&sb, "  - {id: vault-%d, kind: vault, name: Vault %d, owner: sec, spec: {address: 'https://v%d.example.com', token: 'env:VAULT_TOKEN', tags: {a: [1, 2]}}}\n", i, i, i)
		fmt.Fprintf(&sb, "  - {id: api-%d, kind: http-api, name: API %d, owner: ops, spec: {url: 'https://a%d.example.com', token: 'env:T', probes: [{path: /, expect: 200}]}}\n", i, i, i)
	}
	data := []byte(sb.String())
	kinds := testKinds()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := register.Parse("rampart.yaml", data, kinds); err != nil {
			b.Fatal(err)
		}
	}
}
