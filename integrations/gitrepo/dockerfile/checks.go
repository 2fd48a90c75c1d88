package dockerfile

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampart-dev/rampart"
)

// Checks implements scan.Scanner.
func (Scanner) Checks() []*rampart.Check {
	return []*rampart.Check{
		RootUser, MultiStage, BaseImage, Digest, Latest, AddRemote, SecretEnv, CurlPipe, Healthcheck, Parse,
	}
}

func check(c rampart.Check, perFile func(f *File, allowed []string) []rampart.Finding) *rampart.Check {
	c.Version, c.Kind = 1, "git-repo"
	c.Run = rampart.Typed(func(_ context.Context, facts *Facts) rampart.Evaluation {
		if len(facts.Files) == 0 {
			return rampart.NotApplicable("no Dockerfile in the repository")
		}
		var findings []rampart.Finding
		parsed := 0
		for i := range facts.Files {
			f := &facts.Files[i]
			if f.Error != "" && c.ID != "DOCKER-PARSE" {
				continue
			}
			parsed++
			findings = append(findings, perFile(f, facts.AllowedBaseImages)...)
		}
		if parsed == 0 {
			return rampart.Errored(fmt.Errorf("none of the %d Dockerfiles could be parsed", len(facts.Files)))
		}
		return rampart.Verdict(findings, fmt.Sprintf("%d Dockerfiles", parsed))
	})
	return &c
}

func at(f *File, ln int, item, msg string, args ...any) rampart.Finding {
	return rampart.Finding{
		Item:     f.Path + ": " + item,
		Message:  fmt.Sprintf(msg, args...),
		Location: rampart.Location{Path: f.Path, Line: ln},
	}
}

func stageName(s *Stage, i int) string {
	if s.Name != "" {
		return fmt.Sprintf("stage %d (%s)", i+1, s.Name)
	}
	return fmt.Sprintf("stage %d", i+1)
}

// effective follows a stage's FROM through earlier stages to the first
// value get reports as set.
func effective(f *File, i int, get func(*Stage) (string, int)) (string, int, int) {
	for seen := 0; i >= 0 && seen <= len(f.Stages); seen++ {
		s := &f.Stages[i]
		if v, ln := get(s); v != "" {
			return v, ln, i
		}
		i = s.BaseStage
	}
	return "", 0, -1
}

// rootImage is the external image a stage is ultimately built on.
func rootImage(f *File, i int) (*Stage, int) {
	for seen := 0; i >= 0 && seen <= len(f.Stages); seen++ {
		if f.Stages[i].BaseStage < 0 {
			return &f.Stages[i], i
		}
		i = f.Stages[i].BaseStage
	}
	return nil, -1
}

func unresolvable(s *Stage) string {
	if len(s.Unresolved) > 0 {
		return fmt.Sprintf("base %q uses build argument %s without a default", s.Base, strings.Join(s.Unresolved, ", "))
	}
	return fmt.Sprintf("base %q is not an image reference", s.Base)
}

// IsRoot reports whether a USER value runs as root.
func IsRoot(user string) bool {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	return u == "" || u == "root" || u == "0"
}

// RootUser checks that the final stage runs as a non-root user.
var RootUser = check(rampart.Check{
	ID:       "DOCKER-ROOT-USER",
	Title:    "Image runs as a non-root user",
	Severity: rampart.SeverityHigh,
	Controls: []string{"IMG-02"},
	Remediation: "Add `USER <uid>` (a numeric non-zero uid, e.g. 65532) to the final stage, " +
		"after the steps that need root, or build on a `:nonroot` distroless image.",
	Doc: "Reads the final stage of each Dockerfile (and the stages it is built on) for the last USER " +
		"instruction. Without one the container runs as the image's default user, root for most bases; " +
		"USER root or 0 is root. Distroless `:nonroot` bases count as non-root.",
}, func(f *File, _ []string) []rampart.Finding {
	last := len(f.Stages) - 1
	user, ln, _ := effective(f, last, func(s *Stage) (string, int) { return s.User, s.UserLine })
	if user == "" {
		if base, _ := rootImage(f, last); base != nil && base.Image != nil && strings.Contains(base.Image.Tag, "nonroot") {
			return nil
		}
		return []rampart.Finding{at(f, f.Stages[last].Line, "final stage user",
			"the final stage sets no USER, so the container runs as root")}
	}
	if IsRoot(user) {
		return []rampart.Finding{at(f, ln, "final stage user", "the final stage runs as USER %s", user)}
	}
	return nil
})

