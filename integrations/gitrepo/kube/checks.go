package kube

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"

	"github.com/rampart-dev/rampart"
)

const kind rampart.Kind = "git-repo"

const docPage = " See docs/integrations/kubernetes-manifests.md."

// Checks returns the scanner's checks, in the order they are documented.
func Checks() []*rampart.Check {
	return []*rampart.Check{
		HelmLint, PSSBaseline, PSSRestricted, Resources, ReadOnlyRootFS, ImageTag,
		ImageRegistry, Probes, EnvSecrets, SAToken, NetworkPolicy, ServiceExposed, Parse,
	}
}

// Parse reports manifests and objects that could not be read.
var Parse = &rampart.Check{
	ID: "K8S-PARSE", Version: 1, Kind: kind,
	Title:    "Kubernetes manifests parse",
	Severity: rampart.SeverityMedium,
	Controls: []string{"K8S-02"},
	Doc: "Reports YAML files holding Kubernetes objects (apiVersion and kind) that are not valid " +
		"YAML, at the line the parser names, and workloads that do not decode into their " +
		"k8s.io/api type (a string where a number belongs, a list where a map does). The other " +
		"checks skip what could not be read; charts that do not load or render are HELM-LINT's." + docPage,
	Remediation: "Fix the YAML; `kubectl apply --dry-run=client -f FILE` shows the same errors.",
	Run:         rampart.Typed(runParse),
}

// HelmLint reports Helm's chart linter and rendering errors.
var HelmLint = &rampart.Check{
	ID: "HELM-LINT", Version: 1, Kind: kind,
	Title:    "Helm charts pass helm lint and render",
	Severity: rampart.SeverityMedium,
	Controls: []string{"HELM-01"},
	Doc: "Runs the Helm SDK's chart linter (helm.sh/helm/v3 pkg/lint, what `helm lint` runs: " +
		"Chart.yaml, values and their schema, templates, dependencies, deprecated APIs) on every " +
		"chart, with its default values and with each values file the resource names for it " +
		"(`valuesFiles`), and renders the chart as `helm template` would. Errors are high, " +
		"warnings medium; informational messages are left out. A rendering error is a finding " +
		"here, at the template line Helm names." + docPage,
	Remediation: "Run `helm lint <chart> [-f values.yaml]` and fix what it reports; keep it in CI.",
	Run:         rampart.Typed(runHelmLint),
}

// PSSBaseline evaluates workloads against the baseline Pod Security Standard.
var PSSBaseline = &rampart.Check{
	ID: "K8S-PSS-BASELINE", Version: 1, Kind: kind,
	Title:    "Workloads meet the baseline Pod Security Standard",
	Severity: rampart.SeverityHigh,
	Controls: []string{"K8S-01", "IMG-02", "HELM-01"},
	Doc: "Evaluates the pod template of every workload (Pod, Deployment, StatefulSet, DaemonSet, " +
		"ReplicaSet, ReplicationController, Job, CronJob) in manifests and rendered charts with " +
		"k8s.io/pod-security-admission, the code the API server's admission runs, at the latest " +
		"baseline policy: no privileged containers, host namespaces, hostPath volumes, host ports, " +
		"added capabilities beyond the default set, unsafe sysctls, /proc mount, SELinux or " +
		"AppArmor overrides, unconfined seccomp. One finding per workload and violated check." + docPage,
	Remediation: "Remove the privilege the finding names from the pod spec (or the chart values " +
		"that set it); label namespaces pod-security.kubernetes.io/enforce: baseline at least.",
	Run: rampart.Typed(runPSS(api.LevelBaseline)),
}

// PSSRestricted evaluates workloads against the restricted checks.
var PSSRestricted = &rampart.Check{
	ID: "K8S-PSS-RESTRICTED", Version: 1, Kind: kind,
	Title:    "Workloads meet the restricted Pod Security Standard",
	Severity: rampart.SeverityMedium,
	Controls: []string{"K8S-01", "IMG-02", "HELM-01"},
	Doc: "Evaluates every workload's pod template with k8s.io/pod-security-admission against " +
		"the checks the restricted policy adds to baseline: runAsNonRoot, no privilege " +
		"escalation, all capabilities dropped (NET_BIND_SERVICE alone may be added), a " +
		"RuntimeDefault or Localhost seccomp profile, restricted volume types, and a non-zero " +
		"runAsUser. One finding per workload and violated check." + docPage,
	Remediation: "Set securityContext: runAsNonRoot: true, allowPrivilegeEscalation: false, " +
		"capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}.",
	Run: rampart.Typed(runPSS(api.LevelRestricted)),
}

