package server

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/rampart-dev/rampart"
)

// SSHDConfigPath is where sshd reads its configuration.
const SSHDConfigPath = "/etc/ssh/sshd_config"

// maxIncludeDepth is OpenSSH's limit on nested Include directives.
const maxIncludeDepth = 16

// Directive is one keyword line of a configuration file.
type Directive struct {
	// Keyword is as written ("PasswordAuthentication").
	Keyword string `json:"keyword"`
	// Value is the arguments as sshd splits them, unquoted and joined
	// by single spaces.
	Value    string           `json:"value"`
	Location rampart.Location `json:"location,omitzero"`
	// Default is set when the keyword is absent and Value is sshd's
	// compiled-in default; Location then names the main file, no line.
	Default bool `json:"default,omitempty"`
}

// MatchBlock is the directives of one Match block: they apply to
// connections matching Criteria and override the global values for them.
type MatchBlock struct {
	Criteria string           `json:"criteria"`
	Location rampart.Location `json:"location"`
	// Directives holds the first occurrence of each keyword in the block,
	// by lower-case keyword.
	Directives map[string]Directive `json:"directives"`
}

// SSHDConfig is sshd's configuration as sshd itself reads it: Include
// directives expanded in place (globs in lexical order, relative paths
// under /etc/ssh), the first occurrence of a keyword outside Match blocks
// being the global value, and each Match block (which ends at the next
// Match or at the end of the file it is in) kept apart.
type SSHDConfig struct {
	// Files lists every file read, the main one first.
	Files []string `json:"files"`
	// Global holds the effective global value of each keyword set
	// outside Match blocks, by lower-case keyword (aliases folded:
	// ChallengeResponseAuthentication is kbdinteractiveauthentication).
	Global map[string]Directive `json:"global"`
	// HostKeys lists every HostKey outside Match blocks: unlike most
	// keywords, each occurrence adds a key.
	HostKeys []Directive  `json:"hostKeys,omitempty"`
	Matches  []MatchBlock `json:"matches,omitempty"`
}

// sshdDefaults are OpenSSH 9's compiled-in values for the keywords the
// checks read.
var sshdDefaults = map[string]Directive{
	"permitrootlogin":              {Keyword: "PermitRootLogin", Value: "prohibit-password"},
	"passwordauthentication":       {Keyword: "PasswordAuthentication", Value: "yes"},
	"pubkeyauthentication":         {Keyword: "PubkeyAuthentication", Value: "yes"},
	"maxauthtries":                 {Keyword: "MaxAuthTries", Value: "6"},
	"kbdinteractiveauthentication": {Keyword: "KbdInteractiveAuthentication", Value: "yes"},
	"usepam":                       {Keyword: "UsePAM", Value: "no"},
	"authenticationmethods":        {Keyword: "AuthenticationMethods", Value: "any"},
}

// keywordAliases folds deprecated spellings onto the keyword sshd treats
// them as.
var keywordAliases = map[string]string{
	"challengeresponseauthentication": "kbdinteractiveauthentication",
}

// Effective returns the global value of keyword (lower-case), or sshd's
// default marked Default with the main file as its location.
func (c *SSHDConfig) Effective(keyword string) Directive {
	if d, ok := c.Global[keyword]; ok {
		return d
	}
	d := sshdDefaults[keyword]
	d.Default = true
	if len(c.Files) > 0 {
		d.Location = rampart.Location{Path: c.Files[0]}
	}
	return d
}

// EffectiveIn returns the value of keyword for connections matching m:
// the block's own, or the global one.
func (c *SSHDConfig) EffectiveIn(m *MatchBlock, keyword string) Directive {
	if d, ok := m.Directives[keyword]; ok {
		return d
	}
	return c.Effective(keyword)
}

// ReadSSHDConfig parses the sshd configuration at hostPath (normally
// SSHDConfigPath) and every file it includes, from fsys, whose names are
// host paths without the leading slash.
func ReadSSHDConfig(fsys fs.FS, hostPath string) (*SSHDConfig, error) {
	p := &sshdParser{fsys: fsys, cfg: &SSHDConfig{Global: map[string]Directive{}}}
	b, err := fs.ReadFile(fsys, rel(hostPath))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", hostPath, err)
	}
	if err := p.parse(hostPath, b, -1, 0); err != nil {
		return nil, err
	}
	return p.cfg, nil
}

type sshdParser struct {
	fsys fs.FS
	cfg  *SSHDConfig
}

