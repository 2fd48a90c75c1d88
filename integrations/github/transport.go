package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxRetries bounds how often one request is retried after a rate limit.
const maxRetries = 3

// secondaryDefaultWait is GitHub's advice when a secondary limit names no
// Retry-After: wait at least a minute.
const secondaryDefaultWait = time.Minute

// transport is the http.RoundTripper under go-github and the GraphQL
// client. It authenticates, makes GETs conditional on the ETag it kept,
// paces itself on GitHub's rate-limit headers, retries after secondary
// limits, and counts what was spent.
type transport struct {
	base http.RoundTripper
	// auth returns the Authorization header value.
	auth func(ctx context.Context) (string, error)
	// store keeps ETags; nil sends unconditional requests.
	store *store
	// cred names the credential in cache keys (never the secret).
	cred    string
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	maxWait time.Duration
	sem     chan struct{}

	mu     sync.Mutex
	limits map[string]rateState
	scopes []string
	scoped bool // GitHub sent X-OAuth-Scopes

	requests, rest, graphql, notModified atomic.Int64
	restPoints, graphqlPoints, retries   atomic.Int64
	objectsCached, waited                atomic.Int64
}

// rateState is the last word GitHub gave on one rate-limit resource.
type rateState struct {
	limit, remaining int
	reset            time.Time
}

func newTransport(base http.RoundTripper, concurrency int) *transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{
		base:    base,
		auth:    func(context.Context) (string, error) { return "", nil },
		now:     time.Now,
		sleep:   sleepCtx,
		maxWait: DefaultMaxWait,
		sem:     make(chan struct{}, max(1, concurrency)),
		limits:  map[string]rateState{},
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// resourceOf is the rate-limit resource a request counts against.
func resourceOf(req *http.Request) string {
	if strings.HasSuffix(req.URL.Path, "/graphql") {
		return "graphql"
	}
	return "core"
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	resource := resourceOf(req)
	var (
		key    string
		cached *etagEntry
	)
	if req.Method == http.MethodGet && t.store != nil {
		key = t.cred + "\n" + req.Header.Get("Accept") + "\n" + req.URL.String()
		cached = t.store.etag(key)
	}
	for attempt := 0; ; attempt++ {
		if err := t.pace(ctx, resource); err != nil {
			return nil, err
		}
		out := req.Clone(ctx)
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("replay %s %s: %w", req.Method, req.URL.Path, err)
			}
			out.Body = body
		}
		auth, err := t.auth(ctx)
		if err != nil {
			return nil, err
		}
		if auth != "" {
			out.Header.Set("Authorization", auth)
		}
		if cached != nil {
			out.Header.Set("If-None-Match", cached.ETag)
		}
		select {
		case t.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		resp, err := t.base.RoundTrip(out)
		<-t.sem
		if err != nil {
			return nil, err
		}
		t.requests.Add(1)
		if resource == "graphql" {
			t.graphql.Add(1)
		} else {
			t.rest.Add(1)
		}
		t.observe(resource, resp.Header)

		if resp.StatusCode == http.StatusNotModified && cached != nil {
			drain(resp)
			t.notModified.Add(1)
			return replay(req, resp, cached), nil
		}
		if resource == "core" {
			// Every REST answer but a 304 is billed, errors included.
			t.restPoints.Add(1)
		}
		if (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) && attempt < maxRetries {
			wait, limited, err := t.retryDelay(resp)
			if err != nil {
				return nil, err
			}
			if limited {
				drain(resp)
				t.retries.Add(1)
				if err := t.wait(ctx, wait, "GitHub's secondary rate limit"); err != nil {
					return nil, err
				}
				continue
			}
		}
		if resp.StatusCode == http.StatusOK && key != "" {
			if etag := resp.Header.Get("ETag"); etag != "" {
				body, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if err != nil {
					return nil, fmt.Errorf("read %s: %w", req.URL.Path, err)
				}
				t.store.putETag(key, &etagEntry{
					ETag: etag, Link: resp.Header.Get("Link"),
					ContentType: resp.Header.Get("Content-Type"), Body: body,
				})
				resp.Body = io.NopCloser(bytes.NewReader(body))
			}
		}
		return resp, nil
	}
}

