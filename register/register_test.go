package register_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/register"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.errors golden files")

// TestGolden parses every testdata/*.yaml and compares the error lines
// with testdata/*.errors (empty for a valid register).
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = register.Parse(name, data, testKinds())
			got := ""
			if err != nil {
				got = err.Error() + "\n"
				checkPositioned(t, name, err)
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".errors"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// checkPositioned asserts err is an ErrorList of errors that each name the
// file and a line, and that it reads as an invalid-input domain error.
func checkPositioned(t *testing.T, file string, err error) {
	t.Helper()
	var list register.ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("error %T is not a non-empty register.ErrorList: %v", err, err)
	}
	for _, e := range list {
		if e.Pos.File != file || e.Pos.Line < 1 || e.Msg == "" {
			t.Errorf("error without file, line or message: %#v", e)
		}
	}
	if k := rampart.KindOf(err); k != rampart.KindInvalid {
		t.Errorf("KindOf = %q, want %q", k, rampart.KindInvalid)
	}
}

func TestThreeErrors(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/three-errors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = register.Parse("rampart.yaml", data, testKinds())
	var list register.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse = %v, want an ErrorList", err)
	}
	want := []struct {
		line, col int
		field     string
		msg       string
	}{
		{9, 5, "resources[0].enviroment", `unknown field "enviroment" (did you mean "environment"?`},
		{13, 11, "resources[1].kind", `unknown kind "tls-endpont" (did you mean "tls-endpoint"? known kinds: `},
		{22, 14, "resources[2].spec.token", "a literal credential; write env:NAME or file:PATH"},
	}
	if len(list) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(list), len(want), err)
	}
	for i, w := range want {
		e := list[i]
		if e.Pos.File != "rampart.yaml" || e.Pos.Line != w.line || e.Pos.Column != w.col || e.Field != w.field || !strings.HasPrefix(e.Msg, w.msg) {
			t.Errorf("error %d = %v, want rampart.yaml:%d:%d: %s: %s...", i, e, w.line, w.col, w.field, w.msg)
		}
	}
	if strings.Contains(err.Error(), "ghp_") {
		t.Errorf("the token appears in the errors:\n%v", err)
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := register.Parse(filepath.Join(dir, "rampart.yaml"), data, testKinds())
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != filepath.Join(dir, "rampart.yaml") || c.Dir != dir || c.Version != 1 {
		t.Errorf("Path, Dir, Version = %q, %q, %d", c.Path, c.Dir, c.Version)
	}
	s := c.Settings
	if s.Store != filepath.Join(dir, "data/rampart.db") || s.Concurrency != 4 || s.Timeout != 90*time.Second ||
		s.TimeZoneName != "Europe/Madrid" || s.TimeZone.String() != "Europe/Madrid" {
		t.Errorf("Settings = %+v", s)
	}
	wantControls := []string{filepath.Join(dir, "controls.local.yaml"), "/etc/rampart/more-controls.yaml"}
	if strings.Join(c.Catalog.Controls, ",") != strings.Join(wantControls, ",") ||
		strings.Join(c.Catalog.Checks, ",") != filepath.Join(dir, "checks.cel.yaml") {
		t.Errorf("Catalog = %+v", c.Catalog)
	}
	if len(c.Resources) != 5 {
		t.Fatalf("got %d resources, want 5", len(c.Resources))
	}

	web := c.Resource("web-tls")
	if web == nil || web.Kind != "tls-endpoint" || web.Owner != "platform-team" || web.Environment != "production" ||
		web.Criticality != rampart.CriticalityHigh || strings.Join(web.Tags, ",") != "pki,public" {
		t.Fatalf("web-tls = %+v", web)
	}
	if web.Source.Line != 16 || web.Source.Column != 5 {
		t.Errorf("web-tls Source = %v, want line 16, column 5", web.Source)
	}
	for id, want := range map[string]string{"PKI-01": "daily", "PKI-02": "cron: 0 6 * * 1", "PKI-03": "cron: 0 0 1 * *"} {
		if got := web.Periodicity[id].String(); got != want {
			t.Errorf("periodicity %s = %q, want %q", id, got, want)
		}
	}
	tls, ok := web.Spec.(*tlsSpec)
	if !ok || tls.Address != "www.example.com:443" || tls.ServerName != "example.com" || tls.Timeout != 5*time.Second ||
		tls.CABundle != filepath.Join(dir, "pki/root.pem") {
		t.Errorf("web-tls spec = %#v", web.Spec)
	}

	host := c.Resource("this-host")
	if host.Owner != "ops-team" || host.Environment != "production" || host.Criticality != rampart.CriticalityMedium {
		t.Errorf("merged this-host = %+v", host)
	}
	if sp, ok := host.Spec.(*serverSpec); !ok || sp.Root != filepath.Join(dir, "hostroot") || sp.Mode != "local" {
		t.Errorf("this-host spec = %#v, want root resolved against the register and the default mode", host.Spec)
	}

	api, ok := c.Resource("status-api").Spec.(*apiSpec)
	if !ok {
		t.Fatalf("status-api spec = %T", c.Resource("status-api").Spec)
	}
	if api.Region != "eu-west" || api.Token != "env:STATUS_TOKEN" || api.Auth.Key != "file:/run/secrets/status-key" ||
		len(api.Probes) != 2 || api.Probes[0].Expect != 200 || api.Probes[1].Path != "/readyz" ||
		api.Labels["team"] != "sre" || api.Retries != 5 || api.Ratio != 0.5 || api.Every.String() != "weekly" ||
		api.Verify == nil || *api.Verify || api.Extra == nil {
		t.Errorf("status-api spec = %+v", api)
	}
	if c.Resource("status-api").Criticality != rampart.CriticalityCritical {
		t.Errorf("status-api criticality = %v", c.Resource("status-api").Criticality)
	}
	if c.Resource("heart.beat_1").Spec != nil {
		t.Errorf("a kind without NewSpec got a spec")
	}

	cis := c.Resource("cis-benchmark").Spec.(map[string]any)
	if cis["tool"] != "kube-bench" || cis["nan"] != ".nan" || cis["when"] != "2024-01-01" {
		t.Errorf("free-form spec = %#v", cis)
	}
	if c.Resource("nope") != nil {
		t.Errorf("Resource(unknown) is not nil")
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := register.Parse("/srv/rampart/rampart.yaml", []byte("version: 1\nresources: [{id: a, kind: process, name: A, owner: o}, {id: b, kind: process, name: B, owner: o, criticality: HIGH}]\n"), testKinds())
	if err != nil {
		t.Fatal(err)
	}
	if a, b := c.Resource("a"), c.Resource("b"); a.Criticality != rampart.CriticalityMedium || b.Criticality != rampart.CriticalityHigh ||
		a.Spec != nil || a.Tags != nil || a.Periodicity != nil || a.Environment != "" {
		t.Errorf("defaults: %+v; case-insensitive criticality: %+v", a, b)
	}
	s := c.Settings
	if s.Store != "/srv/rampart/rampart.db" || s.Concurrency != register.DefaultConcurrency ||
		s.Timeout != register.DefaultTimeout || s.TimeZone != time.UTC || s.TimeZoneName != "UTC" {
		t.Errorf("default settings = %+v", s)
	}
	if _, ok := s.StoreRef(); ok {
		t.Errorf("a file store is reported as a reference")
	}
}

func TestStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		store, want string
		ref         bool
	}{
		{"rampart.db", "/srv/r/rampart.db", false},
		{"../shared/r.db", "/srv/shared/r.db", false},
		{"/var/lib/rampart/r.db", "/var/lib/rampart/r.db", false},
		{"postgres://rampart@db.example.com/rampart?sslmode=verify-full", "postgres://rampart@db.example.com/rampart?sslmode=verify-full", false},
		{"env:RAMPART_DSN", "env:RAMPART_DSN", true},
	}
	for _, tt := range tests {
		c, err := register.Parse("/srv/r/rampart.yaml", []byte("version: 1\nsettings: {store: '"+tt.store+"'}\n"), testKinds())
		if err != nil {
			t.Errorf("store %s: %v", tt.store, err)
			continue
		}
		ref, ok := c.Settings.StoreRef()
		if c.Settings.Store != tt.want || ok != tt.ref || (ok && string(ref) != tt.want) {
			t.Errorf("store %s = %q (ref %v), want %q (ref %v)", tt.store, c.Settings.Store, ok, tt.want, tt.ref)
		}
	}
}