// Resources requires requests and limits.
var Resources = &rampart.Check{
	ID: "K8S-RESOURCES", Version: 1, Kind: kind,
	Title:    "Containers set CPU and memory requests and limits",
	Severity: rampart.SeverityMedium,
	Controls: []string{"K8S-02"},
	Doc: "Reads resources.requests and resources.limits of every container and init container. " +
		"Without requests the scheduler places pods blind; without limits one pod can starve " +
		"its node (memory) or its neighbours (CPU)." + docPage,
	Remediation: "Set resources.requests.cpu/memory and resources.limits.cpu/memory on every container.",
	Run:         rampart.Typed(runResources),
}

// ReadOnlyRootFS requires a read-only root filesystem.
var ReadOnlyRootFS = &rampart.Check{
	ID: "K8S-READONLY-ROOTFS", Version: 1, Kind: kind,
	Title:    "Containers run with a read-only root filesystem",
	Severity: rampart.SeverityMedium,
	Controls: []string{"K8S-01", "IMG-02"},
	Doc: "Reads securityContext.readOnlyRootFilesystem of every container and init container. " +
		"A writable root filesystem lets an intruder change binaries and drop tools." + docPage,
	Remediation: "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the " +
		"application must write.",
	Run: rampart.Typed(runReadOnlyRootFS),
}

// ImageTag forbids latest and untagged images.
var ImageTag = &rampart.Check{
	ID: "K8S-IMAGE-TAG", Version: 1, Kind: kind,
	Title:    "Images are pinned by tag or digest, never latest",
	Severity: rampart.SeverityMedium,
	Controls: []string{"K8S-02", "IMG-03"},
	Doc: "Parses every container image reference (github.com/distribution/reference). An image " +
		"with no tag or tagged latest changes under the same manifest, so what runs is neither " +
		"reviewed nor reproducible; an image pinned by digest passes whatever its tag." + docPage,
	Remediation: "Pin the image to a version tag, better to a digest (`image: repo@sha256:…`).",
	Run:         rampart.Typed(runImageTag),
}

// ImageRegistry restricts image registries.
var ImageRegistry = &rampart.Check{
	ID: "K8S-IMAGE-REGISTRY", Version: 1, Kind: kind,
	Title:    "Images come from allowed (private) registries",
	Severity: rampart.SeverityMedium,
	Controls: []string{"IMG-03", "K8S-02"},
	Doc: "Reads the registry and repository of every container image. With `allowedRegistries` " +
		"set on the resource, images must start with one of its prefixes (\"registry.example.com\", " +
		"\"ghcr.io/acme\"). Without it, images from Docker Hub (docker.io, including unqualified " +
		"names like nginx) are findings: the seed asks for private images only." + docPage,
	Remediation: "Mirror or rebuild the image into the company's registry and reference it from there.",
	Run:         rampart.Typed(runImageRegistry),
}

// Probes requires liveness and readiness probes.
var Probes = &rampart.Check{
	ID: "K8S-PROBES", Version: 1, Kind: kind,
	Title:    "Long-running containers have liveness and readiness probes",
	Severity: rampart.SeverityLow,
	Controls: []string{"K8S-02"},
	Doc: "Reads livenessProbe and readinessProbe of the containers of long-running workloads " +
		"(not Jobs and CronJobs, not init containers). Without them a hung process keeps its " +
		"traffic and is never restarted." + docPage,
	Remediation: "Add livenessProbe and readinessProbe (httpGet, grpc, tcpSocket or exec).",
	Run:         rampart.Typed(runProbes),
}

