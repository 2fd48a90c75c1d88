package github

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// graphQL posts queries to GitHub's GraphQL endpoint with plain net/http:
// the queries are fixed strings and the answers decode into our own
// types, so a GraphQL client module would add nothing.
type graphQL struct {
	url  string
	http *http.Client
	tr   *transport
}

// gqlError is one entry of a GraphQL answer's errors.
type gqlError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

// gqlErrors are the errors of one answer that came with data.
type gqlErrors []gqlError

// atRepo returns the errors under a repository of a page or batch: path
// prefix, then the node index or alias.
func (es gqlErrors) under(prefix ...any) gqlErrors {
	var out gqlErrors
	for _, e := range es {
		if len(e.Path) < len(prefix) {
			continue
		}
		match := true
		for i, p := range prefix {
			if fmt.Sprint(e.Path[i]) != fmt.Sprint(p) {
				match = false
				break
			}
		}
		if match {
			out = append(out, e)
		}
	}
	return out
}

func (es gqlErrors) String() string {
	var msgs []string
	for _, e := range es {
		m := e.Message
		if e.Type != "" {
			m = e.Type + ": " + m
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; ")
}

// gqlFatal is a GraphQL answer that could not be used at all.
type gqlFatal struct {
	Status int
	Errors gqlErrors
	Body   string
}

func (e *gqlFatal) Error() string {
	if len(e.Errors) > 0 {
		return fmt.Sprintf("GitHub GraphQL answered %d: %s", e.Status, e.Errors)
	}
	return fmt.Sprintf("GitHub GraphQL answered %d: %s", e.Status, e.Body)
}

// do posts query with vars and decodes data into out. It returns the
// errors that came with data (fields GitHub refused); an answer without
// data is an error. The query's cost (rateLimit.cost, which every query
// of this package asks for) is added to the transport's points.
func (g *graphQL) do(ctx context.Context, query string, vars map[string]any, out any) (gqlErrors, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, fmt.Errorf("encode GraphQL query: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("GraphQL request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := g.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read GraphQL answer: %w", err)
	}
	return decodeGraphQL(resp.StatusCode, req.URL.Path, raw, out, g.tr)
}

// decodeGraphQL reads one GraphQL answer. It is separate from do so that
// it can be fuzzed.
func decodeGraphQL(status int, path string, raw []byte, out any, tr *transport) (gqlErrors, error) {
	var env struct {
		Data   json.RawMessage `json:"data"`
		Errors gqlErrors       `json:"errors"`
	}
	if status != http.StatusOK {
		if tr != nil {
			tr.addGraphQLPoints(1)
		}
		if status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound {
			return nil, &apiError{Status: status, Method: http.MethodPost, Path: path, Message: githubMessage(raw)}
		}
		return nil, &gqlFatal{Status: status, Body: githubMessage(raw)}
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, &gqlFatal{Status: status, Body: "not JSON: " + githubMessage(raw)}
	}
	var cost struct {
		RateLimit *struct {
			Cost int64 `json:"cost"`
		} `json:"rateLimit"`
	}
	if len(env.Data) > 0 && string(env.Data) != "null" {
		_ = json.Unmarshal(env.Data, &cost)
	}
	if tr != nil {
		if cost.RateLimit != nil && cost.RateLimit.Cost > 0 {
			tr.addGraphQLPoints(cost.RateLimit.Cost)
		} else {
			tr.addGraphQLPoints(1)
		}
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil, &gqlFatal{Status: status, Errors: env.Errors, Body: "no data"}
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return nil, fmt.Errorf("decode GraphQL data: %w", err)
	}
	return env.Errors, nil
}

// repoFields are read for every repository in one query. Only three
// connections are nested (deploy keys, outside collaborators, rulesets),
// so a page of 100 repositories costs 1 + 3×100/100 ≈ 3 points; the
// default branch's protection rule and head tree are plain fields.
const repoFields = `
fragment Repo on Repository {
  name
  visibility
  isArchived
  isFork
  isEmpty
  hasWikiEnabled
  hasProjectsEnabled
  hasVulnerabilityAlertsEnabled
  deployKeys(first: 20) { totalCount nodes { title readOnly } }
  collaborators(affiliation: OUTSIDE, first: 20) { totalCount edges { permission node { login } } }
  rulesets(first: 20, includeParents: true, targets: [BRANCH]) {
    totalCount
    nodes { databaseId name enforcement source { __typename ... on Organization { login } ... on Repository { nameWithOwner } } }
  }
  defaultBranchRef {
    name
    target { ... on Commit { oid tree { oid } } }
    branchProtectionRule {
      pattern
      requiresApprovingReviews
      requiredApprovingReviewCount
      dismissesStaleReviews
      requiresCodeOwnerReviews
      requiresStatusChecks
      requiredStatusCheckContexts
      allowsForcePushes
      allowsDeletions
      isAdminEnforced
      requiresCommitSignatures
      requiresLinearHistory
      requiresConversationResolution
    }
  }
}`

const orgReposQuery = `query($org: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining resetAt }
  organization(login: $org) {
    repositories(first: $first, after: $after, orderBy: {field: NAME, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { ...Repo }
    }
  }
}` + repoFields

// gqlRepo is one repository as repoFields reads it.
type gqlRepo struct {
	Name                          string `json:"name"`
	Visibility                    string `json:"visibility"`
	IsArchived                    bool   `json:"isArchived"`
	IsFork                        bool   `json:"isFork"`
	IsEmpty                       bool   `json:"isEmpty"`
	HasWikiEnabled                bool   `json:"hasWikiEnabled"`
	HasProjectsEnabled            bool   `json:"hasProjectsEnabled"`
	HasVulnerabilityAlertsEnabled bool   `json:"hasVulnerabilityAlertsEnabled"`
	DeployKeys                    *struct {
		TotalCount int         `json:"totalCount"`
		Nodes      []DeployKey `json:"nodes"`
	} `json:"deployKeys"`
	Collaborators *struct {
		TotalCount int `json:"totalCount"`
		Edges      []struct {
			Permission string `json:"permission"`
			Node       struct {
				Login string `json:"login"`
			} `json:"node"`
		} `json:"edges"`
	} `json:"collaborators"`
	Rulesets *struct {
		TotalCount int          `json:"totalCount"`
		Nodes      []gqlRuleset `json:"nodes"`
	} `json:"rulesets"`
	DefaultBranchRef *struct {
		Name   string `json:"name"`
		Target *struct {
			OID  string `json:"oid"`
			Tree *struct {
				OID string `json:"oid"`
			} `json:"tree"`
		} `json:"target"`
		BranchProtectionRule *gqlProtectionRule `json:"branchProtectionRule"`
	} `json:"defaultBranchRef"`
}

type gqlRuleset struct {
	DatabaseID  int64  `json:"databaseId"`
	Name        string `json:"name"`
	Enforcement string `json:"enforcement"`
	Source      struct {
		Typename      string `json:"__typename"`
		Login         string `json:"login"`
		NameWithOwner string `json:"nameWithOwner"`
	} `json:"source"`
}

type gqlProtectionRule struct {
	Pattern                        string   `json:"pattern"`
	RequiresApprovingReviews       bool     `json:"requiresApprovingReviews"`
	RequiredApprovingReviewCount   *int     `json:"requiredApprovingReviewCount"`
	DismissesStaleReviews          bool     `json:"dismissesStaleReviews"`
	RequiresCodeOwnerReviews       bool     `json:"requiresCodeOwnerReviews"`
	RequiresStatusChecks           bool     `json:"requiresStatusChecks"`
	RequiredStatusCheckContexts    []string `json:"requiredStatusCheckContexts"`
	AllowsForcePushes              bool     `json:"allowsForcePushes"`
	AllowsDeletions                bool     `json:"allowsDeletions"`
	IsAdminEnforced                bool     `json:"isAdminEnforced"`
	RequiresCommitSignatures       bool     `json:"requiresCommitSignatures"`
	RequiresLinearHistory          bool     `json:"requiresLinearHistory"`
	RequiresConversationResolution bool     `json:"requiresConversationResolution"`
}

type gqlPageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

type orgReposPage struct {
	Organization *struct {
		Repositories struct {
			TotalCount int         `json:"totalCount"`
			PageInfo   gqlPageInfo `json:"pageInfo"`
			Nodes      []*gqlRepo  `json:"nodes"`
		} `json:"repositories"`
	} `json:"organization"`
}

// namedReposQuery reads chosen repositories by alias, for a register
// that lists them: r0, r1, … with variables n0, n1, ….
func namedReposQuery(n int) string {
	var b strings.Builder
	b.WriteString("query($org: String!")
	for i := range n {
		fmt.Fprintf(&b, ", $n%d: String!", i)
	}
	b.WriteString(") {\n  rateLimit { cost remaining resetAt }\n")
	for i := range n {
		fmt.Fprintf(&b, "  r%d: repository(owner: $org, name: $n%d) { ...Repo }\n", i, i)
	}
	b.WriteString("}")
	return b.String() + repoFields
}

// Follow-up queries for the rare repository with more than 20 deploy
// keys, outside collaborators or rulesets.
const (
	moreDeployKeysQuery = `query($org: String!, $name: String!, $after: String) {
  rateLimit { cost }
  repository(owner: $org, name: $name) {
    deployKeys(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { title readOnly } }
  }
}`
	moreCollaboratorsQuery = `query($org: String!, $name: String!, $after: String) {
  rateLimit { cost }
  repository(owner: $org, name: $name) {
    collaborators(affiliation: OUTSIDE, first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { permission node { login } }
    }
  }
}`
	moreRulesetsQuery = `query($org: String!, $name: String!, $after: String) {
  rateLimit { cost }
  repository(owner: $org, name: $name) {
    rulesets(first: 100, after: $after, includeParents: true, targets: [BRANCH]) {
      pageInfo { hasNextPage endCursor }
      nodes { databaseId name enforcement source { __typename ... on Organization { login } ... on Repository { nameWithOwner } } }
    }
  }
}`
)

// blobsQuery fetches blobs of several repositories in one query: each
// repository an alias r<i>, each blob an alias b<j> looked up by OID.
// Names and OIDs travel as variables, never spliced into the text.
func blobsQuery(batch []blobRef) (string, map[string]any) {
	vars := map[string]any{}
	var b strings.Builder
	b.WriteString("query($org: String!")
	byRepo := map[string][]int{}
	var order []string
	for i, ref := range batch {
		if _, ok := byRepo[ref.repo]; !ok {
			order = append(order, ref.repo)
		}
		byRepo[ref.repo] = append(byRepo[ref.repo], i)
		fmt.Fprintf(&b, ", $o%d: GitObjectID!", i)
		vars[fmt.Sprintf("o%d", i)] = ref.oid
	}
	for i := range order {
		fmt.Fprintf(&b, ", $n%d: String!", i)
		vars[fmt.Sprintf("n%d", i)] = order[i]
	}
	b.WriteString(") {\n  rateLimit { cost }\n")
	for i, repo := range order {
		fmt.Fprintf(&b, "  r%d: repository(owner: $org, name: $n%d) {", i, i)
		for _, j := range byRepo[repo] {
			fmt.Fprintf(&b, " b%d: object(oid: $o%d) { ... on Blob { text isBinary isTruncated byteSize } }", j, j)
		}
		b.WriteString(" }\n")
	}
	b.WriteString("}")
	return b.String(), vars
}

// gqlBlob is a blob as blobsQuery reads it.
type gqlBlob struct {
	Text        *string `json:"text"`
	IsBinary    bool    `json:"isBinary"`
	IsTruncated bool    `json:"isTruncated"`
	ByteSize    int64   `json:"byteSize"`
}