// TestSecretsNotEchoed puts credentials everywhere a value can go and
// checks each is reported and none is repeated.
func TestSecretsNotEchoed(t *testing.T) {
	t.Parallel()
	ghp := "ghp_" + strings.Repeat("a1B2", 9)
	tests := []struct {
		name, key, value, secret string
	}{
		{"kind", "kind", ghp, ghp},
		{"id", "id", ghp, ghp},
		{"owner", "owner", ghp, ghp},
		{"criticality", "criticality", ghp, ghp},
		{"periodicity value", "periodicity", "{PKI-01: " + ghp + "}", ghp},
		{"periodicity key", "periodicity", "{" + ghp + ": daily}", ghp},
		{"unknown field name", ghp, "x", ghp},
		{"unknown field value", "extra", ghp, ghp},
		{"tag", "tags", "[" + ghp + "]", ghp},
		{"typed spec string", "spec", "{url: " + ghp + "}", ghp},
		{"typed spec number", "spec", "{url: u, retries: " + ghp + "}", ghp},
		{"typed spec secret", "spec", "{url: u, token: hunter2hunter2}", "hunter2hunter2"},
		{"typed spec unknown key", "spec", "{url: u, " + ghp + ": 1}", ghp},
		{"typed spec periodicity", "spec", "{url: u, every: " + ghp + "}", ghp},
		{"free-form password", "spec", "{url: u, extra: {password: correct-horse-battery}}", "correct-horse-battery"},
		{"validate repeats a plain string", "spec", "{url: u, password: tr0ub4dor-3}", "tr0ub4dor-3"},
		{"validate sees an empty url", "spec", "{url: '', token: not-a-reference-value}", "not-a-reference-value"},
		{"pem", "spec", `{url: u, extra: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----"}`, "b3BlbnNzaC1rZXktdjEA"},
		{"dsn", "spec", "{url: 'postgres://u:pa55w0rd-x@h/db'}", "pa55w0rd-x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fields := map[string]string{"id": "y", "kind": "http-api", "name": "n", "owner": "o"}
			fields[tt.key] = tt.value
			var b strings.Builder
			b.WriteString("version: 1\nresources:\n  - {id: x, kind: http-api, name: n, owner: o, spec: {url: u}}\n  -")
			for _, k := range []string{"id", "kind", "name", "owner", tt.key} {
				if v, ok := fields[k]; ok {
					b.WriteString(" " + k + ": " + v + "\n   ")
					delete(fields, k)
				}
			}
			doc := b.String()
			_, err := register.Parse("rampart.yaml", []byte(doc), testKinds())
			if err == nil {
				t.Fatalf("no error for\n%s", doc)
			}
			if !strings.Contains(err.Error(), "a literal credential; write env:NAME or file:PATH") {
				t.Errorf("the credential is not reported:\n%v", err)
			}
			if strings.Contains(err.Error(), tt.secret) {
				t.Errorf("the credential appears in the errors:\n%v", err)
			}
		})
	}
}