// EnvSecrets finds literal secrets in environment variables.
var EnvSecrets = &rampart.Check{
	ID: "K8S-ENV-SECRETS", Version: 1, Kind: kind,
	Title:    "No literal secrets in container environment variables",
	Severity: rampart.SeverityHigh,
	Controls: []string{"K8S-07", "CRED-01"},
	Doc: "Reads env of every container: a variable whose name says it holds a secret (PASSWORD, " +
		"SECRET, TOKEN, KEY, CREDENTIAL, …; not names ending in FILE, PATH, NAME, URL, …) set by " +
		"a literal `value:` rather than valueFrom. The value is never read into the facts, " +
		"printed or stored: it is replaced by \"(redacted)\" while reading." + docPage,
	Remediation: "Move the value into a Secret (through External Secrets Operator from the " +
		"secrets manager) and use valueFrom.secretKeyRef; rotate the value that was committed.",
	Run: rampart.Typed(runEnvSecrets),
}

// SAToken requires the service-account token not to be mounted.
var SAToken = &rampart.Check{
	ID: "K8S-SA-TOKEN", Version: 1, Kind: kind,
	Title:    "Pods do not mount a service-account token they do not need",
	Severity: rampart.SeverityMedium,
	Controls: []string{"K8S-06"},
	Doc: "Reads automountServiceAccountToken of every pod spec. Unless it is false (on the pod, " +
		"or unset on the pod and false on its ServiceAccount defined in the same manifests or " +
		"chart), every container gets a token for the Kubernetes API, which an intruder can " +
		"use with whatever RBAC grants the account." + docPage,
	Remediation: "Set automountServiceAccountToken: false on the pod spec (or its ServiceAccount) " +
		"unless the application calls the Kubernetes API.",
	Run: rampart.Typed(runSAToken),
}

// NetworkPolicy requires a NetworkPolicy in every namespace with workloads.
var NetworkPolicy = &rampart.Check{
	ID: "K8S-NETPOL", Version: 1, Kind: kind,
	Title:    "Namespaces with workloads have a NetworkPolicy",
	Severity: rampart.SeverityMedium,
	Controls: []string{"K8S-05"},
	Doc: "Groups workloads by namespace (objects without one are in the namespace they are " +
		"applied to, reported as default), for the repository's manifests together and for each " +
		"chart rendering, and requires a NetworkPolicy in the same namespace, in that set or in " +
		"the repository's manifests (where a namespace's default-deny policy often lives). " +
		"Without one, every pod accepts traffic from anywhere in the cluster." + docPage,
	Remediation: "Add a default-deny NetworkPolicy to the namespace and allow the flows the " +
		"workloads need.",
	Run: rampart.Typed(runNetworkPolicy),
}

// ServiceExposed finds Services exposed outside the cluster.
var ServiceExposed = &rampart.Check{
	ID: "K8S-SERVICE-EXPOSED", Version: 1, Kind: kind,
	Title:    "Services are not exposed through LoadBalancer or NodePort",
	Severity: rampart.SeverityMedium,
	Controls: []string{"K8S-05", "FW-04"},
	Doc: "Reads spec.type of every Service. LoadBalancer and NodePort Services open a port " +
		"outside the cluster, past the ingress controller, the WAF and their logs." + docPage,
	Remediation: "Use type ClusterIP behind an Ingress or Gateway; when a LoadBalancer is " +
		"required, restrict loadBalancerSourceRanges and record the exception.",
	Run: rampart.Typed(runServiceExposed),
}

// objectSet is objects deployed together: the repository's manifests,
// or one rendering of a chart.
type objectSet struct {
	// chart labels a chart rendering ("charts/app", "charts/app (values
	// prod.yaml)"); empty for manifests.
	chart   string
	objects []*Object
}

// origin is the first part of an object's items: its file, or its chart.
func (s *objectSet) origin(o *Object) string {
	if s.chart != "" {
		return s.chart
	}
	return o.Path
}

func (s *objectSet) item(o *Object, detail string) string {
	return fmt.Sprintf("%s/%s/%s/%s: %s", s.origin(o), o.Kind, o.namespace(), o.Name, detail)
}

func (f *Facts) sets() []objectSet {
	var m objectSet
	for _, mf := range f.Manifests {
		m.objects = append(m.objects, mf.Objects...)
	}
	out := []objectSet{m}
	for _, c := range f.Charts {
		for _, r := range c.Renders {
			label := c.Dir
			if r.Values != "" {
				label += " (values " + r.Values + ")"
			}
			out = append(out, objectSet{chart: label, objects: r.Objects})
		}
	}
	return out
}

