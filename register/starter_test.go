package register_test

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/register"
)

// controlIDs are the catalog's control ids, as fixed for the project.
var controlIDs = strings.Fields(`
GH-01 GH-02 GH-03 GH-04
SC-01 SC-02 SC-03 SC-04 SC-05 SC-06 SC-07 SC-08 SC-09 SC-10
IMG-01 IMG-02 IMG-03 IMG-04 HELM-01
GHA-01 GHA-02 GHA-03 GHA-04 GHA-05 GHA-06 GHA-07 GHA-08 GHA-09 CD-01 CD-02
PVE-01 PVE-02 PVE-03 CEPH-01 CEPH-02 CF-01 CF-02 TF-01 TF-02 TF-03
SRV-01 SRV-02 SRV-03 SRV-04 SRV-05 SRV-06 SRV-07 SRV-08 SRV-09 SRV-10 SRV-11 SRV-12
K8S-01 K8S-02 K8S-03 K8S-04 K8S-05 K8S-06 K8S-07 MON-01 MON-02
FW-01 FW-02 FW-03 FW-04 CRED-01 CRED-02 BAK-01 PKI-01 PKI-02 PKI-03
PPL-01 PPL-02 PPL-03 PPL-04 PPL-05
PROC-01 PROC-02 PROC-03 PROC-04 PROC-05 PROC-06 PROC-07
OPS-01 OPS-02 OPS-03 OPS-04 OPS-05 IT-01`)

var exampleLine = regexp.MustCompile(`(?m)^  # `)

// uncomment turns the starter's commented examples (lines starting with
// "  # ") into entries.
func uncomment(b []byte) []byte {
	return exampleLine.ReplaceAll(b, []byte("  "))
}

// starterKinds adds git-repo, whose integration is not among the
// stand-ins, for the commented examples.
func starterKinds() register.Kinds {
	k := testKinds()
	k.Inventory = append(slices.Clip(k.Inventory), "git-repo")
	return k
}

func TestStarter(t *testing.T) {
	t.Parallel()
	c, err := register.Parse("rampart.yaml", register.Starter(), testKinds())
	if err != nil {
		t.Fatalf("the starter does not parse:\n%v", err)
	}
	if err := c.CheckControlIDs(func(id string) bool { return slices.Contains(controlIDs, id) }); err != nil {
		t.Errorf("the starter names unknown controls:\n%v", err)
	}
	// Active entries work with no credentials and no network.
	for _, r := range c.Resources {
		switch r.Kind {
		case "process", "device-fleet":
		case "server":
			if s, ok := r.Spec.(*serverSpec); !ok || s.Root != "/" {
				t.Errorf("active server %s: spec %#v, want root /", r.ID, r.Spec)
			}
		default:
			t.Errorf("active resource %s of kind %s needs a network or credentials", r.ID, r.Kind)
		}
	}
	if c.Resource("this-host") == nil || c.Resource("security-training") == nil || c.Resource("cis-benchmark") == nil {
		t.Errorf("the starter lacks this machine, people or processes")
	}
	if got := register.Starter(); &got[0] == &register.Starter()[0] {
		t.Errorf("Starter returns shared bytes")
	}
}

func TestStarterExamples(t *testing.T) {
	t.Parallel()
	data := uncomment(register.Starter())
	if bytes.Equal(data, register.Starter()) {
		t.Fatal("no commented examples found")
	}
	c, err := register.Parse("rampart.yaml", data, starterKinds())
	if err != nil {
		t.Fatalf("the starter's examples, uncommented, do not parse:\n%v", err)
	}
	if err := c.CheckControlIDs(func(id string) bool { return slices.Contains(controlIDs, id) }); err != nil {
		t.Errorf("the starter's examples name unknown controls:\n%v", err)
	}

	// Every area of the seed's index, and its people and processes.
	kinds := map[rampart.Kind]bool{}
	for _, r := range c.Resources {
		kinds[r.Kind] = true
	}
	for _, k := range []rampart.Kind{
		"github-org", "git-repo", "container-image", "helm-chart", "argocd", "flux",
		"proxmox", "ceph", "cloudflare-zone", "terraform", "server", "kubernetes-cluster",
		"prometheus", "logging", "opnsense", "vault", "onepassword", "backup",
		"tls-endpoint", "pki", "device-fleet", "process",
	} {
		if !kinds[k] {
			t.Errorf("no %s example in the starter", k)
		}
	}

	// The periodicities the seed gives, on the resources of their area.
	seed := []struct {
		kind    rampart.Kind
		control string
		want    string
	}{
		{"container-image", "IMG-01", "weekly"},
		{"argocd", "CD-02", "daily"},
		{"ceph", "CEPH-02", "daily"},
		{"terraform", "TF-02", "quarterly"},
		{"opnsense", "FW-01", "daily"},
		{"proxmox", "PVE-03", "semi-annual"},
		{"process", "PROC-02", "weekly"},
		{"process", "PROC-03", "quarterly"},
	}
	for _, s := range seed {
		found := false
		for _, r := range c.Resources {
			if p, ok := r.Periodicity[s.control]; ok && r.Kind == s.kind {
				found = true
				if p.String() != s.want {
					t.Errorf("%s: %s is %s, want %s", r.ID, s.control, p, s.want)
				}
			}
		}
		if !found {
			t.Errorf("no %s resource sets %s", s.kind, s.control)
		}
	}

	// Credentials only by reference: the examples hold some.
	if !bytes.Contains(data, []byte("token: env:")) {
		t.Errorf("no example shows a credential reference")
	}
}
