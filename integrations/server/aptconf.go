package server

import (
	"fmt"
	"strings"

	"github.com/rampart-dev/rampart"
)

// ParseAptConf reads one APT configuration file (apt.conf(5) syntax:
// "A::B "v";" and "A { B "v"; };" scopes, // # and /* */ comments,
// #clear) into vars, keyed by the lower-case full name ("apt::periodic::
// unattended-upgrade"). Later assignments replace earlier ones, as APT
// does across files read in order. #include is not followed.
func ParseAptConf(file string, data []byte, vars map[string]Directive) error {
	toks, err := aptTokens(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	var scope []string
	var stmt []aptToken
	for _, t := range toks {
		switch {
		case t.kind == '{':
			if len(stmt) != 1 || stmt[0].kind != 'w' {
				return fmt.Errorf("%s:%d: '{' must follow one name", file, t.line)
			}
			scope = append(scope, stmt[0].text)
			stmt = stmt[:0]
		case t.kind == '}':
			if len(stmt) > 0 {
				return fmt.Errorf("%s:%d: missing ';' before '}'", file, t.line)
			}
			if len(scope) == 0 {
				return fmt.Errorf("%s:%d: '}' without '{'", file, t.line)
			}
			scope = scope[:len(scope)-1]
		case t.kind == ';':
			if err := aptStatement(file, scope, stmt, vars); err != nil {
				return err
			}
			stmt = stmt[:0]
		default:
			stmt = append(stmt, t)
		}
	}
	if len(stmt) > 0 {
		return fmt.Errorf("%s:%d: missing ';' at end of file", file, stmt[0].line)
	}
	if len(scope) > 0 {
		return fmt.Errorf("%s: %d unclosed '{'", file, len(scope))
	}
	return nil
}

func aptStatement(file string, scope []string, stmt []aptToken, vars map[string]Directive) error {
	switch {
	case len(stmt) == 0:
		return nil
	case stmt[0].kind == 'w' && stmt[0].text == "#clear":
		for _, t := range stmt[1:] {
			prefix := strings.ToLower(strings.Join(append(append([]string{}, scope...), t.text), "::"))
			for k := range vars {
				if k == prefix || strings.HasPrefix(k, prefix+"::") {
					delete(vars, k)
				}
			}
		}
		return nil
	case stmt[0].kind == 'w' && stmt[0].text == "#include":
		return nil
	case len(stmt) == 1 && stmt[0].kind == 's':
		// A bare value is a list item ("Origins-Pattern { "o=Debian"; };").
		return nil
	case len(stmt) == 2 && stmt[0].kind == 'w':
		name := strings.Join(append(append([]string{}, scope...), stmt[0].text), "::")
		vars[strings.ToLower(name)] = Directive{
			Keyword:  name,
			Value:    stmt[1].text,
			Location: rampart.Location{Path: file, Line: stmt[0].line},
		}
		return nil
	}
	return fmt.Errorf("%s:%d: expected 'Name \"value\";'", file, stmt[0].line)
}

type aptToken struct {
	kind byte // 'w' word, 's' string, '{', '}', ';'
	text string
	line int
}

func aptTokens(data []byte) ([]aptToken, error) {
	s := string(data)
	var toks []aptToken
	line := 1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated comment", line)
			}
			line += strings.Count(s[i:i+2+end], "\n")
			i += end + 4
		case c == '#' && !strings.HasPrefix(s[i:], "#clear") && !strings.HasPrefix(s[i:], "#include"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '{' || c == '}' || c == ';':
			toks = append(toks, aptToken{kind: c, line: line})
			i++
		case c == '"':
			end := strings.IndexAny(s[i+1:], "\"\n")
			if end < 0 || s[i+1+end] != '"' {
				return nil, fmt.Errorf("line %d: unterminated string", line)
			}
			toks = append(toks, aptToken{kind: 's', text: s[i+1 : i+1+end], line: line})
			i += end + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n\f\v{};\"", rune(s[j])) {
				j++
			}
			toks = append(toks, aptToken{kind: 'w', text: s[i:j], line: line})
			i = j
		}
	}
	return toks, nil
}
