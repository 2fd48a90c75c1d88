package tlsendpoint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rampart-dev/rampart"
)

const day = 24 * time.Hour

// Expired fails for every presented certificate outside its validity
// period at collection time.
var Expired = &rampart.Check{
	ID:       "TLS-EXPIRED",
	Version:  1,
	Title:    "Certificates are within their validity period",
	Severity: rampart.SeverityCritical,
	Kind:     Kind,
	Controls: []string{"PKI-01"},
	Remediation: "Renew the certificate and deploy it with its chain. Automate renewal (ACME with " +
		"Let's Encrypt, or step-ca's renewal daemon) so that it cannot lapse again.",
	Doc: `Reads collectedAt and, for each certificate of chain, notBefore and notAfter.
Fails with one finding per presented certificate that is expired (notAfter
before collectedAt) or not yet valid (notBefore after collectedAt). Errors
when the facts hold no chain or no collection time. Certificates close to
expiry are TLS-EXPIRING-7D's and TLS-EXPIRING-30D's concern.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needChain(f); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		for _, c := range f.Chain {
			switch {
			case f.CollectedAt.After(c.NotAfter):
				findings = append(findings, rampart.Finding{
					Item: c.Label(),
					Message: fmt.Sprintf("expired on %s (%s before the scan)",
						c.NotAfter.Format(time.DateOnly), days(f.CollectedAt.Sub(c.NotAfter))),
				})
			case f.CollectedAt.Before(c.NotBefore):
				findings = append(findings, rampart.Finding{
					Item:    c.Label(),
					Message: "not valid before " + c.NotBefore.Format(time.RFC3339),
				})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("%d certificate(s) valid at %s; leaf valid until %s",
			len(f.Chain), f.CollectedAt.Format(time.RFC3339), f.Chain[0].NotAfter.Format(time.DateOnly)))
	}),
}

// Expiring7D fails for every presented certificate that expires within a
// week.
var Expiring7D = &rampart.Check{
	ID:       "TLS-EXPIRING-7D",
	Version:  1,
	Title:    "No certificate expires within 7 days",
	Severity: rampart.SeverityCritical,
	Kind:     Kind,
	Controls: []string{"PKI-01"},
	Remediation: "Renew the certificate now. If renewal is automated, find out why it did not run " +
		"(ACME challenge failing, renewal timer disabled, step-ca provisioner expired).",
	Doc: `Reads collectedAt and, for each certificate of chain, notBefore and notAfter.
Fails with one finding per presented certificate that is still valid but
expires in less than 7 days (notAfter - collectedAt < 7×24h). An expired
certificate is not counted here (TLS-EXPIRED reports it). Errors when the
facts hold no chain or no collection time.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return expiring(f, 0, 7*day, "")
	}),
}

