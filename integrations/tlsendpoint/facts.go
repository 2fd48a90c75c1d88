package tlsendpoint

import (
	"fmt"
	"time"
)

// Facts is what one connection to a TLS endpoint showed. It is kept as
// evidence, so every check reads only these fields and CollectedAt stands
// in for "now".
type Facts struct {
	Address    string `json:"address"`
	ServerName string `json:"serverName"`
	// CollectedAt is when the handshake happened; expiry is computed
	// against it.
	CollectedAt time.Time `json:"collectedAt"`
	// Version and CipherSuite are what the first handshake negotiated,
	// offering TLS 1.0 to 1.3 ("TLS 1.3", "TLS_AES_128_GCM_SHA256").
	Version     string `json:"version"`
	CipherSuite string `json:"cipherSuite"`
	// Chain is the chain as the server presented it, leaf first.
	Chain    []Certificate `json:"chain"`
	Trust    TrustResult   `json:"trust"`
	Hostname HostnameMatch `json:"hostname"`
	// Protocols holds one probe per legacy version (TLS 1.0, TLS 1.1).
	Protocols []ProtocolProbe `json:"protocols"`
}

// Certificate is one certificate of the presented chain.
type Certificate struct {
	// Position is the index in the presented chain: 0 is the leaf.
	Position     int       `json:"position"`
	Subject      string    `json:"subject"`
	CommonName   string    `json:"commonName,omitempty"`
	Issuer       string    `json:"issuer"`
	SerialNumber string    `json:"serialNumber"` // hex
	DNSNames     []string  `json:"dnsNames,omitempty"`
	IPAddresses  []string  `json:"ipAddresses,omitempty"`
	NotBefore    time.Time `json:"notBefore"`
	NotAfter     time.Time `json:"notAfter"`
	// PublicKeyAlgorithm is "RSA", "ECDSA", "Ed25519" or "DSA";
	// PublicKeyBits is the modulus size for RSA and the curve size for
	// ECDSA; Curve names the curve ("P-256").
	PublicKeyAlgorithm string `json:"publicKeyAlgorithm"`
	PublicKeyBits      int    `json:"publicKeyBits,omitempty"`
	Curve              string `json:"curve,omitempty"`
	// SignatureAlgorithm is how the issuer signed this certificate, as
	// crypto/x509 names it ("SHA256-RSA", "ECDSA-SHA1").
	SignatureAlgorithm string `json:"signatureAlgorithm"`
	// SHA256 is the hex SHA-256 fingerprint of the DER certificate.
	SHA256 string `json:"sha256"`
	IsCA   bool   `json:"isCA"`
	// SelfSigned is set when issuer and subject are the same and the
	// authority key id, if any, is the certificate's own.
	SelfSigned bool `json:"selfSigned"`
}

// Label names the certificate in findings: its common name, or first
// DNS name, or subject, and its position. It holds nothing that changes
// on renewal under the same name, so a finding keeps its identity.
func (c *Certificate) Label() string {
	name := c.CommonName
	if name == "" && len(c.DNSNames) > 0 {
		name = c.DNSNames[0]
	}
	if name == "" {
		name = c.Subject
	}
	return fmt.Sprintf("certificate %s (position %d)", name, c.Position)
}

// TrustStatus says whether the chain verified.
type TrustStatus string

// The trust statuses. Unknown means the verification could not be run
// (the system roots could not be loaded), which the trust check reports as
// an error, never a pass.
const (
	Trusted      TrustStatus = "trusted"
	Untrusted    TrustStatus = "untrusted"
	TrustUnknown TrustStatus = "unknown"
)

// TrustResult is the result of verifying the presented chain, independent of
// the server name (which HostnameMatch covers).
type TrustResult struct {
	// Roots is "system" or the path of the CA bundle.
	Roots  string      `json:"roots"`
	Status TrustStatus `json:"status"`
	// Error is crypto/x509's reason when Status is not trusted.
	Error string `json:"error,omitempty"`
	// VerifiedAt is the time the chain was verified at: the collection
	// time, or, when a certificate is outside its validity period, a time
	// inside every presented certificate's validity, so that expiry is
	// reported once (by the expiry checks) and trust says only whether
	// the chain leads to a trusted root.
	VerifiedAt time.Time `json:"verifiedAt"`
	// VerifiedChain lists the subjects of the chain that verified, leaf
	// to root.
	VerifiedChain []string `json:"verifiedChain,omitempty"`
}

// HostnameMatch is whether the leaf is valid for the server name.
type HostnameMatch struct {
	Name    string `json:"name"`
	Matches bool   `json:"matches"`
	Error   string `json:"error,omitempty"`
}

// ProbeResult is what a legacy protocol probe showed.
type ProbeResult string

// The probe results. Unknown means the probe could not connect or timed
// out, so acceptance cannot be told.
const (
	ProbeAccepted ProbeResult = "accepted"
	ProbeRejected ProbeResult = "rejected"
	ProbeUnknown  ProbeResult = "unknown"
)

// ProtocolProbe is one handshake offering exactly one protocol version.
type ProtocolProbe struct {
	Version string      `json:"version"` // "TLS 1.0"
	Result  ProbeResult `json:"result"`
	// Detail is the handshake error for a rejection, the connection error
	// for an unknown result, the negotiated cipher for an acceptance.
	Detail string `json:"detail,omitempty"`
}