// TestSecretsInGolden guards the golden files themselves: none may hold a
// credential written in testdata/secrets.yaml.
func TestSecretsInGolden(t *testing.T) {
	t.Parallel()
	golden, err := os.ReadFile("testdata/secrets.errors")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"S3cretPassw0rd", "AKIAIOSFODNN7EXAMPLE", "hunter2", "12345678", "XXXXXXXX",
		"abc@def", "abcdef123456", "literal-token-value", "xoxb-", "MIIBOgIBAAJBAKj34", "s3cr3t-l1teral",
		"sk_live_", "abcdefgh", "glpat-",
	} {
		if strings.Contains(string(golden), s) {
			t.Errorf("testdata/secrets.errors contains %q", s)
		}
	}
	if n := strings.Count(string(golden), "a literal credential"); n != 14 {
		t.Errorf("testdata/secrets.errors reports %d credentials, want 14", n)
	}
}

func TestYAMLErrorsPositioned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		line, col  int
		msg        string
	}{
		{"invalid utf-8", "version: 1\nresources:\n  - id: caf\xe9\n", 3, 12, "not valid UTF-8"},
		{"control char", "version: 1\nname: a\x01b\n", 2, 8, "control character U+0001"},
		{"first line", "a: b: c\n", 1, 0, "not valid YAML: mapping values are not allowed"},
		{"later line", "version: 1\nresources:\n  - [\n", 3, 0, "not valid YAML"},
		{"tab", "version: 1\n\tresources: []\n", 2, 0, "not valid YAML"},
		{"unknown anchor", "version: 1\nresources: *nope\n", 1, 0, "not valid YAML: unknown anchor"},
		{"empty", "", 1, 0, "the register is empty"},
		{"scalar", "just words\n", 1, 1, "the register is a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := register.Parse("r.yaml", []byte(tt.data), testKinds())
			var list register.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse = %v, want an ErrorList", err)
			}
			e := list[0]
			if e.Pos.File != "r.yaml" || e.Pos.Line != tt.line || e.Pos.Column != tt.col || !strings.HasPrefix(e.Msg, tt.msg) {
				t.Errorf("got %v, want r.yaml:%d:%d: %s...", e, tt.line, tt.col, tt.msg)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "rampart.yaml")
	if _, err := register.Load(path, testKinds()); rampart.KindOf(err) != rampart.KindNotFound {
		t.Errorf("Load(missing) = %v, want a not-found error", err)
	}
	reg := "version: 1\ncatalog:\n  controls: [controls.yaml]\n  checks: [missing.cel.yaml]\n"
	if err := os.WriteFile(path, []byte(reg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "controls.yaml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := register.Load(path, testKinds())
	want := path + ":4:12: catalog.checks[0]: catalog file " + filepath.Join(dir, "missing.cel.yaml") + " does not exist"
	if err == nil || err.Error() != want {
		t.Errorf("Load = %v, want %s", err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "missing.cel.yaml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := register.Load(path, testKinds())
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != path || len(c.Catalog.Controls) != 1 || len(c.Catalog.Checks) != 1 {
		t.Errorf("Load = %+v", c)
	}
	if err := os.WriteFile(path, []byte("version: one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := register.Load(path, testKinds()); err == nil || !strings.HasPrefix(err.Error(), path+":1:10: version: ") {
		t.Errorf("Load(invalid) = %v, want a positioned error", err)
	}
}

func TestCheckControlIDs(t *testing.T) {
	t.Parallel()
	doc := `version: 1
resources:
  - id: a
    kind: process
    name: A
    owner: o
    periodicity:
      PKI-01: daily
      pki-02: weekly
      PKI-3: monthly
      NOPE-1: yearly
`
	c, err := register.Parse("r.yaml", []byte(doc), testKinds())
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"PKI-01": true, "PKI-02": true, "PKI-03": true}
	err = c.CheckControlIDs(func(id string) bool { return known[id] })
	want := `r.yaml:9:7: resources[0].periodicity.pki-02: unknown control "pki-02" (did you mean "PKI-02"?)
r.yaml:10:7: resources[0].periodicity.PKI-3: unknown control "PKI-3" (did you mean "PKI-03"?)
r.yaml:11:7: resources[0].periodicity.NOPE-1: unknown control "NOPE-1"`
	if err == nil || err.Error() != want {
		t.Errorf("CheckControlIDs =\n%v\nwant\n%s", err, want)
	}
	if rampart.KindOf(err) != rampart.KindInvalid {
		t.Errorf("KindOf = %v", rampart.KindOf(err))
	}
	if err := c.CheckControlIDs(func(string) bool { return true }); err != nil {
		t.Errorf("CheckControlIDs(all known) = %v", err)
	}
}

func TestErrorListSorted(t *testing.T) {
	t.Parallel()
	doc := "version: 1\nresources:\n  - {id: b, kind: x, name: n, owner: o}\nbogus: 1\nsettings: {timeout: 1}\n"
	_, err := register.Parse("r.yaml", []byte(doc), testKinds())
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	re := regexp.MustCompile(`^r\.yaml:(\d+):`)
	last := 0
	for _, l := range lines {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line without position: %q", l)
		}
		n := 0
		for _, ch := range m[1] {
			n = n*10 + int(ch-'0')
		}
		if n < last {
			t.Errorf("errors not sorted by line:\n%v", err)
		}
		last = n
	}
	if len(lines) != 3 {
		t.Errorf("got %d errors, want 3:\n%v", len(lines), err)
	}
}