// Expiring30D fails for every presented certificate that expires in 7 to
// 30 days.
var Expiring30D = &rampart.Check{
	ID:       "TLS-EXPIRING-30D",
	Version:  1,
	Title:    "No certificate expires within 30 days",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"PKI-01"},
	Remediation: "Renew the certificate before it enters its last week. Let's Encrypt clients renew " +
		"30 days ahead by default: a certificate this close to expiry means renewal is not running.",
	Doc: `Reads collectedAt and, for each certificate of chain, notBefore and notAfter.
Fails with one finding per presented certificate whose remaining validity
is at least 7 days and less than 30 days (7×24h ≤ notAfter - collectedAt
< 30×24h). A certificate with less than 7 days left is reported by
TLS-EXPIRING-7D only, and an expired one by TLS-EXPIRED only, so that one
certificate opens one task at the severity of its worst state. Errors when
the facts hold no chain or no collection time.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		return expiring(f, 7*day, 30*day, "TLS-EXPIRING-7D")
	}),
}

// expiring fails for valid certificates with lo ≤ remaining < hi.
func expiring(f *Facts, lo, hi time.Duration, below string) rampart.Evaluation {
	if err := needChain(f); err != nil {
		return rampart.Errored(err)
	}
	var findings []rampart.Finding
	var sooner []string
	for _, c := range f.Chain {
		if f.CollectedAt.After(c.NotAfter) || f.CollectedAt.Before(c.NotBefore) {
			continue
		}
		left := c.NotAfter.Sub(f.CollectedAt)
		switch {
		case left < lo:
			sooner = append(sooner, c.Label())
		case left < hi:
			findings = append(findings, rampart.Finding{
				Item: c.Label(),
				Message: fmt.Sprintf("expires on %s, %s after the scan",
					c.NotAfter.Format(time.DateOnly), days(left)),
			})
		}
	}
	reason := fmt.Sprintf("no valid certificate expires within %s; leaf valid until %s",
		days(hi), f.Chain[0].NotAfter.Format(time.DateOnly))
	if len(sooner) > 0 {
		reason = fmt.Sprintf("no valid certificate expires in %s to %s (%s: reported by %s)",
			days(lo), days(hi), strings.Join(sooner, ", "), below)
	}
	return rampart.Verdict(findings, reason)
}

// Hostname fails when the leaf is not valid for the server name.
var Hostname = &rampart.Check{
	ID:       "TLS-HOSTNAME",
	Version:  1,
	Title:    "The certificate is valid for the server name",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"PKI-02"},
	Remediation: "Issue a certificate whose subject alternative names include the name clients use " +
		"(DNS name or IP address), or correct the resource's serverName if it is wrong.",
	Doc: `Reads hostname.name, hostname.matches and hostname.error (the result of
crypto/x509's VerifyHostname of the leaf against the server name sent as
SNI: subject alternative names only, wildcards in the leftmost label, the
common name ignored as browsers do), and chain[0]'s names for the message.
Fails with one finding naming the server name when it does not match.
Errors when the facts hold no chain or no server name.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needChain(f); err != nil {
			return rampart.Errored(err)
		}
		if f.Hostname.Name == "" {
			return rampart.Errored(errors.New("facts hold no server name"))
		}
		leaf := &f.Chain[0]
		names := append(append([]string{}, leaf.DNSNames...), leaf.IPAddresses...)
		if f.Hostname.Matches {
			return rampart.Pass(fmt.Sprintf("certificate valid for %s (%s)", f.Hostname.Name, strings.Join(names, ", ")))
		}
		valid := "no subject alternative name"
		if len(names) > 0 {
			valid = strings.Join(names, ", ")
		}
		return rampart.Failed(rampart.Finding{
			Item:    "server name " + f.Hostname.Name,
			Message: fmt.Sprintf("%s is valid for %s, not %s", leaf.Label(), valid, f.Hostname.Name),
		})
	}),
}

