package terraform_test

import (
	"flag"
	"testing"

	"github.com/rampart-dev/rampart/integrations/gitrepo/scantest"
	"github.com/rampart-dev/rampart/integrations/gitrepo/terraform"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestChecks(t *testing.T) {
	scantest.Run(t, terraform.New(), "testdata", *update)
}

func TestPinnedVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"1.5.7", "1.5.7", true},
		{"= 1.5.7", "1.5.7", true},
		{"~> 1.5.7", "1.5.7", true},
		{"~> 1.5", "", false},
		{">= 1.5.7", "", false},
		{">= 1.5, < 2", "", false},
		{"", "", false},
	} {
		got, ok := terraform.PinnedVersion(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("PinnedVersion(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestModulePinning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		source, version string
		pinned          bool
	}{
		{"./modules/x", "", true},
		{"hashicorp/consul/aws", "0.1.0", true},
		{"app.terraform.io/acme/vpc/aws", "= 1.2.3", true},
		{"hashicorp/consul/aws", "~> 0.1", false},
		{"hashicorp/consul/aws", "", false},
		{"git::https://example.com/vpc.git?ref=v1.2.0", "", true},
		{"git::https://example.com/vpc.git?ref=main", "", false},
		{"github.com/hashicorp/example", "", false},
		{"git@github.com:hashicorp/example.git?ref=0123456789abcdef0123456789abcdef01234567", "", true},
		{"s3::https://s3-eu-west-1.amazonaws.com/bucket/vpc.zip", "", false},
	} {
		why := terraform.ModulePinning(tc.source, tc.version)
		if (why == "") != tc.pinned {
			t.Errorf("ModulePinning(%q, %q) = %q, want pinned=%v", tc.source, tc.version, why, tc.pinned)
		}
	}
}

func TestStripCredentials(t *testing.T) {
	t.Parallel()
	got := terraform.StripCredentials("git::https://deploy:s3cr3t@github.com/x/y.git?ref=v1.0.0")
	if got != "git::https://github.com/x/y.git?ref=v1.0.0" {
		t.Errorf("StripCredentials = %q", got)
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add([]byte(`terraform { required_version = "1.5.7" }`))
	f.Add([]byte("resource \"helm_release\" \"x\" {\n values = [<<EOT\nprivileged: true\nEOT\n]\n}\n"))
	f.Add([]byte(`module "m" { source = "git::https://a:b@x/y?ref=v1.0.0" }`))
	f.Add([]byte(`resource "proxmox_vm_qemu" "v" { dynamic "network" { for_each = [1] content { firewall = false } } }`))
	f.Add([]byte(`variable "token" { default = "x" }`))
	f.Add([]byte(`x = {`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a := terraform.Analyze(b)
		_ = terraform.AnalyzeVars(b)
		for _, m := range a.ModuleCalls {
			if terraform.StripCredentials(m.Source) != m.Source {
				t.Fatalf("module source kept credentials: %q", m.Source)
			}
		}
	})
}