// MultiStage checks that images are built in several stages.
var MultiStage = check(rampart.Check{
	ID:       "DOCKER-MULTI-STAGE",
	Title:    "Image is built in several stages",
	Severity: rampart.SeverityMedium,
	Controls: []string{"IMG-03"},
	Remediation: "Build in a first stage (`FROM golang:… AS build`) and copy only the artifacts into a " +
		"minimal final stage (`FROM gcr.io/distroless/static` or scratch).",
	Doc: "Counts the FROM instructions of each Dockerfile. A single-stage build ships its compilers, " +
		"package managers and build caches, enlarging the attack surface the seed asks to keep minimal.",
}, func(f *File, _ []string) []rampart.Finding {
	if len(f.Stages) < 2 {
		return []rampart.Finding{at(f, f.Stages[0].Line, "stages", "single-stage build")}
	}
	return nil
})

// AllowedBase reports whether an image name is on the allow-list: an entry
// ending in "/" is a prefix; another entry matches the name itself or
// anything under it.
func AllowedBase(name string, allowed []string) bool {
	for _, a := range allowed {
		switch {
		case strings.HasSuffix(a, "/") && strings.HasPrefix(name, a),
			name == a, strings.HasPrefix(name, a+"/"):
			return true
		}
	}
	return false
}

// BaseImage checks that what ships is built on an allowed base.
var BaseImage = check(rampart.Check{
	ID:       "DOCKER-BASE-IMAGE",
	Title:    "Final image built on an allowed base",
	Severity: rampart.SeverityMedium,
	Controls: []string{"IMG-03"},
	Remediation: "Base the final stage on scratch, Alpine or distroless (or a private image on the " +
		"register's `allowedBaseImages`); keep larger images in build stages.",
	Doc: "Follows the final stage's FROM back to the external image it is built on and compares its name " +
		"with the resource's allowedBaseImages (default: scratch, alpine, gcr.io/distroless/). An entry " +
		"ending in / is a prefix. Build stages are not held to the list: they do not ship.",
}, func(f *File, allowed []string) []rampart.Finding {
	base, i := rootImage(f, len(f.Stages)-1)
	if base == nil {
		return nil
	}
	if base.Image == nil {
		return []rampart.Finding{at(f, base.Line, "final base image", "%s", unresolvable(base))}
	}
	if !AllowedBase(base.Image.Name, allowed) {
		return []rampart.Finding{at(f, base.Line, "final base image",
			"%s builds the final image on %s, not on the allow-list (%s)", stageName(base, i), base.Image.Name, strings.Join(allowed, ", "))}
	}
	return nil
})

// Digest checks that every external base image is pinned by digest.
var Digest = check(rampart.Check{
	ID:       "DOCKER-DIGEST",
	Title:    "Base images pinned by digest",
	Severity: rampart.SeverityMedium,
	Controls: []string{"IMG-03"},
	Remediation: "Pin each FROM to a digest: `FROM alpine:3.20@sha256:…` (Renovate and Dependabot keep " +
		"digests current).",
	Doc: "Reads every FROM that names an external image (not scratch, not an earlier stage). A tag can be " +
		"moved to other content; a digest cannot, so builds are reproducible and a compromised tag is not " +
		"pulled silently. A FROM built from an argument without a default cannot be shown pinned.",
}, func(f *File, _ []string) []rampart.Finding {
	var out []rampart.Finding
	for i := range f.Stages {
		s := &f.Stages[i]
		switch {
		case s.BaseStage >= 0, s.Image != nil && s.Image.Name == "scratch":
		case s.Image == nil:
			out = append(out, at(f, s.Line, stageName(s, i)+" base", "%s: %s", stageName(s, i), unresolvable(s)))
		case s.Image.Digest == "":
			out = append(out, at(f, s.Line, stageName(s, i)+" base", "%s base %s is not pinned by digest", stageName(s, i), s.Image.Name))
		}
	}
	return out
})

// Latest checks that no base image floats on latest.
var Latest = check(rampart.Check{
	ID:          "DOCKER-LATEST",
	Title:       "No base image on the latest tag",
	Severity:    rampart.SeverityMedium,
	Controls:    []string{"IMG-03"},
	Remediation: "Name a version tag (and a digest) in every FROM instead of `latest` or no tag.",
	Doc: "Reads every FROM that names an external image: a `latest` tag, or no tag and no digest (which " +
		"Docker resolves to latest), changes under the build without notice.",
}, func(f *File, _ []string) []rampart.Finding {
	var out []rampart.Finding
	for i := range f.Stages {
		s := &f.Stages[i]
		if s.Image == nil || s.Image.Name == "scratch" {
			continue
		}
		if s.Image.Tag == "latest" || (s.Image.Tag == "" && s.Image.Digest == "") {
			out = append(out, at(f, s.Line, stageName(s, i)+" tag", "%s uses %s on the latest tag", stageName(s, i), s.Image.Name))
		}
	}
	return out
})

