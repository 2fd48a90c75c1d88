package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/notify"
)

// binary finds a program from a Debian package. Without it the test skips,
// unless CI=true, where a missing component is a failure: CI installs
// them (scripts/deps.sh).
func binary(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (apt-get install %s, or run scripts/deps.sh)", names[0], pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
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

// amNotification is what Alertmanager's webhook receiver posts.
type amNotification struct {
	Status string `json:"status"`
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// startAlertmanager runs Debian's Alertmanager 0.25 on a loopback port,
// without clustering, routing every alert to hook (with resolved
// notifications), grouping each alert alone and waiting a second.
func startAlertmanager(t *testing.T, hook string) string {
	t.Helper()
	bin := binary(t, "prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, rampart_alert]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, hook)
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"), // #nosec G204 -- the test's own command line
		"--storage.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "alertmanager.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("alertmanager log:\n%s", b)
		}
	})
	base := "http://" + addr
	waitFor(t, "Alertmanager to be ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// activeAlerts queries Alertmanager's API v2 for the active alerts named
// alertname.
func activeAlerts(t *testing.T, base, alertname string) []map[string]any {
	t.Helper()
	q := url.Values{"filter": {`alertname="` + alertname + `"`}, "active": {"true"}}
	resp, err := http.Get(base + "/api/v2/alerts?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v2/alerts: %d %s", resp.StatusCode, b)
	}
	var out []map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A real Alertmanager receives Rampart's alert for an expired
// certificate, and after the fix no longer holds it as active and
// notifies it resolved.
func TestRealAlertmanagerFiresAndResolves(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var notes []amNotification
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n amNotification
		if err := json.NewDecoder(r.Body).Decode(&n); err == nil {
			mu.Lock()
			notes = append(notes, n)
			mu.Unlock()
		}
	}))
	t.Cleanup(hook.Close)
	am := startAlertmanager(t, hook.URL+"/am")

	db := openStore(t, filepath.Join(t.TempDir(), "rampart.db"))
	cfg := rampart.NotifyConfig{
		ExternalURL: "https://rampart.example.com", ResendInterval: 10 * time.Second,
		Receivers: []rampart.Receiver{{Name: "alertmanager", Type: rampart.ReceiverAlertmanager, URL: am}},
		Routes:    []rampart.Route{{Receivers: []string{"alertmanager"}, Events: []rampart.EventKind{rampart.EventCertificateExpiring}}},
	}
	w := &notify.Watcher{
		Store: db, Controls: controls, Resources: []*rampart.Resource{shop, db1},
		AreaOfCheck: func(id string) string { return areaOf[id] },
	}
	d, err := dispatcher(db, cfg, nil, "one", time.Minute, w)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	scan(t, db, now, shop, result(shop, "TLS-EXPIRED", rampart.StatusFail, "leaf"))
	start(t, d)

	const name = "RampartCertificateExpiring"
	var alerts []map[string]any
	waitFor(t, "Alertmanager to hold the alert", func() bool {
		alerts = activeAlerts(t, am, name)
		return len(alerts) == 1
	})
	labels := alerts[0]["labels"].(map[string]any)
	status := alerts[0]["status"].(map[string]any)
	if labels["resource"] != "shop" || labels["severity"] != "critical" || labels["environment"] != "production" ||
		labels["rampart_alert"] != "certificate:shop" || status["state"] != "active" ||
		alerts[0]["generatorURL"] != "https://rampart.example.com/resources/shop" {
		t.Errorf("alert in Alertmanager = %v", alerts[0])
	}
	waitFor(t, "Alertmanager to notify it firing", func() bool { return notified(&mu, &notes, "firing", name) })

	// The fix: the certificate is renewed and the next scan passes.
	scan(t, db, time.Now(), shop, result(shop, "TLS-EXPIRED", rampart.StatusPass))
	d.Wake()
	waitFor(t, "Alertmanager to hold it no longer", func() bool { return len(activeAlerts(t, am, name)) == 0 })
	waitFor(t, "Alertmanager to notify it resolved", func() bool { return notified(&mu, &notes, "resolved", name) })
}

func notified(mu *sync.Mutex, notes *[]amNotification, status, alertname string) bool {
	mu.Lock()
	defer mu.Unlock()
	for _, n := range *notes {
		for _, a := range n.Alerts {
			if a.Status == status && a.Labels["alertname"] == alertname {
				return true
			}
		}
	}
	return false
}
