package scantest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Estate sizes a generated repository tree.
type Estate struct {
	Manifests   int // Kubernetes manifests, one Deployment and one Service each
	Charts      int // Helm charts, each with a deployment template
	Terraform   int // .tf files, ten to a module directory
	Workflows   int // GitHub Actions workflows
	Dockerfiles int
	Other       int // source files the scanners other than secrets skip
}

// Generate writes a deterministic tree of the given size under dir, with
// the usual mix of good and bad practice, for benchmarks. It returns the
// number of files written.
func Generate(dir string, e Estate) (int, error) {
	n := 0
	write := func(name, content string) error {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			return err
		}
		n++
		return os.WriteFile(p, []byte(content), 0o600)
	}
	for i := range e.Manifests {
		if err := write(fmt.Sprintf("k8s/app%03d/deploy%d.yaml", i/100, i), manifest(i)); err != nil {
			return n, err
		}
	}
	for i := range e.Charts {
		c := fmt.Sprintf("charts/chart%d", i)
		files := map[string]string{
			c + "/Chart.yaml":                "apiVersion: v2\nname: chart" + fmt.Sprint(i) + "\nversion: 0.1.0\nappVersion: \"1.0\"\n",
			c + "/values.yaml":               "image:\n  repository: registry.example.com/app\n  tag: \"1.0\"\nprivileged: " + fmt.Sprint(i%10 == 0) + "\n",
			c + "/templates/deployment.yaml": chartTemplate,
		}
		for name, content := range files {
			if err := write(name, content); err != nil {
				return n, err
			}
		}
	}
	for i := range e.Terraform {
		if err := write(fmt.Sprintf("terraform/mod%03d/f%d.tf", i/10, i), terraformFile(i)); err != nil {
			return n, err
		}
	}
	for i := range e.Workflows {
		if err := write(fmt.Sprintf(".github/workflows/wf%d.yml", i), workflowFile(i)); err != nil {
			return n, err
		}
	}
	for i := range e.Dockerfiles {
		if err := write(fmt.Sprintf("services/svc%d/Dockerfile", i), dockerfile(i)); err != nil {
			return n, err
		}
	}
	for i := range e.Other {
		if err := write(fmt.Sprintf("src/pkg%d/file%d.go", i/50, i), fmt.Sprintf("package pkg\n\n// F%d does nothing.\nfunc F%d() int { return %d }\n", i, i, i)); err != nil {
			return n, err
		}
	}
	return n, nil
}

func manifest(i int) string {
	priv := "false"
	if i%20 == 0 {
		priv = "true"
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app%[1]d
  namespace: team%[2]d
spec:
  replicas: 2
  selector:
    matchLabels: {app: app%[1]d}
  template:
    metadata:
      labels: {app: app%[1]d}
    spec:
      containers:
        - name: app
          image: registry.example.com/app%[1]d:1.%[1]d
          securityContext:
            privileged: %[3]s
            runAsNonRoot: true
          resources:
            requests: {cpu: 10m, memory: 32Mi}
            limits: {cpu: 100m, memory: 64Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: app%[1]d
  namespace: team%[2]d
spec:
  selector: {app: app%[1]d}
  ports: [{port: 80}]
`, i, i%10, priv)
}

const chartTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          securityContext:
            privileged: {{ .Values.privileged }}
`

func terraformFile(i int) string {
	var b strings.Builder
	if i%10 == 0 {
		fmt.Fprintf(&b, "terraform {\n  required_version = \"1.5.7\"\n  required_providers {\n    github = { source = \"integrations/github\" }\n  }\n}\n\n")
	}
	fmt.Fprintf(&b, `resource "github_repository" "r%[1]d" {
  name                 = "repo-%[1]d"
  visibility           = "%[2]s"
  vulnerability_alerts = true
}

module "m%[1]d" {
  source = "git::https://github.com/example/mod.git?ref=v1.%[1]d.0"
}
`, i, map[bool]string{true: "public", false: "private"}[i%7 == 0])
	return b.String()
}

func workflowFile(i int) string {
	pin := "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"
	if i%5 == 0 {
		pin = "actions/checkout@v4"
	}
	return fmt.Sprintf(`name: ci%d
on: [push, pull_request]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: %s
        with:
          persist-credentials: false
      - run: go test ./...
`, i, pin)
}

func dockerfile(i int) string {
	user := "USER 65532"
	if i%4 == 0 {
		user = ""
	}
	return fmt.Sprintf(`FROM golang:1.26@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef AS build
WORKDIR /src
COPY . .
RUN go build -o /out/svc%d ./cmd/svc

FROM gcr.io/distroless/static@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
COPY --from=build /out/svc%d /svc
%s
ENTRYPOINT ["/svc"]
`, i, i, user)
}

// GenerateHistory makes dir a git repository whose main branch has the
// given number of commits, each changing one of a few hundred files, with
// git fast-import (seconds for ten thousand commits). Every 500th commit
// adds a line shaped like a leaked token, so that the secret scanner has
// work; the token is generated, not a real credential.
func GenerateHistory(dir string, commits int) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if out, err := gitCmd(dir, nil, "init", "-q", "-b", "main"); err != nil {
		return fmt.Errorf("git init: %w: %s", err, out)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		out, err := gitCmd(dir, r, "fast-import", "--quiet")
		if err != nil {
			err = fmt.Errorf("git fast-import: %w: %s", err, out)
		}
		done <- err
	}()
	bw := bufio.NewWriterSize(w, 1<<20)
	for i := range commits {
		content := fmt.Sprintf("// revision %d\npackage p%d\n", i, i%300)
		if i%500 == 0 {
			content += fmt.Sprintf("const token = \"ghp_%036d\"\n", i)
		}
		msg := fmt.Sprintf("change %d", i)
		fmt.Fprintf(bw, "commit refs/heads/main\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n",
			i+1, 1700000000+i*60, len(msg), msg)
		if i > 0 {
			fmt.Fprintf(bw, "from :%d\n", i)
		}
		fmt.Fprintf(bw, "M 644 inline src/p%d/file.go\ndata %d\n%s\n", i%300, len(content), content)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := <-done; err != nil {
		return err
	}
	if out, err := gitCmd(dir, nil, "checkout", "-q", "-f", "main"); err != nil {
		return fmt.Errorf("git checkout: %w: %s", err, out)
	}
	return nil
}

func gitCmd(dir string, stdin *os.File, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(context.Background(), "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = GitEnv()
	if stdin != nil {
		cmd.Stdin = stdin
	}
	return cmd.CombinedOutput()
}