// AddRemote checks that ADD fetches nothing from the network.
var AddRemote = check(rampart.Check{
	ID:       "DOCKER-ADD-REMOTE",
	Title:    "No ADD of remote URLs",
	Severity: rampart.SeverityMedium,
	Controls: []string{"IMG-03"},
	Remediation: "Download in a build stage with a checksum check (`ADD --checksum=sha256:…` or " +
		"`curl -fsSLo f URL && sha256sum -c`) and COPY the verified file.",
	Doc: "Reads the sources of every ADD instruction. ADD of an http(s) or git URL pulls unverified content " +
		"into the image at build time; its credentials and query string are not kept in the facts.",
}, func(f *File, _ []string) []rampart.Finding {
	var out []rampart.Finding
	for i := range f.Stages {
		for _, r := range f.Stages[i].RemoteAdds {
			out = append(out, at(f, r.Line, "ADD "+r.URL, "ADD fetches %s at build time", r.URL))
		}
	}
	return out
})

// SecretEnv checks that no secrets are written into ENV or ARG.
var SecretEnv = check(rampart.Check{
	ID:       "DOCKER-SECRET-ENV",
	Title:    "No secrets in ENV or ARG",
	Severity: rampart.SeverityHigh,
	Controls: []string{"SC-07", "CRED-01"},
	Remediation: "Remove the value and pass the secret at build time with `RUN --mount=type=secret`, or at " +
		"run time from the orchestrator's secret store; rotate the exposed secret.",
	Doc: "Reads ENV and ARG instructions whose names suggest a secret (PASSWORD, TOKEN, SECRET, API_KEY, " +
		"ACCESS_KEY, PRIVATE_KEY, CREDENTIAL) and whose value is written out rather than a $VARIABLE. ENV " +
		"values stay in the image's configuration and ARG values in its history. Values are never recorded.",
}, func(f *File, _ []string) []rampart.Finding {
	var out []rampart.Finding
	for i := range f.Stages {
		for _, v := range f.Stages[i].SecretVars {
			out = append(out, at(f, v.Line, v.Instruction+" "+v.Name, "%s %s holds a literal value", v.Instruction, v.Name))
		}
	}
	return out
})

// CurlPipe checks that nothing downloaded is run unverified.
var CurlPipe = check(rampart.Check{
	ID:       "DOCKER-CURL-PIPE",
	Title:    "No download piped into a shell",
	Severity: rampart.SeverityHigh,
	Controls: []string{"IMG-03"},
	Remediation: "Download to a file, verify its checksum or signature, then run it; better, install from " +
		"the distribution's package manager.",
	Doc: "Reads RUN instructions (and their heredocs) for curl or wget output piped into sh, bash or " +
		"another shell, or a shell run on a `$(curl …)` / `<(curl …)` substitution.",
}, func(f *File, _ []string) []rampart.Finding {
	var out []rampart.Finding
	for i := range f.Stages {
		for k, ln := range f.Stages[i].PipeToShell {
			out = append(out, at(f, ln, fmt.Sprintf("%s RUN pipe to shell #%d", stageName(&f.Stages[i], i), k+1),
				"RUN pipes a download into a shell"))
		}
	}
	return out
})

// Healthcheck checks that the image declares how to tell it is healthy.
var Healthcheck = check(rampart.Check{
	ID:       "DOCKER-HEALTHCHECK",
	Title:    "Image declares a HEALTHCHECK",
	Severity: rampart.SeverityLow,
	Controls: []string{"IMG-03"},
	Remediation: "Add `HEALTHCHECK CMD …` to the final stage, or suppress this check with a reason when " +
		"the orchestrator probes the container (Kubernetes ignores HEALTHCHECK).",
	Doc: "Reads the final stage and the stages it is built on for a HEALTHCHECK; `HEALTHCHECK NONE` " +
		"counts as none.",
}, func(f *File, _ []string) []rampart.Finding {
	last := len(f.Stages) - 1
	hc, ln, _ := effective(f, last, func(s *Stage) (string, int) { return s.Healthcheck, s.HealthcheckLine })
	switch hc {
	case "":
		return []rampart.Finding{at(f, f.Stages[last].Line, "healthcheck", "the final stage declares no HEALTHCHECK")}
	case "none":
		return []rampart.Finding{at(f, ln, "healthcheck", "HEALTHCHECK NONE turns the health check off")}
	}
	return nil
})

// Parse checks that every Dockerfile parses.
var Parse = check(rampart.Check{
	ID:          "DOCKER-PARSE",
	Title:       "Dockerfile parses",
	Severity:    rampart.SeverityMedium,
	Controls:    []string{"IMG-03"},
	Remediation: "Fix the syntax error BuildKit reports; until then no other Dockerfile check can read the file.",
	Doc:         "Parses each Dockerfile with BuildKit's parser. A file that does not parse cannot be checked.",
}, func(f *File, _ []string) []rampart.Finding {
	if f.Error != "" {
		return []rampart.Finding{at(f, f.ErrorLine, "parse", "does not parse: %s", f.Error)}
	}
	return nil
})
