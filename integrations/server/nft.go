package server

import (
	"fmt"
	"strings"

	"github.com/rampart-dev/rampart"
)

// NftChain is a chain of an nftables ruleset file.
type NftChain struct {
	// Table is "family name" ("inet filter"); the family is "ip" when
	// the file leaves it out.
	Table string `json:"table"`
	Name  string `json:"name"`
	// Hook is the netfilter hook of a base chain ("input"), empty for a
	// regular chain.
	Hook   string `json:"hook,omitempty"`
	Policy string `json:"policy,omitempty"`
	// FinalVerdict is the chain's last rule when it drops or rejects
	// every packet that reaches it ("drop", "counter reject").
	FinalVerdict string           `json:"finalVerdict,omitempty"`
	Location     rampart.Location `json:"location"`
}

// DefaultDeny reports whether packets the rules do not accept are
// dropped: a drop policy or a final unconditional drop or reject.
func (c NftChain) DefaultDeny() bool {
	return strings.EqualFold(c.Policy, "drop") || c.FinalVerdict != ""
}

// NftRuleset is what an nftables file declares.
type NftRuleset struct {
	Chains []NftChain `json:"chains"`
	// Includes lists the include statements, not followed here.
	Includes []Directive `json:"includes,omitempty"`
}

// definesBody reports whether a statement's braces hold a body (a table,
// chain, set or stateful object definition) rather than an anonymous set
// in a rule ("tcp dport { 22, 443 } accept", "ct state { invalid } drop").
func definesBody(w []string) bool {
	flat := len(w) > 1 && (w[0] == "add" || w[0] == "create")
	if flat {
		w = w[1:]
	}
	if len(w) < 2 {
		return false
	}
	switch w[0] {
	case "table", "chain", "set", "map", "flowtable":
		return true
	case "counter", "quota", "limit", "secmark", "synproxy", "tunnel":
		// "counter NAME {" (or flat "add counter [family] table NAME {")
		// defines an object; in a rule these keywords take arguments
		// that are not followed by a body.
		return len(w) == 2 || (flat && len(w) <= 4)
	case "ct":
		return len(w) >= 3 && (w[1] == "helper" || w[1] == "timeout" || w[1] == "expectation")
	}
	return false
}

type nftStmt struct {
	words []string
	line  int
	block []nftStmt
}

// ParseNftables reads an nftables ruleset file (nft -f syntax, nested or
// flat "add chain" form) far enough to find its chains, their hooks and
// what happens to packets no rule accepts.
func ParseNftables(file string, data []byte) (*NftRuleset, error) {
	toks, err := nftTokens(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := &nftParser{toks: toks}
	stmts, err := p.block(0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("%s:%d: '}' without '{'", file, p.toks[p.i].line)
	}
	rs := &NftRuleset{}
	for _, s := range stmts {
		w := s.words
		switch {
		case len(w) >= 2 && w[0] == "include":
			rs.Includes = append(rs.Includes, Directive{Keyword: "include", Value: w[1], Location: rampart.Location{Path: file, Line: s.line}})
		case len(w) >= 2 && w[0] == "table" && s.block != nil:
			table := tableName(w[1:])
			for _, c := range s.block {
				if len(c.words) >= 2 && c.words[0] == "chain" && c.block != nil {
					rs.Chains = append(rs.Chains, nftChain(file, table, c.words[1], c))
				}
			}
		case len(w) >= 4 && (w[0] == "add" || w[0] == "create") && w[1] == "chain":
			// "add chain [family] table name { ... }"
			args := w[2:]
			name := args[len(args)-1]
			rs.Chains = append(rs.Chains, nftChain(file, tableName(args[:len(args)-1]), name, s))
		}
	}
	return rs, nil
}

func tableName(words []string) string {
	if len(words) == 1 {
		return "ip " + words[0]
	}
	return strings.Join(words, " ")
}

func nftChain(file, table, name string, s nftStmt) NftChain {
	c := NftChain{Table: table, Name: name, Location: rampart.Location{Path: file, Line: s.line}}
	var last []string
	for _, st := range s.block {
		w := st.words
		switch {
		case len(w) >= 2 && w[0] == "type":
			for i := 0; i+1 < len(w); i++ {
				if w[i] == "hook" {
					c.Hook = w[i+1]
				}
			}
		case len(w) >= 2 && w[0] == "policy":
			c.Policy = w[1]
		case len(w) > 0 && w[0] != "comment" && w[0] != "devices":
			last = w
		}
	}
	if unconditionalDeny(last) {
		c.FinalVerdict = strings.Join(last, " ")
	}
	return c
}

// unconditionalDeny recognizes a rule with no match that drops or
// rejects: optionally counted or logged first.
func unconditionalDeny(w []string) bool {
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case "counter":
		case "log":
			// "log" may carry "prefix "x"" and "level y" arguments.
			for i+2 < len(w) && (w[i+1] == "prefix" || w[i+1] == "level" || w[i+1] == "flags") {
				i += 2
			}
		case "drop":
			return i == len(w)-1
		case "reject":
			return i == len(w)-1 || w[i+1] == "with"
		default:
			return false
		}
	}
	return false
}

