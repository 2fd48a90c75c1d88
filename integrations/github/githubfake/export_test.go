package githubfake

// Cost parses a query and prices it the way the fake bills it.
func Cost(query string, vars map[string]any) (int, error) {
	doc, err := parseGraphQL(query)
	if err != nil {
		return 0, err
	}
	x := &gqlExec{doc: doc, vars: normalizeVars(vars)}
	return x.cost(), nil
}