// parse reads one file's lines into the configuration. block is the index
// of the Match block the file is read in (-1 for global): an Include
// inside a Match block puts the included lines in that block, and a Match
// inside an included file ends with the file, as in sshd.
func (p *sshdParser) parse(file string, content []byte, block, depth int) error {
	p.cfg.Files = append(p.cfg.Files, file)
	for n, line := range strings.Split(string(content), "\n") {
		loc := rampart.Location{Path: file, Line: n + 1}
		kw, args, err := splitSSHDLine(line)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", file, n+1, err)
		}
		if kw == "" {
			continue
		}
		key := strings.ToLower(kw)
		if a, ok := keywordAliases[key]; ok {
			key = a
		}
		switch key {
		case "match":
			if len(args) == 0 {
				return fmt.Errorf("%s:%d: Match without criteria", file, n+1)
			}
			p.cfg.Matches = append(p.cfg.Matches, MatchBlock{
				Criteria:   strings.Join(args, " "),
				Location:   loc,
				Directives: map[string]Directive{},
			})
			block = len(p.cfg.Matches) - 1
			continue
		case "include":
			if len(args) == 0 {
				return fmt.Errorf("%s:%d: Include without a file", file, n+1)
			}
			if err := p.include(file, n+1, args, block, depth); err != nil {
				return err
			}
			continue
		}
		if len(args) == 0 {
			return fmt.Errorf("%s:%d: %s has no value", file, n+1, kw)
		}
		d := Directive{Keyword: kw, Value: strings.Join(args, " "), Location: loc}
		switch {
		case block >= 0:
			if _, ok := p.cfg.Matches[block].Directives[key]; !ok {
				p.cfg.Matches[block].Directives[key] = d
			}
		case key == "hostkey":
			p.cfg.HostKeys = append(p.cfg.HostKeys, d)
		default:
			if _, ok := p.cfg.Global[key]; !ok {
				p.cfg.Global[key] = d
			}
		}
	}
	return nil
}

func (p *sshdParser) include(file string, line int, patterns []string, block, depth int) error {
	if depth+1 > maxIncludeDepth {
		return fmt.Errorf("%s:%d: Include nested deeper than %d files", file, line, maxIncludeDepth)
	}
	for _, pat := range patterns {
		if !path.IsAbs(pat) {
			pat = path.Join("/etc/ssh", pat)
		}
		// A pattern that matches nothing is not an error for sshd.
		matches, err := glob(p.fsys, pat)
		if err != nil {
			return fmt.Errorf("%s:%d: Include %s: %w", file, line, pat, err)
		}
		for _, m := range matches {
			b, err := fs.ReadFile(p.fsys, rel(m))
			if err != nil {
				return fmt.Errorf("%s:%d: Include %s: %w", file, line, m, err)
			}
			if err := p.parse(m, b, block, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// splitSSHDLine splits a line the way sshd does: a keyword ended by white
// space or "=", an optional "=", then arguments separated by white space,
// double quotes grouping, a backslash escaping a quote, backslash or
// space, and an unquoted argument starting with "#" ending the line. A
// blank or comment line gives an empty keyword.
func splitSSHDLine(line string) (string, []string, error) {
	line = strings.TrimRight(line, " \t\r\f\v")
	s := strings.TrimLeft(line, " \t\r\f\v")
	if s == "" || s[0] == '#' {
		return "", nil, nil
	}
	i := strings.IndexAny(s, " \t\f\v=")
	if i < 0 {
		return s, nil, nil
	}
	kw, rest := s[:i], strings.TrimLeft(s[i:], " \t\f\v")
	if strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t\f\v")
	}
	if kw == "" {
		return "", nil, errors.New("line starts with '=' and has no keyword")
	}
	var args []string
	for j := 0; j < len(rest); {
		c := rest[j]
		if c == ' ' || c == '\t' || c == '\f' || c == '\v' {
			j++
			continue
		}
		if c == '#' {
			break
		}
		var arg strings.Builder
		quoted := false
		for ; j < len(rest); j++ {
			c = rest[j]
			if !quoted && (c == ' ' || c == '\t' || c == '\f' || c == '\v') {
				break
			}
			if c == '\\' && j+1 < len(rest) {
				n := rest[j+1]
				if n == '"' || n == '\'' || n == '\\' || (!quoted && n == ' ') {
					arg.WriteByte(n)
					j++
					continue
				}
			}
			if c == '"' {
				quoted = !quoted
				continue
			}
			arg.WriteByte(c)
		}
		if quoted {
			return "", nil, fmt.Errorf("%s: unterminated quote", kw)
		}
		args = append(args, arg.String())
	}
	return kw, args, nil
}
