package github

// Exported for the tests of package github_test: parsers of what GitHub
// sends, fuzzed there.

var ParseRetryAfter = parseRetryAfter

type OrgReposPage = orgReposPage

// DecodeGraphQL decodes one answer and counts its field errors.
func DecodeGraphQL(status int, path string, raw []byte, out any) (int, error) {
	errs, err := decodeGraphQL(status, path, raw, out, nil)
	return len(errs), err
}