// replay turns a 304 into the 200 it stands for, with the cached body and
// pagination links and the 304's fresh rate-limit headers.
func replay(req *http.Request, notModified *http.Response, e *etagEntry) *http.Response {
	h := notModified.Header.Clone()
	if e.ContentType != "" {
		h.Set("Content-Type", e.ContentType)
	}
	if h.Get("Link") == "" && e.Link != "" {
		h.Set("Link", e.Link)
	}
	h.Set("ETag", e.ETag)
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK,
		Proto: notModified.Proto, ProtoMajor: notModified.ProtoMajor, ProtoMinor: notModified.ProtoMinor,
		Header: h, Body: io.NopCloser(bytes.NewReader(e.Body)),
		ContentLength: int64(len(e.Body)), Request: req,
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// observe keeps the rate-limit headers of a response, and the token's
// scopes when GitHub lists them.
func (t *transport) observe(resource string, h http.Header) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if scopes, ok := h["X-Oauth-Scopes"]; ok {
		t.scoped = true
		t.scopes = parseScopes(strings.Join(scopes, ","))
	}
	rem, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err2 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	if r := h.Get("X-RateLimit-Resource"); r != "" {
		resource = r
	}
	limit, _ := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	t.limits[resource] = rateState{limit: limit, remaining: rem, reset: time.Unix(reset, 0)}
}

// reserve is how many requests pacing keeps in hand: one percent of the
// limit, at least one, so that other clients of the same token are not
// starved the moment Rampart is done.
func reserve(limit int) int { return max(1, limit/100) }

// pace sleeps until the resource's window resets when little is left.
func (t *transport) pace(ctx context.Context, resource string) error {
	t.mu.Lock()
	st, ok := t.limits[resource]
	t.mu.Unlock()
	if !ok || st.remaining > reserve(st.limit) {
		return nil
	}
	d := st.reset.Sub(t.now()) + time.Second
	if d <= 0 {
		return nil
	}
	if err := t.wait(ctx, d, fmt.Sprintf("GitHub's %s rate limit (%d of %d left)", resource, st.remaining, st.limit)); err != nil {
		return err
	}
	t.mu.Lock()
	// The window has reset; the next response will say how much is left.
	if cur := t.limits[resource]; cur.reset.Equal(st.reset) {
		delete(t.limits, resource)
	}
	t.mu.Unlock()
	return nil
}

// wait sleeps d, unless that is longer than maxWait or the context's
// deadline allows, which is an error that says so.
func (t *transport) wait(ctx context.Context, d time.Duration, what string) error {
	if d > t.maxWait {
		return fmt.Errorf("%w: %s resets in %s, beyond maxWait %s: raise maxWait or scan later", errRateLimited, what, d.Round(time.Second), t.maxWait)
	}
	if dl, ok := ctx.Deadline(); ok && t.now().Add(d).After(dl) {
		return fmt.Errorf("%w: %s resets in %s, after this resource's timeout: raise settings.timeout or scan later", errRateLimited, what, d.Round(time.Second))
	}
	t.waited.Add(int64(d))
	return t.sleep(ctx, d)
}

// retryDelay says whether a 403 or 429 is a rate limit, and how long to
// wait before retrying: Retry-After when present, the reset time when
// the primary limit is spent, a minute for a secondary limit without
// either, as GitHub's documentation asks. Any other 403 (a missing scope)
// is handed back to the caller. The body is left readable.
func (t *transport) retryDelay(resp *http.Response) (time.Duration, bool, error) {
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if d, ok := parseRetryAfter(ra, t.now()); ok {
			return d, true, nil
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(reset, 0).Sub(t.now())+time.Second, time.Second), true, nil
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if err != nil {
		return 0, false, fmt.Errorf("read %d answer: %w", resp.StatusCode, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if bytes.Contains(bytes.ToLower(body), []byte("secondary rate limit")) {
		return secondaryDefaultWait, true, nil
	}
	return 0, false, nil
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > 24*3600 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// parseScopes splits X-OAuth-Scopes ("repo, admin:org").
func parseScopes(v string) []string {
	out := []string{}
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// tokenScopes returns the classic token's scopes and whether GitHub told.
func (t *transport) tokenScopes() ([]string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.scopes, t.scoped
}

// addGraphQLPoints records a GraphQL query's cost.
func (t *transport) addGraphQLPoints(n int64) { t.graphqlPoints.Add(n) }

// usage reports what was spent so far.
func (t *transport) usage() Usage {
	return Usage{
		Requests: t.requests.Load(), RESTRequests: t.rest.Load(), GraphQLRequests: t.graphql.Load(),
		NotModified: t.notModified.Load(), RESTPoints: t.restPoints.Load(), GraphQLPoints: t.graphqlPoints.Load(),
		ObjectsCached: t.objectsCached.Load(), Retries: t.retries.Load(), Waited: time.Duration(t.waited.Load()),
	}
}

// errRateLimited marks a failure of pacing: the collection stops rather
// than record it against one section.
var errRateLimited = errors.New("rate limited")