// Trust fails when the chain does not lead to a trusted root.
var Trust = &rampart.Check{
	ID:       "TLS-TRUST",
	Version:  1,
	Title:    "The certificate chain leads to a trusted root",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"PKI-02"},
	Remediation: "Serve the full chain (leaf and intermediates) from a CA clients trust: a public CA, " +
		"or your private CA (step-ca) distributed to clients and named in the resource's caBundle. " +
		"Replace self-signed certificates and SHA-1 signed chains.",
	Doc: `Reads trust.status, trust.error and trust.roots: the result of crypto/x509
verifying the presented chain for server authentication against the system
roots, or only the CA bundle's certificates when caBundle is set, with the
presented intermediates. The name is not part of it (TLS-HOSTNAME), nor is
the validity period: when a presented certificate is outside its validity
period, the chain is verified at an instant inside all of them
(trust.verifiedAt) so expiry is reported once, by TLS-EXPIRED. Fails with
one finding for the chain when it does not verify (unknown authority,
self-signed, SHA-1 signature, wrong key usage). Errors when verification
could not run (system roots unavailable) or the facts hold no result.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needChain(f); err != nil {
			return rampart.Errored(err)
		}
		switch f.Trust.Status {
		case Trusted:
			return rampart.Pass(fmt.Sprintf("chain verified against %s: %s", f.Trust.Roots, strings.Join(f.Trust.VerifiedChain, " ← ")))
		case Untrusted:
			return rampart.Failed(rampart.Finding{
				Item:    "certificate chain",
				Message: fmt.Sprintf("chain of %s does not verify against %s roots: %s", f.Chain[0].Label(), f.Trust.Roots, f.Trust.Error),
			})
		case TrustUnknown:
			return rampart.Errored(fmt.Errorf("chain could not be verified: %s", f.Trust.Error))
		}
		return rampart.Errored(fmt.Errorf("facts hold no trust result (status %q)", f.Trust.Status))
	}),
}

// Protocol fails when TLS 1.0 or 1.1 is accepted.
var Protocol = &rampart.Check{
	ID:       "TLS-PROTOCOL",
	Version:  1,
	Title:    "Only TLS 1.2 and later are accepted",
	Severity: rampart.SeverityHigh,
	Kind:     Kind,
	Controls: []string{"PKI-02", "SRV-03"},
	Remediation: "Set the server's minimum protocol to TLS 1.2 (nginx ssl_protocols TLSv1.2 TLSv1.3; " +
		"Apache SSLProtocol -all +TLSv1.2 +TLSv1.3; Go tls.Config.MinVersion = tls.VersionTLS12).",
	Doc: `Reads protocols[] (one handshake per legacy version, TLS 1.0 and TLS 1.1,
offering only that version and every cipher suite Go implements, including
the insecure CBC and 3DES ones) and version (the version the first handshake
negotiated). Fails with one finding per legacy version the server accepted,
and when the negotiated version is older than TLS 1.2. Errors when a probe
is missing or could not tell (connection refused or timed out) and no
legacy version was seen accepted. SSL 3.0 is not probed: Go cannot speak it.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		var findings []rampart.Finding
		var unknown []string
		seen := map[string]bool{}
		for _, p := range f.Protocols {
			seen[p.Version] = true
			switch p.Result {
			case ProbeAccepted:
				findings = append(findings, rampart.Finding{
					Item:    "protocol " + p.Version,
					Message: fmt.Sprintf("server accepts %s (negotiated %s)", p.Version, p.Detail),
				})
			case ProbeRejected:
			default:
				unknown = append(unknown, fmt.Sprintf("%s: %s", p.Version, p.Detail))
			}
		}
		if legacy(f.Version) && !seen[f.Version] {
			findings = append(findings, rampart.Finding{
				Item:    "protocol " + f.Version,
				Message: "server negotiated " + f.Version,
			})
		}
		if len(findings) > 0 {
			return rampart.Failed(findings...)
		}
		for _, v := range []string{"TLS 1.0", "TLS 1.1"} {
			if !seen[v] {
				unknown = append(unknown, v+": not probed")
			}
		}
		if len(unknown) > 0 {
			return rampart.Errored(fmt.Errorf("could not tell whether legacy protocols are accepted (%s)", strings.Join(unknown, "; ")))
		}
		return rampart.Pass(fmt.Sprintf("TLS 1.0 and 1.1 refused; negotiated %s with %s", f.Version, f.CipherSuite))
	}),
}

func legacy(version string) bool {
	switch version {
	case "SSLv3", "TLS 1.0", "TLS 1.1":
		return true
	}
	return false
}

