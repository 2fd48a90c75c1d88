// Command web is the load benchmark of `rampart serve`: it generates a
// large store (2,000 resources, 300 checks, a year of daily results),
// and, from its own process, loads a running server on loopback with 50
// and 200 concurrent clients, reporting throughput, p50 and p99 latency
// of the overview page, the task list and the results API against a
// baseline measured in the same run (/healthz and a static asset), and
// the server's peak RSS. bench/web/run.sh runs the whole of it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: web gen|load [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		fs := flag.NewFlagSet("gen", flag.ExitOnError)
		var o genOptions
		fs.StringVar(&o.dir, "dir", "bench/web/data", "where to write rampart.yaml, checks.yaml and rampart.db")
		fs.IntVar(&o.resources, "resources", 2000, "resources in the register")
		fs.IntVar(&o.checks, "checks", 300, "CEL checks, spread over 15 kinds")
		fs.IntVar(&o.days, "days", 365, "days of daily scans")
		_ = fs.Parse(os.Args[2:])
		err = generate(ctx, o)
	case "load":
		fs := flag.NewFlagSet("load", flag.ExitOnError)
		var o loadOptions
		fs.StringVar(&o.base, "url", "http://127.0.0.1:8080", "the server")
		fs.StringVar(&o.user, "user", "bench", "user to sign in as")
		fs.StringVar(&o.password, "password", "", "their password")
		fs.StringVar(&o.token, "token", "", "an API token for the results API")
		fs.IntVar(&o.pid, "pid", 0, "the server's process id, for its peak RSS")
		fs.IntVar(&o.resources, "resources", 2000, "resources to pick from for the results API")
		fs.StringVar(&o.levels, "concurrency", "50,200", "concurrent clients, comma-separated")
		fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario and level")
		fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured time before each")
		fs.StringVar(&o.only, "only", "", "run only the scenarios whose name holds this")
		_ = fs.Parse(os.Args[2:])
		err = load(ctx, o)
	default:
		err = fmt.Errorf("unknown mode %q (want gen or load)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/web:", err)
		os.Exit(1)
	}
}

type loadOptions struct {
	base, user, password, token string
	pid, resources              int
	levels, only                string
	duration, warmup            time.Duration
}

type scenario struct {
	name     string
	baseline bool
	req      func(r *rand.Rand) *http.Request
}

type stats struct {
	n, errors     int
	rps           float64
	p50, p99, max time.Duration
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn signs in through the form, as a browser does, and returns the
// session cookie.
func signIn(ctx context.Context, base, user, password string) (*http.Cookie, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/login", nil)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("no sign-in form at %s/login", base)
	}
	form := url.Values{"username": {user}, "password": {password}, "csrf_token": {string(m[1])}}
	req, _ = http.NewRequestWithContext(ctx, "POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if strings.HasSuffix(ck.Name, "rampart_session") {
			return ck, nil
		}
	}
	return nil, fmt.Errorf("sign-in as %s: status %d and no session", user, resp.StatusCode)
}

func load(ctx context.Context, o loadOptions) error {
	session, err := signIn(ctx, o.base, o.user, o.password)
	if err != nil {
		return err
	}
	get := func(path string, auth func(*http.Request)) func(*rand.Rand) *http.Request {
		return func(*rand.Rand) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "GET", o.base+path, nil)
			if auth != nil {
				auth(req)
			}
			return req
		}
	}
	cookie := func(r *http.Request) { r.AddCookie(session) }
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+o.token) }
	scenarios := []scenario{
		{name: "GET /healthz (baseline)", baseline: true, req: get("/healthz", nil)},
		{name: "GET /static/app.css (baseline)", baseline: true, req: get("/static/app.css", nil)},
		{name: "GET / (overview page, session)", req: get("/", cookie)},
		{name: "GET /tasks (task list page, session)", req: get("/tasks", cookie)},
		{name: "GET /api/v1/results?resource=… (token)", req: func(r *rand.Rand) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/results?resource=res-%04d", o.base, 1+r.IntN(o.resources)), nil)
			bearer(req)
			return req
		}},
	}
	var levels []int
	for _, s := range strings.Split(o.levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad concurrency %q", s)
		}
		levels = append(levels, n)
	}
	fmt.Printf("| scenario | clients | requests | errors | req/s | p50 | p99 | max | server RSS after |\n")
	fmt.Printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, c := range levels {
		for _, sc := range scenarios {
			if o.only != "" && !strings.Contains(sc.name, o.only) {
				continue
			}
			st, err := run(ctx, sc, c, o.warmup, o.duration)
			if err != nil {
				return err
			}
			fmt.Printf("| %s | %d | %d | %d | %.0f | %s | %s | %s | %s |\n", sc.name, c, st.n, st.errors, st.rps,
				ms(st.p50), ms(st.p99), ms(st.max), rss(o.pid, "VmRSS"))
		}
	}
	fmt.Printf("\nServer peak RSS (VmHWM) over the whole run: %s. Load generator: %s, GOMAXPROCS %d.\n",
		rss(o.pid, "VmHWM"), runtime.Version(), runtime.GOMAXPROCS(0))
	return nil
}

// run drives one scenario with c clients in a closed loop (each sends its
// next request when the last is answered) for d after a warm-up.
func run(ctx context.Context, sc scenario, c int, warmup, d time.Duration) (stats, error) {
	tr := &http.Transport{MaxIdleConns: c * 2, MaxIdleConnsPerHost: c * 2, MaxConnsPerHost: 0, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	phase := func(dur time.Duration, record bool) {
		end := time.Now().Add(dur)
		var wg sync.WaitGroup
		for w := range c {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				var mine []time.Duration
				bad := 0
				for time.Now().Before(end) && ctx.Err() == nil {
					req := sc.req(r)
					t0 := time.Now()
					resp, err := client.Do(req)
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("status %d", resp.StatusCode)
						}
					}
					el := time.Since(t0)
					if err != nil {
						bad++
						continue
					}
					mine = append(mine, el)
				}
				if record {
					mu.Lock()
					lat = append(lat, mine...)
					errs += bad
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	phase(warmup, false)
	start := time.Now()
	phase(d, true)
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return stats{}, ctx.Err()
	}
	if len(lat) == 0 {
		return stats{}, fmt.Errorf("%s: no successful request (%d errors)", sc.name, errs)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return stats{n: len(lat), errors: errs, rps: float64(len(lat)) / elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99), max: lat[len(lat)-1]}, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// rss reads a memory figure of the server from /proc.
func rss(pid int, field string) string {
	if pid == 0 {
		return "?"
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.Atoi(f[0])
				return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
			}
		}
	}
	return "?"
}
