package kubernetes_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rampart-dev/rampart/integrations/kubernetes"
)

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"v1.30.4+rke2r1", "1.30", "v1.29.15+k3s1", "v1.30.2-eks-a737599", "v1", "", "v1.2.3.4.5", " v1.30 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := kubernetes.ParseVersion(s)
		if err != nil {
			return
		}
		// A parsed version is at least itself, and compares without error
		// against a well-formed one.
		if ok, err := kubernetes.AtLeast(s, s); err != nil || !ok {
			t.Fatalf("AtLeast(%q, itself) = %v, %v", s, ok, err)
		}
		if _, err := kubernetes.AtLeast(s, "v1.30"); err != nil {
			t.Fatalf("AtLeast(%q, v1.30): %v", s, err)
		}
		_ = v.String()
		_ = kubernetes.Distribution(s)
	})
}

func FuzzParseImage(f *testing.F) {
	for _, s := range []string{"nginx", "ghcr.io/acme/api:1.0", "registry.example.com:5000/a/b@sha256:" + sha, "localhost/x", "UPPER/case", "a//b", ":tag", ""} {
		f.Add(s, "ghcr.io/acme")
	}
	f.Fuzz(func(t *testing.T, image, allowed string) {
		img, err := kubernetes.ParseImage(image)
		if err != nil {
			return
		}
		if img.Registry == "" || !strings.HasPrefix(img.Repository, img.Registry+"/") {
			t.Fatalf("ParseImage(%q) = %+v: repository not under its registry", image, img)
		}
		// The image's own repository and registry always allow it.
		if !img.Allowed([]string{img.Repository}) || !img.Allowed([]string{img.Registry}) {
			t.Fatalf("ParseImage(%q) = %+v: not allowed by its own repository or registry", image, img)
		}
		_ = img.Allowed([]string{allowed})
	})
}

func FuzzLiteralSecret(f *testing.F) {
	for _, s := range [][2]string{{"DB_PASSWORD", "hunter2"}, {"DATABASE_URL", "postgres://a:b@h/d"}, {"X", "http://[::1"}, {"TOKEN_FILE", "/x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		why, ok := kubernetes.LiteralSecret(name, value)
		if ok != (why == "name" || why == "url") {
			t.Fatalf("LiteralSecret(%q, %q) = %q, %v", name, value, why, ok)
		}
	})
}

// FuzzCustomResources feeds arbitrary JSON objects to the readers of
// custom resources (policy reports, Ready conditions, Kyverno policies):
// whatever a cluster serves, they must not panic, and what they keep must
// be valid UTF-8 and bounded.
func FuzzCustomResources(f *testing.F) {
	f.Add(`{"kind":"PolicyReport","metadata":{"name":"r","namespace":"n"},"scope":{"kind":"Pod","name":"p","namespace":"n"},"results":[{"policy":"p","rule":"r","result":"fail","message":"m"}]}`)
	f.Add(`{"results":[{"result":"error","resources":[{"kind":"Deployment","name":"d"}, 7]}, "x", {"result":1}]}`)
	f.Add(`{"metadata":{"generation":3},"status":{"conditions":[{"type":"Ready","status":"False","message":"boom","observedGeneration":2}]}}`)
	f.Add(`{"spec":{"validationFailureAction":"Enforce","rules":[{"validate":{}}, 1, {"validate":{"failureAction":"Audit"}}],"validationActions":["Deny"]}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var obj map[string]any
		if err := json.Unmarshal([]byte(doc), &obj); err != nil {
			return
		}
		r, o, _ := kubernetes.ReadCustom(&unstructured.Unstructured{Object: obj})
		for _, x := range r.Failures {
			if !utf8.ValidString(x.Message) && utf8.ValidString(doc) {
				t.Fatalf("failure message is not valid UTF-8: %q", x.Message)
			}
			if len(x.Message) > 400 {
				t.Fatalf("failure message not clipped: %d bytes", len(x.Message))
			}
		}
		if len(o.Message) > 400 {
			t.Fatalf("condition message not clipped: %d bytes", len(o.Message))
		}
		for _, x := range r.Failures {
			if x.Result != "fail" && x.Result != "error" {
				t.Fatalf("failure kept with result %q", x.Result)
			}
		}
		if len(r.Failures) > 0 && r.Summary.Fail+r.Summary.Error == 0 {
			t.Fatalf("%d failures kept but none counted", len(r.Failures))
		}
	})
}