// unreadable counts what could not be read: manifests and objects (the
// findings of K8S-PARSE) and charts that neither load nor render with any
// values set (HELM-LINT's). A values set that does not render deploys
// nothing and is HELM-LINT's finding alone.
func (f *Facts) unreadable() (n int, first string) {
	add := func(s string) {
		if n == 0 {
			first = s
		}
		n++
	}
	for _, m := range f.Manifests {
		if m.Error != "" {
			add(fmt.Sprintf("%s:%d: %s", m.Path, m.ErrorLine, m.Error))
		}
		for _, o := range m.Objects {
			if o.Error != "" {
				add(fmt.Sprintf("%s:%d: %s", o.Path, o.Line, o.Error))
			}
		}
	}
	for _, c := range f.Charts {
		switch {
		case c.Error != "":
			add(fmt.Sprintf("chart %s: %s", c.Dir, c.Error))
		case !slices.ContainsFunc(c.Renders, func(r *Render) bool { return r.Error == "" }):
			add(fmt.Sprintf("chart %s: %s", c.Dir, c.Renders[0].Error))
		}
	}
	return n, first
}

type collector struct {
	list []rampart.Finding
	seen map[string]int
}

// add places a finding at the first of the object's parts found.
func (c *collector) add(o *Object, item, msg string, sev *rampart.Severity, parts ...string) {
	c.addAt(o.Path, o.line(parts...), item, msg, sev)
}

func (c *collector) addAt(path string, line int, item, msg string, sev *rampart.Severity) {
	if c.seen == nil {
		c.seen = map[string]int{}
	}
	c.seen[item]++
	if n := c.seen[item]; n > 1 {
		item = fmt.Sprintf("%s (%d)", item, n)
	}
	c.list = append(c.list, rampart.Finding{
		Item: item, Message: msg, Severity: sev,
		Location: rampart.Location{Path: path, Line: line},
	})
}

// scope says what a check reads, for its not-applicable and pass reasons.
type scope int

const (
	anyObjects scope = iota
	workloads
	charts
	parse
)

// verdict fails with the findings. What could not be read is skipped
// (K8S-PARSE and HELM-LINT report it); when nothing the check reads could
// be read, it cannot tell.
func verdict(f *Facts, sc scope, c *collector, pass string) rampart.Evaluation {
	var objs, pods int
	for _, s := range f.sets() {
		for _, o := range s.objects {
			if o.Error != "" {
				continue
			}
			objs++
			if o.Pod != nil {
				pods++
			}
		}
	}
	switch {
	case sc == charts && len(f.Charts) == 0:
		return rampart.NotApplicable("no Helm charts")
	case sc != charts && len(f.Manifests) == 0 && len(f.Charts) == 0:
		return rampart.NotApplicable("no Kubernetes manifests or Helm charts")
	case len(c.list) > 0:
		return rampart.Failed(c.list...)
	}
	bad, first := f.unreadable()
	skipped := ""
	if bad > 0 {
		skipped = fmt.Sprintf("; %d unreadable manifest(s), object(s) or chart(s) skipped (see K8S-PARSE, HELM-LINT)", bad)
	}
	switch {
	case sc == charts:
		return rampart.Pass(fmt.Sprintf("%d chart(s): %s", len(f.Charts), pass))
	case sc == parse:
		return rampart.Pass(fmt.Sprintf("%d object(s) read", objs))
	case objs == 0 && bad > 0:
		more := ""
		if bad > 1 {
			more = fmt.Sprintf(" (and %d more)", bad-1)
		}
		return rampart.Errored(fmt.Errorf("nothing could be read: %s%s", first, more))
	case sc == workloads && pods == 0:
		return rampart.NotApplicable("no workloads in the manifests and charts" + skipped)
	case sc == workloads:
		return rampart.Pass(fmt.Sprintf("%d workload(s): %s%s", pods, pass, skipped))
	}
	return rampart.Pass(fmt.Sprintf("%d object(s): %s%s", objs, pass, skipped))
}

func severity(s rampart.Severity) *rampart.Severity { return &s }

