package github

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v92/github"
)

// need is what a token must carry to read one part of the organization:
// a classic token's OAuth scope, or a fine-grained token's or App's
// permission.
type need struct {
	Scope      string
	Permission string
}

var (
	needAdminOrg  = need{"admin:org", `the organization permission "Administration: read"`}
	needReadOrg   = need{"read:org", `the organization permission "Members: read"`}
	needHooks     = need{"admin:org_hook", `the organization permission "Webhooks: read"`}
	needAuditLog  = need{"read:audit_log", `the organization permission "Administration: read" on an Enterprise Cloud organization`}
	needRepo      = need{"repo", `the repository permission "Metadata: read"`}
	needRepoAdmin = need{"repo, by an owner or repository admin", `the repository permission "Administration: read"`}
	needContents  = need{"repo", `the repository permission "Contents: read"`}
)

// apiError is GitHub's answer to a refused request, whichever client saw
// it.
type apiError struct {
	Status  int
	Method  string
	Path    string
	Message string
	// Accepted is X-Accepted-OAuth-Scopes: what the endpoint takes.
	Accepted string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: GitHub answered %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Message)
}

// asAPIError unwraps go-github's error responses into apiError.
func asAPIError(err error) (*apiError, bool) {
	var a *apiError
	if errors.As(err, &a) {
		return a, true
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		a := &apiError{Status: er.Response.StatusCode, Message: er.Message}
		if er.Response.Request != nil {
			a.Method, a.Path = er.Response.Request.Method, er.Response.Request.URL.Path
		}
		a.Accepted = er.Response.Header.Get("X-Accepted-OAuth-Scopes")
		return a, true
	}
	return nil, false
}

// unauthorized reports a 401: the credential itself is bad, and nothing
// else will succeed.
func unauthorized(err error) bool {
	a, ok := asAPIError(err)
	return ok && a.Status == http.StatusUnauthorized
}

// explain words a failure to read one part of the organization. A 403 or
// 404 from an endpoint that exists for an owner's token means the token
// lacks something: the reason names the scope or permission, what GitHub
// said and, for classic tokens, the scopes it has.
func (c *client) explain(err error, what string, n need) string {
	a, ok := asAPIError(err)
	if !ok || (a.Status != http.StatusForbidden && a.Status != http.StatusNotFound) {
		return fmt.Sprintf("read %s: %v", what, err)
	}
	scopes, scoped := c.tr.tokenScopes()
	var b strings.Builder
	if scoped {
		want := n.Scope
		if a.Accepted != "" {
			want = a.Accepted
		}
		fmt.Fprintf(&b, "the token lacks %s to read %s", want, what)
		has := "no scopes"
		if len(scopes) > 0 {
			has = strings.Join(scopes, ", ")
		}
		fmt.Fprintf(&b, " (GitHub answered %d %s to %s %s: %q; the token has %s)",
			a.Status, http.StatusText(a.Status), a.Method, a.Path, a.Message, has)
		return b.String()
	}
	fmt.Fprintf(&b, "the token lacks %s (or the classic scope %s) to read %s (GitHub answered %d %s to %s %s: %q)",
		n.Permission, n.Scope, what, a.Status, http.StatusText(a.Status), a.Method, a.Path, a.Message)
	return b.String()
}

// lacksScope reports whether GitHub said the classic token's scopes
// leave out every one of want.
func (c *client) lacksScope(want ...string) bool {
	scopes, scoped := c.tr.tokenScopes()
	if !scoped {
		return false
	}
	for _, w := range want {
		for _, s := range scopes {
			if s == w {
				return false
			}
		}
	}
	return true
}