type nftToken struct {
	kind byte // 'w' word, '{', '}', ';' (also end of line)
	text string
	line int
}

type nftParser struct {
	toks []nftToken
	i    int
}

// block parses statements until a '}' at this depth (left unconsumed
// for the caller) or the end of input.
func (p *nftParser) block(depth int) ([]nftStmt, error) {
	if depth > 32 {
		return nil, fmt.Errorf("line %d: blocks nested too deep", p.toks[p.i].line)
	}
	var out []nftStmt
	var cur nftStmt
	push := func() {
		if len(cur.words) > 0 || cur.block != nil {
			out = append(out, cur)
		}
		cur = nftStmt{}
	}
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		switch t.kind {
		case 'w':
			if len(cur.words) == 0 {
				cur.line = t.line
			}
			cur.words = append(cur.words, t.text)
			p.i++
		case ';':
			push()
			p.i++
		case '}':
			push()
			return out, nil
		case '{':
			p.i++
			if definesBody(cur.words) {
				if cur.line == 0 {
					cur.line = t.line
				}
				body, err := p.block(depth + 1)
				if err != nil {
					return nil, err
				}
				if p.i >= len(p.toks) {
					return nil, fmt.Errorf("line %d: '{' not closed", t.line)
				}
				p.i++ // the '}'
				cur.block = body
				push()
				continue
			}
			// An anonymous set: its elements are words of the rule.
			depthSet := 1
			cur.words = append(cur.words, "{")
			for p.i < len(p.toks) && depthSet > 0 {
				st := p.toks[p.i]
				switch st.kind {
				case '{':
					depthSet++
					cur.words = append(cur.words, "{")
				case '}':
					depthSet--
					cur.words = append(cur.words, "}")
				case 'w':
					cur.words = append(cur.words, st.text)
				}
				p.i++
			}
			if depthSet > 0 {
				return nil, fmt.Errorf("line %d: '{' not closed", t.line)
			}
		}
	}
	push()
	return out, nil
}

func nftTokens(data []byte) ([]nftToken, error) {
	s := string(data)
	var toks []nftToken
	line := 1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			line++
			i += 2
		case c == '\n':
			toks = append(toks, nftToken{kind: ';', line: line})
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '{' || c == '}' || c == ';':
			toks = append(toks, nftToken{kind: c, line: line})
			i++
		case c == '"':
			end := strings.IndexAny(s[i+1:], "\"\n")
			if end < 0 || s[i+1+end] != '"' {
				return nil, fmt.Errorf("line %d: unterminated string", line)
			}
			toks = append(toks, nftToken{kind: 'w', text: s[i+1 : i+1+end], line: line})
			i += end + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n\f\v{};\"#", rune(s[j])) {
				j++
			}
			toks = append(toks, nftToken{kind: 'w', text: s[i:j], line: line})
			i = j
		}
	}
	return toks, nil
}