func runHelmLint(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	for _, ch := range f.Charts {
		if ch.Error != "" {
			c.addAt(ch.Dir+"/Chart.yaml", 0, ch.Dir+": chart: "+ch.Error, "the chart cannot be loaded: "+ch.Error, severity(rampart.SeverityHigh))
		}
		for _, m := range ch.Lint {
			sev := severity(rampart.SeverityMedium)
			if m.Severity == "ERROR" {
				sev = severity(rampart.SeverityHigh)
			}
			msg := "[" + m.Severity + "] " + m.Message
			if m.Values != "" {
				msg += " (with values " + m.Values + ")"
			}
			c.addAt(m.Path, m.Line, ch.Dir+": "+strings.TrimPrefix(m.Path, ch.Dir+"/")+": "+shorten(m.Message), msg, sev)
		}
	}
	return verdict(f, charts, &c, "helm lint reports no warning or error, and every values set renders")
}

// shorten keeps items readable and free of run-specific detail.
func shorten(s string) string {
	const n = 120
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func runPSS(level api.Level) func(context.Context, *Facts) rampart.Evaluation {
	return func(_ context.Context, f *Facts) rampart.Evaluation {
		var c collector
		for _, s := range f.sets() {
			for _, o := range s.objects {
				if o.Pod == nil {
					continue
				}
				vs, err := violations(level, o.Pod)
				if err != nil {
					return rampart.Errored(err)
				}
				for _, v := range vs {
					msg := v.reason
					if v.detail != "" {
						msg += " (" + v.detail + ")"
					}
					c.add(o, s.item(o, v.id), fmt.Sprintf("%s %s violates Pod Security %s: %s", o.Kind, o.Name, level, msg), nil, pssParts(v)...)
				}
			}
		}
		return verdict(f, workloads, &c, "all meet the "+string(level)+" Pod Security Standard")
	}
}

var namedContainer = regexp.MustCompile(`containers? "([^"]+)"`)

// pssParts are where a violation is in the pod spec: the field for the
// pod-level checks, else the first container the detail names.
func pssParts(v violation) []string {
	var parts []string
	switch v.id {
	case "hostNamespaces":
		parts = []string{"pod/hostNetwork", "pod/hostPID", "pod/hostIPC"}
	case "hostPathVolumes", "restrictedVolumes":
		parts = []string{"pod/volumes"}
	case "sysctls":
		parts = []string{"pod/securityContext"}
	}
	if m := namedContainer.FindStringSubmatch(v.detail); m != nil {
		parts = append(parts, "container/"+m[1]+"/securityContext", "container/"+m[1])
	}
	return append(parts, "pod/securityContext")
}

func eachContainer(f *Facts, fn func(s *objectSet, o *Object, ct *corev1.Container, init bool)) {
	for _, s := range f.sets() {
		for _, o := range s.objects {
			if o.Pod == nil {
				continue
			}
			for i := range o.Pod.Spec.InitContainers {
				fn(&s, o, &o.Pod.Spec.InitContainers[i], true)
			}
			for i := range o.Pod.Spec.Containers {
				fn(&s, o, &o.Pod.Spec.Containers[i], false)
			}
		}
	}
}

func runResources(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	eachContainer(f, func(s *objectSet, o *Object, ct *corev1.Container, _ bool) {
		var missing []string
		for _, want := range []struct {
			list corev1.ResourceList
			name string
			res  corev1.ResourceName
		}{
			{ct.Resources.Requests, "requests.cpu", corev1.ResourceCPU},
			{ct.Resources.Requests, "requests.memory", corev1.ResourceMemory},
			{ct.Resources.Limits, "limits.cpu", corev1.ResourceCPU},
			{ct.Resources.Limits, "limits.memory", corev1.ResourceMemory},
		} {
			if _, ok := want.list[want.res]; !ok {
				missing = append(missing, want.name)
			}
		}
		if len(missing) > 0 {
			c.add(o, s.item(o, "container "+ct.Name), fmt.Sprintf("container %s of %s %s sets no %s", ct.Name, o.Kind, o.Name, strings.Join(missing, ", ")), nil,
				"container/"+ct.Name+"/resources", "container/"+ct.Name)
		}
	})
	return verdict(f, workloads, &c, "every container sets requests and limits")
}

func runReadOnlyRootFS(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	eachContainer(f, func(s *objectSet, o *Object, ct *corev1.Container, _ bool) {
		if sc := ct.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			c.add(o, s.item(o, "container "+ct.Name), fmt.Sprintf("container %s of %s %s has a writable root filesystem", ct.Name, o.Kind, o.Name), nil,
				"container/"+ct.Name+"/securityContext", "container/"+ct.Name)
		}
	})
	return verdict(f, workloads, &c, "every container has a read-only root filesystem")
}