// KeyStrength fails for RSA keys under 2048 bits, EC keys under 256 bits
// and DSA keys.
var KeyStrength = &rampart.Check{
	ID:       "TLS-KEY-STRENGTH",
	Version:  1,
	Title:    "Certificate keys are strong enough",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"PKI-02"},
	Remediation: "Issue a new certificate on a new key: ECDSA P-256 or larger, Ed25519, or RSA of " +
		"at least 2048 bits (3072 for keys meant to last past 2030).",
	Doc: `Reads publicKeyAlgorithm and publicKeyBits of each certificate of chain.
Fails with one finding per presented certificate with an RSA key under 2048
bits, an ECDSA key on a curve under 256 bits, or a DSA key. Ed25519 passes.
Errors when a certificate's key algorithm is unknown or its size was not
recorded.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needChain(f); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		var seen []string
		for _, c := range f.Chain {
			weak := false
			switch c.PublicKeyAlgorithm {
			case "RSA":
				if c.PublicKeyBits == 0 {
					return rampart.Errored(fmt.Errorf("%s: RSA key size not recorded", c.Label()))
				}
				weak = c.PublicKeyBits < 2048
			case "ECDSA":
				if c.PublicKeyBits == 0 {
					return rampart.Errored(fmt.Errorf("%s: EC key size not recorded", c.Label()))
				}
				weak = c.PublicKeyBits < 256
			case "DSA":
				weak = true
			case "Ed25519":
			default:
				return rampart.Errored(fmt.Errorf("%s: unknown key algorithm %q", c.Label(), c.PublicKeyAlgorithm))
			}
			desc := keyDesc(c)
			seen = append(seen, desc)
			if weak {
				findings = append(findings, rampart.Finding{
					Item:    c.Label(),
					Message: desc + " key is too weak",
				})
			}
		}
		return rampart.Verdict(findings, "keys: "+strings.Join(seen, ", "))
	}),
}

func keyDesc(c Certificate) string {
	switch {
	case c.PublicKeyAlgorithm == "ECDSA" && c.Curve != "":
		return "ECDSA " + c.Curve
	case c.PublicKeyBits > 0:
		return fmt.Sprintf("%s-%d", c.PublicKeyAlgorithm, c.PublicKeyBits)
	}
	return c.PublicKeyAlgorithm
}

// SHA1 fails for SHA-1 (or weaker) signatures on certificates other than
// self-signed roots.
var SHA1 = &rampart.Check{
	ID:       "TLS-SHA1",
	Version:  1,
	Title:    "No certificate is signed with SHA-1",
	Severity: rampart.SeverityMedium,
	Kind:     Kind,
	Controls: []string{"PKI-02"},
	Remediation: "Reissue the certificate (and any intermediate) with a SHA-256 or stronger signature; " +
		"clients, Go's included, no longer accept SHA-1 signed certificates.",
	Doc: `Reads signatureAlgorithm, position and selfSigned of each certificate of
chain. Fails with one finding per presented certificate signed with SHA-1
(or the older MD5 and MD2), except self-signed certificates past the leaf:
a root's signature on itself is not relied on. A self-signed leaf is
checked. Errors when the facts hold no chain or a signature algorithm was
not recorded.`,
	Run: rampart.Typed(func(_ context.Context, f *Facts) rampart.Evaluation {
		if err := needChain(f); err != nil {
			return rampart.Errored(err)
		}
		var findings []rampart.Finding
		for _, c := range f.Chain {
			if c.SignatureAlgorithm == "" {
				return rampart.Errored(fmt.Errorf("%s: signature algorithm not recorded", c.Label()))
			}
			if c.Position > 0 && c.SelfSigned {
				continue
			}
			alg := strings.ToUpper(c.SignatureAlgorithm)
			if strings.Contains(alg, "SHA1") || strings.Contains(alg, "MD5") || strings.Contains(alg, "MD2") {
				findings = append(findings, rampart.Finding{
					Item:    c.Label(),
					Message: "signed with " + c.SignatureAlgorithm,
				})
			}
		}
		return rampart.Verdict(findings, fmt.Sprintf("no SHA-1 signature on %d certificate(s); leaf signed with %s",
			len(f.Chain), f.Chain[0].SignatureAlgorithm))
	}),
}

func needChain(f *Facts) error {
	if len(f.Chain) == 0 {
		return errors.New("facts hold no certificate chain")
	}
	if f.CollectedAt.IsZero() {
		return errors.New("facts hold no collection time")
	}
	return nil
}

// days renders a duration in whole days, rounded down ("5 days").
func days(d time.Duration) string {
	n := int(d / day)
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
