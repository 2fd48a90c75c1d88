package githubfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// graphql answers POST /graphql.
func (s *Server) graphql(r *http.Request, rp *reply, tok *Token, now time.Time) {
	if r.Method != http.MethodPost {
		rp.error(http.StatusNotFound, "Not Found")
		return
	}
	body, err := readBody(r)
	if err != nil {
		rp.error(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		rp.error(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	doc, err := parseGraphQL(req.Query)
	if err != nil {
		var se *syntaxError
		if !errors.As(err, &se) {
			rp.error(http.StatusInternalServerError, err.Error())
			return
		}
		rp.json(http.StatusOK, map[string]any{"errors": []any{map[string]any{
			"message": se.msg, "locations": []any{map[string]any{"line": se.line, "column": se.col}},
		}}})
		return
	}
	x := &gqlExec{doc: doc, vars: map[string]any{}, s: s, tok: tok}
	for name, def := range doc.op.vars {
		x.vars[name] = def.resolve(nil)
	}
	for k, v := range normalizeVars(req.Variables) {
		x.vars[k] = v
	}
	if err := x.checkLimits(doc.op.sel, 0); err != nil {
		rp.json(http.StatusOK, map[string]any{"errors": []any{map[string]any{"type": "EXCESSIVE_PAGINATION", "message": err.Error()}}})
		return
	}
	rp.cost = x.cost()
	// Scope checks happen before execution, as GitHub's do.
	for _, sel := range doc.op.sel {
		if sel.name == "organization" && !tok.has("read:org") {
			rp.json(http.StatusOK, map[string]any{
				"data": map[string]any{sel.key(): nil},
				"errors": []any{map[string]any{
					"type": "INSUFFICIENT_SCOPES", "locations": []any{map[string]any{"line": sel.line, "column": sel.col}},
					"message": fmt.Sprintf("Your token has not been granted the required scopes to execute this query. The 'organization' field requires one of the following scopes: ['read:org'], but your token has only been granted the: ['%s'] scopes. Please modify your token's scopes at: https://github.com/settings/tokens.",
						strings.Join(tok.Scopes, "', '")),
				}},
			})
			return
		}
	}
	data, err := x.object(&queryRoot{s: s, cost: rp.cost, now: now}, doc.op.sel, nil)
	if len(x.undefined) > 0 {
		rp.json(http.StatusOK, map[string]any{"errors": x.undefined})
		return
	}
	if err != nil {
		rp.json(http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": err.Error()}}})
		return
	}
	out := map[string]any{"data": data}
	if len(x.errors) > 0 {
		out["errors"] = x.errors
	}
	rp.json(http.StatusOK, out)
}

type queryRoot struct {
	s    *Server
	cost int
	now  time.Time
}

func (q *queryRoot) typeName() string { return "Query" }

func (q *queryRoot) field(x *gqlExec, name string, args map[string]any) (any, error) {
	o := q.s.org()
	switch name {
	case "rateLimit":
		q.s.mu.Lock()
		w := q.s.window("graphql", q.now)
		rl := &plain{typ: "RateLimit", fields: map[string]any{
			"cost": q.cost, "limit": w.limit, "remaining": max(0, w.limit-w.used-q.cost), "used": w.used + q.cost,
			"resetAt": w.reset.UTC().Format(time.RFC3339), "nodeCount": 0,
		}}
		q.s.mu.Unlock()
		return rl, nil
	case "organization":
		if !strings.EqualFold(str(args["login"]), o.Login) {
			return nil, &fieldError{typ: "NOT_FOUND", msg: fmt.Sprintf("Could not resolve to an Organization with the login of '%s'.", str(args["login"]))}
		}
		return &orgNode{s: q.s, o: o}, nil
	case "repository":
		if !strings.EqualFold(str(args["owner"]), o.Login) {
			return nil, &fieldError{typ: "NOT_FOUND", msg: fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", str(args["owner"]), str(args["name"]))}
		}
		for _, r := range o.Repos {
			if strings.EqualFold(r.Name, str(args["name"])) && q.s.visible(x.tok, r) {
				return &repoNode{s: q.s, o: o, r: r}, nil
			}
		}
		return nil, &fieldError{typ: "NOT_FOUND", msg: fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", str(args["owner"]), str(args["name"]))}
	}
	return nil, &undefinedField{typ: "Query", name: name}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func intArg(v any, def int) int {
	if n, ok := v.(int64); ok {
		return int(n)
	}
	return def
}

// plain is an object whose fields are fixed values.
type plain struct {
	typ    string
	fields map[string]any
}

func (p *plain) typeName() string { return p.typ }

func (p *plain) field(_ *gqlExec, name string, _ map[string]any) (any, error) {
	v, ok := p.fields[name]
	if !ok {
		return nil, &undefinedField{typ: p.typ, name: name}
	}
	return v, nil
}

// connection pages items with opaque cursors, as GitHub's connections do.
type connection struct {
	typ   string
	items []gqlObject
	// edge adds fields to the edge of item i (collaborators' permission).
	edge func(i int) map[string]any
	args map[string]any
}

func cursor(i int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(i)))
}

func (c *connection) window() (int, int) {
	start := 0
	if a := str(c.args["after"]); a != "" {
		if b, err := base64.StdEncoding.DecodeString(a); err == nil {
			if n, err := strconv.Atoi(strings.TrimPrefix(string(b), "cursor:v2:")); err == nil {
				start = n + 1
			}
		}
	}
	start = min(start, len(c.items))
	first := intArg(c.args["first"], 100)
	return start, min(start+first, len(c.items))
}

func (c *connection) typeName() string { return c.typ }

func (c *connection) field(_ *gqlExec, name string, _ map[string]any) (any, error) {
	start, end := c.window()
	switch name {
	case "totalCount":
		return len(c.items), nil
	case "nodes":
		return c.items[start:end], nil
	case "edges":
		edges := make([]gqlObject, 0, end-start)
		for i := start; i < end; i++ {
			f := map[string]any{"cursor": cursor(i), "node": c.items[i]}
			if c.edge != nil {
				for k, v := range c.edge(i) {
					f[k] = v
				}
			}
			edges = append(edges, &plain{typ: strings.TrimSuffix(c.typ, "Connection") + "Edge", fields: f})
		}
		return edges, nil
	case "pageInfo":
		pi := map[string]any{"hasNextPage": end < len(c.items), "hasPreviousPage": start > 0, "startCursor": nil, "endCursor": nil}
		if end > start {
			pi["startCursor"], pi["endCursor"] = cursor(start), cursor(end-1)
		}
		return &plain{typ: "PageInfo", fields: pi}, nil
	}
	return nil, &undefinedField{typ: c.typ, name: name}
}

type orgNode struct {
	s *Server
	o *Org
}

func (n *orgNode) typeName() string { return "Organization" }

func (n *orgNode) field(x *gqlExec, name string, args map[string]any) (any, error) {
	switch name {
	case "login", "name":
		return n.o.Login, nil
	case "databaseId":
		return n.o.ID, nil
	case "repositories":
		var items []gqlObject
		for _, r := range n.o.Repos {
			if n.s.visible(x.tok, r) {
				items = append(items, &repoNode{s: n.s, o: n.o, r: r})
			}
		}
		// orderBy NAME ASC is the only order the fake knows, and the one
		// clients ask for; the list is kept in that order.
		return &connection{typ: "RepositoryConnection", items: sortByName(items), args: args}, nil
	}
	return nil, &undefinedField{typ: "Organization", name: name}
}

func sortByName(items []gqlObject) []gqlObject {
	out := append([]gqlObject(nil), items...)
	sort.SliceStable(out, func(i, j int) bool {
		return strings.ToLower(out[i].(*repoNode).r.Name) < strings.ToLower(out[j].(*repoNode).r.Name)
	})
	return out
}

type repoNode struct {
	s *Server
	o *Org
	r *Repo
}

func (n *repoNode) typeName() string { return "Repository" }

func forbidden(what string, nonNull bool) error {
	return &fieldError{
		typ: "FORBIDDEN", nonNull: nonNull,
		msg: fmt.Sprintf("Resource not accessible by personal access token: %s needs admin access to the repository.", what),
	}
}

func (n *repoNode) field(x *gqlExec, name string, args map[string]any) (any, error) {
	r := n.r
	admin := x.tok.Owner
	switch name {
	case "name":
		return r.Name, nil
	case "nameWithOwner":
		return n.o.Login + "/" + r.Name, nil
	case "id":
		return fmt.Sprintf("R_kgDO%08d", r.ID), nil
	case "databaseId":
		return r.ID, nil
	case "visibility":
		return strings.ToUpper(r.Visibility), nil
	case "isPrivate":
		return r.Visibility != "public", nil
	case "isArchived":
		return r.Archived, nil
	case "isFork":
		return r.Fork, nil
	case "isEmpty":
		return r.Files == nil, nil
	case "hasWikiEnabled":
		return r.HasWiki, nil
	case "hasProjectsEnabled":
		return r.HasProjects, nil
	case "hasIssuesEnabled":
		return true, nil
	case "viewerPermission":
		if admin {
			return "ADMIN", nil
		}
		return "READ", nil
	case "hasVulnerabilityAlertsEnabled":
		if !admin {
			return nil, forbidden("hasVulnerabilityAlertsEnabled", true)
		}
		return r.VulnerabilityAlerts, nil
	case "deployKeys":
		if !admin {
			return nil, forbidden("deployKeys", true)
		}
		items := make([]gqlObject, len(r.DeployKeys))
		for i, k := range r.DeployKeys {
			items[i] = &plain{typ: "DeployKey", fields: map[string]any{
				"id": fmt.Sprintf("DK_%d_%d", r.ID, i), "title": k.Title, "readOnly": k.ReadOnly, "verified": true,
			}}
		}
		return &connection{typ: "DeployKeyConnection", items: items, args: args}, nil
	case "collaborators":
		if !admin {
			return nil, forbidden("collaborators", false)
		}
		items := make([]gqlObject, len(r.Collaborators))
		for i, c := range r.Collaborators {
			items[i] = &plain{typ: "User", fields: map[string]any{"login": c.Login}}
		}
		return &connection{
			typ: "RepositoryCollaboratorConnection", items: items, args: args,
			edge: func(i int) map[string]any { return map[string]any{"permission": r.Collaborators[i].Permission} },
		}, nil
	case "rulesets":
		var items []gqlObject
		for _, rs := range r.Rulesets {
			items = append(items, &rulesetNode{rs: rs, source: n})
		}
		if inc, ok := args["includeParents"].(bool); !ok || inc {
			for _, rs := range n.o.Rulesets {
				items = append(items, &rulesetNode{rs: rs, source: &orgNode{s: n.s, o: n.o}})
			}
		}
		return &connection{typ: "RepositoryRulesetConnection", items: items, args: args}, nil
	case "defaultBranchRef":
		g := n.s.gitOf(r.Name)
		if g == nil || g.commit == "" {
			return nil, nil
		}
		return &refNode{n: n, g: g, admin: admin}, nil
	case "object":
		g := n.s.gitOf(r.Name)
		if g == nil {
			return nil, nil
		}
		oid := str(args["oid"])
		if b, ok := g.blobs[oid]; ok {
			return blobNode(oid, b), nil
		}
		if oid == g.commit {
			return &refNode{n: n, g: g, admin: admin}, nil
		}
		return nil, nil
	}
	return nil, &undefinedField{typ: "Repository", name: name}
}

func blobNode(oid string, b []byte) gqlObject {
	binary := bytes.IndexByte(b, 0) >= 0
	var text any
	if !binary {
		text = string(b)
	}
	return &plain{typ: "Blob", fields: map[string]any{
		"oid": oid, "abbreviatedOid": oid[:7], "text": text, "isBinary": binary,
		"isTruncated": false, "byteSize": len(b),
	}}
}

// refNode is the default branch: as a Ref, or (for object(oid:)) as its
// head Commit.
type refNode struct {
	n     *repoNode
	g     *gitRepo
	admin bool
}

func (f *refNode) typeName() string { return "Ref" }

func (f *refNode) field(_ *gqlExec, name string, _ map[string]any) (any, error) {
	r := f.n.r
	switch name {
	case "name":
		return r.DefaultBranch, nil
	case "prefix":
		return "refs/heads/", nil
	case "target":
		return &plain{typ: "Commit", fields: map[string]any{
			"oid": f.g.commit, "tree": &plain{typ: "Tree", fields: map[string]any{"oid": f.g.tree}},
		}}, nil
	case "branchProtectionRule":
		p := r.Protection
		if p == nil || !f.admin {
			// Only admins see protection rules; others get null.
			return nil, nil
		}
		var count any
		if p.RequiresApprovingReviews {
			count = p.RequiredApprovingReviews
		}
		contexts := append([]string{}, p.RequiredStatusChecks...)
		return &plain{typ: "BranchProtectionRule", fields: map[string]any{
			"pattern": p.Pattern, "requiresApprovingReviews": p.RequiresApprovingReviews,
			"requiredApprovingReviewCount": count, "dismissesStaleReviews": p.DismissesStaleReviews,
			"requiresCodeOwnerReviews": p.RequiresCodeOwnerReviews, "requiresStatusChecks": len(contexts) > 0,
			"requiredStatusCheckContexts": contexts, "allowsForcePushes": p.AllowsForcePushes,
			"allowsDeletions": p.AllowsDeletions, "isAdminEnforced": p.IsAdminEnforced,
			"requiresCommitSignatures": p.RequiresCommitSignatures, "requiresLinearHistory": false,
			"requiresConversationResolution": false,
		}}, nil
	}
	return nil, &undefinedField{typ: "Ref", name: name}
}

type rulesetNode struct {
	rs     *Ruleset
	source gqlObject
}

func (n *rulesetNode) typeName() string { return "RepositoryRuleset" }

func (n *rulesetNode) field(_ *gqlExec, name string, _ map[string]any) (any, error) {
	switch name {
	case "databaseId":
		return n.rs.ID, nil
	case "id":
		return fmt.Sprintf("RRS_%d", n.rs.ID), nil
	case "name":
		return n.rs.Name, nil
	case "enforcement":
		return strings.ToUpper(n.rs.Enforcement), nil
	case "target":
		return "BRANCH", nil
	case "source":
		return n.source, nil
	}
	return nil, &undefinedField{typ: "RepositoryRuleset", name: name}
}