func runImageTag(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	eachContainer(f, func(s *objectSet, o *Object, ct *corev1.Container, _ bool) {
		problem := ""
		ref, err := reference.ParseNormalizedNamed(ct.Image)
		switch {
		case err != nil:
			problem = fmt.Sprintf("has an image reference that does not parse (%q: %v)", ct.Image, err)
		default:
			_, digested := ref.(reference.Digested)
			tagged, hasTag := ref.(reference.Tagged)
			switch {
			case digested:
			case !hasTag:
				problem = "uses image " + ct.Image + " with no tag or digest, which means latest"
			case tagged.Tag() == "latest":
				problem = "uses image " + ct.Image + " tagged latest"
			}
		}
		if problem != "" {
			c.add(o, s.item(o, "container "+ct.Name), fmt.Sprintf("container %s of %s %s %s", ct.Name, o.Kind, o.Name, problem), nil,
				"container/"+ct.Name+"/image", "container/"+ct.Name)
		}
	})
	return verdict(f, workloads, &c, "every image pinned by tag or digest, none latest")
}

// registryPrefix normalizes an allow-list entry to a prefix of fully
// qualified image names: a host ("registry.example.com", "localhost:5000")
// or a path under one ("ghcr.io/acme"); a bare path is on Docker Hub.
func registryPrefix(entry string) string {
	e := strings.TrimSuffix(strings.TrimSpace(entry), "/")
	first, _, _ := strings.Cut(e, "/")
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return e
	}
	return "docker.io/" + e
}

func runImageRegistry(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	prefixes := make([]string, len(f.AllowedRegistries))
	for i, r := range f.AllowedRegistries {
		prefixes[i] = registryPrefix(r)
	}
	eachContainer(f, func(s *objectSet, o *Object, ct *corev1.Container, _ bool) {
		ref, err := reference.ParseNormalizedNamed(ct.Image)
		if err != nil {
			return // K8S-IMAGE-TAG reports it
		}
		name := ref.Name() // fully qualified, without tag or digest
		var problem string
		if len(prefixes) > 0 {
			allowed := slices.ContainsFunc(prefixes, func(p string) bool {
				return name == p || strings.HasPrefix(name, p+"/")
			})
			if !allowed {
				problem = fmt.Sprintf("comes from %s, outside the allowed registries (%s)", reference.Domain(ref), strings.Join(f.AllowedRegistries, ", "))
			}
		} else if reference.Domain(ref) == "docker.io" {
			problem = "comes from Docker Hub, a public registry; only private images are allowed"
		}
		if problem != "" {
			c.add(o, s.item(o, "container "+ct.Name), fmt.Sprintf("image %s of container %s (%s %s) %s", ct.Image, ct.Name, o.Kind, o.Name, problem), nil,
				"container/"+ct.Name+"/image", "container/"+ct.Name)
		}
	})
	pass := "no image from Docker Hub"
	if len(prefixes) > 0 {
		pass = "every image from " + strings.Join(f.AllowedRegistries, ", ")
	}
	return verdict(f, workloads, &c, pass)
}

func runProbes(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	eachContainer(f, func(s *objectSet, o *Object, ct *corev1.Container, init bool) {
		if init || o.Kind == "Job" || o.Kind == "CronJob" {
			return
		}
		var missing []string
		if ct.LivenessProbe == nil {
			missing = append(missing, "livenessProbe")
		}
		if ct.ReadinessProbe == nil {
			missing = append(missing, "readinessProbe")
		}
		if len(missing) > 0 {
			c.add(o, s.item(o, "container "+ct.Name), fmt.Sprintf("container %s of %s %s has no %s", ct.Name, o.Kind, o.Name, strings.Join(missing, " and ")), nil,
				"container/"+ct.Name)
		}
	})
	return verdict(f, workloads, &c, "every long-running container has liveness and readiness probes")
}

