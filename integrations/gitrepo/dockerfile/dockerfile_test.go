package dockerfile_test

import (
	"flag"
	"testing"

	"github.com/rampart-dev/rampart/integrations/gitrepo/dockerfile"
	"github.com/rampart-dev/rampart/integrations/gitrepo/scantest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestChecks(t *testing.T) {
	scantest.Run(t, dockerfile.New(), "testdata", *update)
}

func TestPipesToShell(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		script string
		want   bool
	}{
		{"curl -fsSL https://x | sh", true},
		{"curl https://x|bash -s -- -y", true},
		{"wget -qO- https://x | sudo -E bash -", true},
		{"curl -sL https://x | /bin/sh", true},
		{"curl -sL https://x | env FOO=1 zsh", true},
		{`sh -c "$(curl -fsSL https://x)"`, true},
		{"bash <(curl -s https://x)", true},
		{"curl -fsSLo tool.tgz https://x && sha256sum -c tool.sha256", false},
		{"curl -s https://x | tar xz", false},
		{"curl -s https://x | shasum -a 256", false},
		{"echo curl | sh", false},
	} {
		if got := dockerfile.PipesToShell(tc.script); got != tc.want {
			t.Errorf("PipesToShell(%q) = %v, want %v", tc.script, got, tc.want)
		}
	}
}

func TestSecretName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"DB_PASSWORD", true},
		{"GITHUB_TOKEN", true},
		{"API_KEY", true},
		{"apikey", true},
		{"AWS_SECRET_ACCESS_KEY", true},
		{"SECRET_FILE", false},
		{"TOKEN_PATH", false},
		{"LOG_LEVEL", false},
		{"PASSWD", true},
	} {
		if got := dockerfile.SecretName(tc.name); got != tc.want {
			t.Errorf("SecretName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAllowedBase(t *testing.T) {
	t.Parallel()
	allowed := dockerfile.DefaultAllowedBaseImages
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"alpine", true},
		{"scratch", true},
		{"gcr.io/distroless/static", true},
		{"alpine-evil", false},
		{"ubuntu", false},
		{"gcr.io/distroless-fake/x", false},
	} {
		if got := dockerfile.AllowedBase(tc.name, allowed); got != tc.want {
			t.Errorf("AllowedBase(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add([]byte("FROM alpine:3.20\nUSER 1000\n"))
	f.Add([]byte("ARG B=alpine\nFROM ${B} AS x\nFROM x\nENV TOKEN=abc\nADD https://e.com/f /f\nRUN curl x | sh\nHEALTHCHECK NONE\n"))
	f.Add([]byte("FROM scratch\nRUN <<EOF\ncurl x | sh\nEOF\n"))
	f.Add([]byte("# escape=`\nFROM a\nRUN b `\n c\n"))
	f.Add([]byte("FROM\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a := dockerfile.Analyze(b)
		if a.Error == "" && len(a.Stages) == 0 {
			t.Fatal("a parsed Dockerfile has at least one stage")
		}
		for _, s := range a.Stages {
			if s.BaseStage >= len(a.Stages) {
				t.Fatalf("base stage %d out of range", s.BaseStage)
			}
		}
	})
}
