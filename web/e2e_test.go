package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/rampart-dev/rampart"
)

// chromiumPath finds Debian's Chromium. On CI (CI=true) a missing browser
// fails the test: the end-to-end test must run there.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("RAMPART_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: run scripts/deps.sh (apt-get install chromium)")
	}
	t.Skip("chromium is not installed: run scripts/deps.sh (apt-get install chromium) to run the end-to-end test")
	return ""
}

// screenshots is where the end-to-end test saves its pictures:
// $RAMPART_SCREENSHOTS, or a temporary folder.
func screenshots(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RAMPART_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserEndToEnd walks the dashboard in a real headless Chromium as
// a person would: sign in, see the overview, open a failing control, open
// its evidence, accept the risk of a finding with an exception, see the
// task leave the open column, complete an overdue review with an uploaded
// file, sign out. Screenshots of each step are
// saved, and the page's console is watched for Content-Security-Policy
// violations (an inline script or style would show there).
func TestBrowserEndToEnd(t *testing.T) {
	chromium := chromiumPath(t)
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	dir := screenshots(t)

	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	var mu sync.Mutex
	var violations []string
	if err := chromedp.Listen(ctx, func(ev any) {
		var text string
		switch e := ev.(type) {
		case *log.EventEntryAdded:
			text = e.Entry.Text
		case *runtime.EventConsoleAPICalled:
			for _, a := range e.Args {
				text += string(a.Value) + " " + a.Description
			}
		case *runtime.EventExceptionThrown:
			text = "exception: " + e.ExceptionDetails.Text
		}
		if strings.Contains(text, "Content Security Policy") || strings.HasPrefix(text, "exception") {
			mu.Lock()
			violations = append(violations, text)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}

	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
		}
		if err != nil {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	must := func(name string, err error) {
		t.Helper()
		if err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			shot("failed-" + name)
			t.Fatalf("%s (at %s): %v\nserver log:\n%s", name, loc, err, lastLines(f.logs.String(), 15))
		}
	}
	do := func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		must(name, chromedp.Do(ctx, steps...))
	}
	text := func(name string, sel chromedp.CSS) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		must(name, err)
		return v
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Location())
		must("location", err)
		return v
	}

	// Sign in: the dashboard sends an anonymous visitor to /login.
	do("open", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("username")))
	if loc := location(); !strings.Contains(loc, "/login?next=") {
		t.Errorf("an anonymous visit to / landed on %s, want the sign-in page", loc)
	}
	shot("01-sign-in")
	do("sign in",
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("h-ready")),
	)

	// The overview: readiness, the failing controls, certificates. The
	// first Tab reaches the skip link.
	do("tab", chromedp.KeyEvent(kb.Tab))
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`))
	must("focus", err)
	if focused != "skip" {
		t.Errorf("the first Tab focuses %q, want the skip link", focused)
	}
	failing := text("failing controls", "#failing-controls")
	certs := text("certificates", "#h-certs + table")
	shot("02-overview")
	if !strings.Contains(failing, "PKI-01") || !strings.Contains(certs, "legacy-tls") {
		t.Errorf("overview: failing controls %q, certificates %q; want PKI-01 and legacy-tls", failing, certs)
	}

	// A failing control, then the evidence behind its failing result.
	do("control",
		chromedp.Click(chromedp.Search(`//ul[@id="failing-controls"]//a[contains(., "PKI-01")]`)),
		chromedp.WaitVisible(chromedp.ID("control-status")),
	)
	if st := text("control status", "#control-status"); st != "fail" {
		t.Errorf("control status %q, want fail", st)
	}
	shot("03-control")
	do("evidence",
		chromedp.Click(chromedp.CSS(`tr.row-fail a.evidence-link`)),
		chromedp.WaitVisible(chromedp.ID("evidence-sha256")),
	)
	sha := text("evidence hash", "#evidence-sha256")
	facts := text("evidence content", "#evidence-content")
	shot("04-evidence")
	if sha != f.evidence || !strings.Contains(facts, `"subject": "legacy.demo.test"`) {
		t.Errorf("evidence page: hash %q (want %s), facts %q", sha, f.evidence, first(facts, 200))
	}

	// The board: accept the risk of the first open task.
	do("board", chromedp.Navigate(ts.URL+"/tasks/board"), chromedp.WaitVisible(chromedp.CSS("#col-open .task-card")))
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#col-open .task-card"), "data-task"))
	must("first open task", err)
	if !attr.Exists || attr.Value == "" {
		t.Fatal("no open task on the board")
	}
	id := attr.Value
	card := "#task-" + id
	shot("05-board-before")
	do("accept form",
		chromedp.Click(chromedp.CSS(card+" details.accept summary")),
		chromedp.WaitVisible(chromedp.ID("reason-"+id)),
		chromedp.SendKeys(chromedp.ID("reason-"+id), "replacement certificate ordered"),
		chromedp.SendKeys(chromedp.ID("approver-"+id), "ciso"),
		chromedp.SetValue(chromedp.ID("expires-"+id), time.Now().AddDate(0, 1, 0).Format(time.DateOnly)),
	)
	shot("06-accept-form")
	do("accept risk",
		chromedp.Click(chromedp.CSS(card+" details.accept button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#col-accepted "+card)),
	)
	shot("07-board-after")
	still, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("#col-open "+card), chromedp.AtLeast(0)))
	must("open column", err)
	if len(still) != 0 {
		t.Errorf("task %s is still in the open column", id)
	}
	exc, err := f.db.Exceptions(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(exc) != 1 || exc[0].Reason != "replacement certificate ordered" || exc[0].CreatedBy != "user:alice" || exc[0].Fingerprint == "" {
		t.Errorf("exceptions after accepting the risk: %+v", exc)
	}

	// A periodic review: overdue on the overview, completed with an
	// uploaded file through its form, gone from the overview after.
	do("overview with an overdue review", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("overdue-reviews")))
	if od := text("overdue reviews", "#overdue-reviews"); !strings.Contains(od, "PROC-03") {
		t.Errorf("overdue reviews on the overview: %q, want PROC-03", od)
	}
	reviewsCard, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.Search(`//section[@aria-labelledby="h-reviews"]`)))
	must("overdue reviews card", err)
	if err := os.WriteFile(filepath.Join(dir, "08-overview-overdue-reviews.png"), reviewsCard, 0o644); err != nil {
		t.Error(err)
	}
	upload := filepath.Join(t.TempDir(), "well-architected-2026.csv")
	if err := os.WriteFile(upload, []byte("pillar,finding\nsecurity,none open\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	do("review",
		chromedp.Click(chromedp.Search(`//ul[@id="overdue-reviews"]//a[contains(., "PROC-03")]`)),
		chromedp.WaitVisible(chromedp.ID("complete")),
		chromedp.SendKeys(chromedp.ID("statement"), "Reviewed the pillars with the platform team; no high-risk issue."),
		chromedp.SetUploadFiles(chromedp.ID("evidence-files"), []string{upload}),
	)
	shot("09-review-form")
	do("complete review",
		chromedp.Click(chromedp.CSS(`#complete button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("done")),
	)
	if ev := text("review evidence", "#evidence"); !strings.Contains(ev, "well-architected-2026.csv") {
		t.Errorf("the completed review's evidence: %q", ev)
	}
	if st := text("review state", "#review-state"); st != "completed" {
		t.Errorf("review state %q, want completed", st)
	}
	shot("10-review-completed")
	do("overview after the review", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("h-reviews")))
	left, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.ID("overdue-reviews"), chromedp.AtLeast(0)))
	must("overdue list", err)
	if len(left) != 0 {
		t.Errorf("the overview still lists overdue reviews after the completion")
	}
	do("reviews page", chromedp.Click(chromedp.Search(`//nav[@aria-label="Main"]//a[.="Reviews"]`)), chromedp.WaitVisible(chromedp.ID("reviews")))
	shot("11-reviews")

	// A phone-sized overview, for the record.
	do("phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("h-ready")),
	)
	shot("12-phone-overview")
	do("phone board", chromedp.Navigate(ts.URL+"/tasks/board"), chromedp.WaitVisible(chromedp.ID("board")))
	shot("13-phone-board")
	do("desktop", chromedp.EmulateViewport(1280, 900))

	// Sign out: back to the sign-in page, and the dashboard is closed.
	do("sign out",
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("sign-out")),
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.Navigate(ts.URL+"/tasks/board"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
	)
	shot("14-signed-out")
	if loc := location(); !strings.Contains(loc, "/login") {
		t.Errorf("after signing out, the board is at %s, want the sign-in page", loc)
	}
	entries, err := f.db.AuditLog(t.Context(), rampart.AuditFilter{Actor: "user:alice"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.Source == "" {
			t.Errorf("audit entry %d (%s) has no source address", e.Seq, e.Action)
		}
	}
	if got := strings.Join(actions, " "); got != "user.login exception.create review.complete user.logout" {
		t.Errorf("alice's audit trail: %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, v := range violations {
		t.Errorf("browser console: %s", v)
	}
	t.Logf("screenshots in %s", dir)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
