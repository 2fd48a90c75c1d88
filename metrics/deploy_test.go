package metrics_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart/metrics"
)

const (
	rulesFile     = "../deploy/prometheus/rampart-rules.yml"
	operatorFile  = "../deploy/prometheus/rampart-prometheusrule.yaml"
	rulesTestFile = "../deploy/prometheus/tests/rampart-rules.test.yml"
	dashboardFile = "../deploy/grafana/rampart-overview.json"
)

func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary(t, "prometheus", "promtool"), args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// Both shipped rule files pass promtool, and hold the same rules.
func TestShippedRules(t *testing.T) {
	t.Parallel()
	promtool(t, ".", "check", "rules", rulesFile)

	crd := readYAML(t, operatorFile)
	if crd["apiVersion"] != "monitoring.coreos.com/v1" || crd["kind"] != "PrometheusRule" {
		t.Errorf("%s: apiVersion %v kind %v", operatorFile, crd["apiVersion"], crd["kind"])
	}
	spec, _ := crd["spec"].(map[string]any)
	extracted, err := yaml.Marshal(map[string]any{"groups": spec["groups"]})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "from-prometheusrule.yml")
	if err := os.WriteFile(path, extracted, 0o600); err != nil {
		t.Fatal(err)
	}
	promtool(t, ".", "check", "rules", path)
	plain := readYAML(t, rulesFile)
	if !reflect.DeepEqual(plain["groups"], spec["groups"]) {
		t.Errorf("the PrometheusRule's spec.groups differ from %s", rulesFile)
	}
}

// A rule fires on recorded series, as the test file under
// deploy/prometheus/tests says.
func TestRulesFireOnRecordedSeries(t *testing.T) {
	t.Parallel()
	promtool(t, filepath.Dir(rulesTestFile), "test", "rules", filepath.Base(rulesTestFile))
}

var metricRef = regexp.MustCompile(`\brampart_[a-z_]+\b`)

// documented reports whether a metric name (or a histogram's series) is
// in docs/metrics.md, which TestMetricsLint holds to the collector.
func documented(t *testing.T, doc, name string) bool {
	t.Helper()
	for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && strings.Contains(doc, "`"+base+"`") {
			return true
		}
	}
	return false
}

func TestRulesAndDashboardUseDocumentedMetrics(t *testing.T) {
	t.Parallel()
	docb, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(docb)
	for _, f := range []string{rulesFile, dashboardFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricRef.FindAllString(string(b), -1) {
			if !documented(t, doc, name) {
				t.Errorf("%s uses %s, which Rampart does not export", f, name)
			}
		}
	}
	for _, alert := range regexp.MustCompile(`alert: (\w+)`).FindAllStringSubmatch(mustRead(t, rulesFile), -1) {
		if !strings.Contains(doc, "`"+alert[1]+"`") {
			t.Errorf("alert %s is not in docs/metrics.md", alert[1])
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

// The dashboard is Grafana dashboard JSON of schema version 39 or later,
// with a Prometheus data source variable every panel uses, panels that do
// not overlap, and queries that are valid PromQL.
func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	var d struct {
		UID           string  `json:"uid"`
		Title         string  `json:"title"`
		SchemaVersion int     `json:"schemaVersion"`
		Panels        []panel `json:"panels"`
		Templating    struct {
			List []struct {
				Name, Type, Query string
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal([]byte(mustRead(t, dashboardFile)), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.SchemaVersion < 39 || d.UID == "" || d.Title == "" {
		t.Errorf("schemaVersion %d, uid %q, title %q", d.SchemaVersion, d.UID, d.Title)
	}
	hasVar := false
	for _, v := range d.Templating.List {
		hasVar = hasVar || v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}
	if !hasVar {
		t.Errorf("no Prometheus datasource variable named datasource")
	}
	ids := map[int]bool{}
	var cells [][24]bool // occupied grid cells, by row
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
			continue
		}
		for y := g.Y; y < g.Y+g.H; y++ {
			for len(cells) <= y {
				cells = append(cells, [24]bool{})
			}
			for x := g.X; x < g.X+g.W; x++ {
				if cells[y][x] {
					t.Errorf("panel %q overlaps another at %d,%d", p.Title, x, y)
				}
				cells[y][x] = true
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			n++
			expr := strings.ReplaceAll(tg.Expr, "$__rate_interval", "5m")
			fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %q\n", n, expr)
		}
	}
	// promtool parses each query as a recording rule's expression.
	path := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	promtool(t, ".", "check", "rules", "--lint=none", path)
}

// A real Prometheus (Debian's 2.42) scrapes Rampart's /metrics on
// loopback, stores its series and evaluates the shipped rules on them.
func TestRealPrometheusScrapes(t *testing.T) {
	t.Parallel()
	bin := binary(t, "prometheus", "prometheus")
	e := newEstate(t)
	target := httptest.NewServer(metrics.Handler(e.db, e.cat, e.cfg))
	t.Cleanup(target.Close)

	dir := t.TempDir()
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: rampart
    static_configs:
      - targets: [%q]
`, rules, strings.TrimPrefix(target.URL, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.CommandContext(t.Context(), bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), // #nosec G204 -- the test's own command line
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr,
		"--rules.alert.resend-delay=1s", "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	base := "http://" + addr

	var vector struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	// Prometheus applies discovered targets every five seconds.
	waitFor(t, "Prometheus to have scraped Rampart", func() bool {
		if err := apiGet(base+"/api/v1/query?query="+url.QueryEscape(`rampart_control_status{control="PKI-01",status="fail"}`), &vector); err != nil {
			return false
		}
		return len(vector.Result) == 1
	}, func() string {
		var targets, series any
		_ = apiGet(base+"/api/v1/targets", &targets)
		_ = apiGet(base+"/api/v1/query?query="+url.QueryEscape(`count by (__name__) ({job="rampart"})`), &series)
		return fmt.Sprintf("targets: %v; series: %v", targets, series)
	})
	if got := vector.Result[0]; got.Metric["job"] != "rampart" || got.Metric["area"] != "security/pki" || got.Value[1] != "1" {
		t.Errorf("series in Prometheus = %+v", got)
	}
	// Every shipped rule evaluates without error on the real series, and
	// the certificate rule has picked up shop's expired certificate.
	var groups struct {
		Groups []struct {
			Rules []struct {
				Name   string `json:"name"`
				Health string `json:"health"`
				Error  string `json:"lastError"`
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			} `json:"rules"`
		} `json:"groups"`
	}
	certPending := func() bool {
		for _, r := range groups.Groups[0].Rules {
			for _, a := range r.Alerts {
				if r.Name == "RampartCertificateExpiringSoon" && a.Labels["resource"] == "shop" {
					return true
				}
			}
		}
		return false
	}
	waitFor(t, "the rules to be evaluated on the scraped series", func() bool {
		if err := apiGet(base+"/api/v1/rules", &groups); err != nil || len(groups.Groups) == 0 {
			return false
		}
		for _, r := range groups.Groups[0].Rules {
			if r.Health != "ok" {
				return false
			}
		}
		return certPending()
	}, func() string { return fmt.Sprintf("rules: %+v", groups) })
}

func apiGet(u string, data any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return err
	}
	if env.Status != "success" {
		return fmt.Errorf("status %s", env.Status)
	}
	return json.Unmarshal(env.Data, data)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, what string, cond func() bool, explain ...func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var why []string
			for _, e := range explain {
				why = append(why, e())
			}
			t.Fatalf("timed out waiting for %s %s", what, strings.Join(why, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