func runEnvSecrets(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	eachContainer(f, func(s *objectSet, o *Object, ct *corev1.Container, _ bool) {
		for i := range ct.Env {
			if e := &ct.Env[i]; literalSecret(e) {
				// The value is never part of the message: only the name.
				c.add(o, s.item(o, "container "+ct.Name+" env "+e.Name), fmt.Sprintf(
					"container %s of %s %s sets %s from a literal value in the repository; use valueFrom.secretKeyRef", ct.Name, o.Kind, o.Name, e.Name), nil,
					"env/"+ct.Name+"/"+e.Name, "container/"+ct.Name)
			}
		}
	})
	return verdict(f, workloads, &c, "no secret-looking variable set from a literal")
}

func runSAToken(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	for _, s := range f.sets() {
		// ServiceAccounts of the set, by namespace/name.
		accounts := map[string]*bool{}
		for _, o := range s.objects {
			if o.Kind == "ServiceAccount" {
				accounts[o.namespace()+"/"+o.Name] = o.AutomountToken
			}
		}
		for _, o := range s.objects {
			if o.Pod == nil {
				continue
			}
			if a := o.Pod.Spec.AutomountServiceAccountToken; a != nil {
				if !*a {
					continue
				}
			} else {
				sa := o.Pod.Spec.ServiceAccountName
				if sa == "" {
					sa = "default"
				}
				if a := accounts[o.namespace()+"/"+sa]; a != nil && !*a {
					continue
				}
			}
			c.add(o, s.item(o, "automountServiceAccountToken"), fmt.Sprintf(
				"%s %s mounts a service-account token; set automountServiceAccountToken: false unless it calls the Kubernetes API", o.Kind, o.Name), nil,
				"pod/automountServiceAccountToken")
		}
	}
	return verdict(f, workloads, &c, "no pod mounts a service-account token by default")
}

func runNetworkPolicy(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	sets := f.sets()
	// The repository's manifests are sets[0]; their policies cover charts too.
	shared := map[string]bool{}
	for _, o := range sets[0].objects {
		if o.Kind == "NetworkPolicy" {
			shared[o.namespace()] = true
		}
	}
	for _, s := range sets {
		covered := map[string]bool{}
		for _, o := range s.objects {
			if o.Kind == "NetworkPolicy" {
				covered[o.namespace()] = true
			}
		}
		// The first workload of each namespace (or the Namespace object)
		// places the finding.
		first := map[string]*Object{}
		var order []string
		for _, o := range s.objects {
			if o.Pod == nil || covered[o.namespace()] || shared[o.namespace()] {
				continue
			}
			if _, ok := first[o.namespace()]; !ok {
				order = append(order, o.namespace())
				first[o.namespace()] = o
			}
		}
		for _, o := range s.objects {
			if o.Kind == "Namespace" && first[o.Name] != nil {
				first[o.Name] = o
			}
		}
		for _, ns := range order {
			o := first[ns]
			prefix := ""
			if s.chart != "" {
				prefix = s.chart + "/"
			}
			c.add(o, prefix+"Namespace/"+ns+": no NetworkPolicy", fmt.Sprintf(
				"namespace %s has workloads but no NetworkPolicy, so its pods accept traffic from anywhere in the cluster", ns), nil)
		}
	}
	return verdict(f, workloads, &c, "every namespace with workloads has a NetworkPolicy")
}

func runServiceExposed(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	for _, s := range f.sets() {
		for _, o := range s.objects {
			if o.Kind == "Service" && (o.ServiceType == "LoadBalancer" || o.ServiceType == "NodePort") {
				c.add(o, s.item(o, "type "+o.ServiceType), fmt.Sprintf("Service %s is of type %s, reachable from outside the cluster", o.Name, o.ServiceType), nil,
					"service/type")
			}
		}
	}
	return verdict(f, anyObjects, &c, "no Service of type LoadBalancer or NodePort")
}

func runParse(_ context.Context, f *Facts) rampart.Evaluation {
	var c collector
	for _, m := range f.Manifests {
		if m.Error != "" {
			c.addAt(m.Path, m.ErrorLine, m.Path+": invalid YAML", "invalid YAML: "+m.Error, nil)
		}
		for _, o := range m.Objects {
			if o.Error != "" {
				c.add(o, o.Path+"/"+o.Kind+"/"+o.namespace()+"/"+o.Name+": does not decode", o.Error, nil)
			}
		}
	}
	return verdict(f, parse, &c, "")
}
