package register

import (
	"net/url"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart"
)

// msgLiteralCredential is the one message for any credential written into
// the register. It never carries the value: error text ends up in
// terminals, CI logs and issue trackers.
const msgLiteralCredential = "a literal credential; write env:NAME or file:PATH" //nolint:gosec // G101: a message about credentials, not one

// credentialKeySuffixes are the endings (of a key lower-cased, without
// separators) that name a credential. Suffixes rather than whole words so
// that apiToken, clientSecret and db_password are caught while
// tokenFile or passwordAuthentication are not.
var credentialKeySuffixes = []string{
	"token", "tokens", "password", "passwords", "passwd", "passphrase",
	"secret", "secrets", "apikey", "apikeys", "privatekey", "credential",
	"credentials", "webhook", "webhookurl",
}

// separators are dropped to compare names written in different styles.
var separators = strings.NewReplacer("_", "", "-", "", ".", "", " ", "")

func isCredentialKey(key string) bool {
	k := strings.ToLower(separators.Replace(key))
	for _, s := range credentialKeySuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// tokenPatterns match credentials by their published formats, wherever
// they appear. This is a guard on the register, not a secret scanner:
// repositories are scanned by the git-repo integration with gitleaks, whose
// global state and logging do not belong in a configuration loader.
var tokenPatterns = regexp.MustCompile(strings.Join([]string{
	`gh[pousr]_[A-Za-z0-9]{30,}`,                                      // GitHub tokens
	`github_pat_[A-Za-z0-9_]{22,}`,                                    // GitHub fine-grained tokens
	`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`,                                   // AWS access key ids
	`xox[abposr]-[A-Za-z0-9-]{10,}`,                                   // Slack tokens
	`glpat-[A-Za-z0-9_-]{20,}`,                                        // GitLab tokens
	`-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`,                 // PEM and PGP private keys
	`\b[sr]k_live_[A-Za-z0-9]{16,}`,                                   // Stripe live keys
	`\bAIza[0-9A-Za-z_-]{35}`,                                         // Google API keys
	`\bnpm_[A-Za-z0-9]{36}`,                                           // npm tokens
	`\bhv[sb]\.[A-Za-z0-9_-]{24,}`,                                    // Vault tokens
	`\bops_eyJ[A-Za-z0-9+/=_-]{20,}`,                                  // 1Password service accounts
	`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`, // JWTs
	`hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+`,
	`\.webhook\.office\.com/webhookb2/[A-Za-z0-9@/_-]+`,
	`discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_-]+`,
}, "|"))

// secretQueryParams are URL query parameters that carry a credential.
var secretQueryParams = map[string]bool{
	"token": true, "access_token": true, "auth_token": true, "private_token": true,
	"api_key": true, "apikey": true, "password": true, "secret": true,
	"client_secret": true, "sig": true, "signature": true,
}

// looksLikeCredential reports whether s, wherever it is written, holds a
// credential: a known token format, or a URL carrying a password or a
// token.
func looksLikeCredential(s string) bool {
	if tokenPatterns.MatchString(s) {
		return true
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return false
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return false
	}
	if pw, ok := u.User.Password(); ok && pw != "" && !isReference(pw) {
		return true
	}
	for k, vs := range u.Query() {
		if secretQueryParams[strings.ToLower(k)] {
			for _, v := range vs {
				if v != "" {
					return true
				}
			}
		}
	}
	return false
}

// isReference reports whether s is an env: or file: reference.
func isReference(s string) bool {
	_, err := rampart.ParseSecretRef(s)
	return err == nil
}

// display quotes s for a message, unless it looks like a credential, in
// which case it says so instead and reports true.
func display(s string) (string, bool) {
	if looksLikeCredential(s) {
		return "(a value that looks like a credential, not shown)", true
	}
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`, false
}

// scanSecrets reports every literal credential under n: values under keys
// that name a credential and are not references, and anything written in a
// known token format. It runs over the whole document, free-form specs
// included, before the structure is checked, so a credential is reported
// even where the field itself is wrong.
func (p *parser) scanSecrets(n *yaml.Node, path string, credKey bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && isMerge(k) {
				p.scanSecrets(v, path, false)
				continue
			}
			if k.Kind == yaml.ScalarNode && looksLikeCredential(k.Value) {
				p.secret(k, path, k.Value)
				continue
			}
			p.scanSecrets(v, join(path, k.Value), k.Kind == yaml.ScalarNode && isCredentialKey(k.Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.scanSecrets(c, index(path, i), credKey)
		}
	case yaml.ScalarNode:
		v := n.Value
		switch {
		case v == "" || n.ShortTag() == "!!null" || n.ShortTag() == "!!bool":
		case looksLikeCredential(v):
			p.secret(n, path, v)
		case credKey && !isReference(v):
			p.secret(n, path, v)
		}
	}
}

// secret reports a literal credential and remembers its value so that no
// other message (an integration's Validate, say) can repeat it.
func (p *parser) secret(n *yaml.Node, path, value string) {
	p.secrets = append(p.secrets, value)
	p.errorf(n, path, msgLiteralCredential)
}

// redact removes every credential the scan saw, and anything in a known
// token format, from a message written by code that did not know better.
func (p *parser) redact(s string) string {
	for _, v := range p.secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return tokenPatterns.ReplaceAllString(s, "[redacted]")
}
