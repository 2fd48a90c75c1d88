package rampart

import (
	"fmt"
	"strings"
)

// Severity ranks how much a failing check matters.
type Severity int

// Severities, lowest first.
const (
	SeverityInfo Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name (case-insensitive).
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, Errorf(KindInvalid, "unknown severity %q (want one of %s)", s, strings.Join(severityNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Criticality ranks how much a resource matters to the business.
type Criticality int

// Criticalities, lowest first.
const (
	CriticalityLow Criticality = iota
	CriticalityMedium
	CriticalityHigh
	CriticalityCritical
)

var criticalityNames = [...]string{"low", "medium", "high", "critical"}

func (c Criticality) String() string {
	if c < 0 || int(c) >= len(criticalityNames) {
		return fmt.Sprintf("criticality(%d)", int(c))
	}
	return criticalityNames[c]
}

// CriticalityNames lists the accepted criticality names, lowest first.
func CriticalityNames() []string { return criticalityNames[:] }

// SeverityNames lists the accepted severity names, lowest first.
func SeverityNames() []string { return severityNames[:] }

// ParseCriticality reads a criticality name (case-insensitive).
func ParseCriticality(s string) (Criticality, error) {
	for i, n := range criticalityNames {
		if strings.EqualFold(s, n) {
			return Criticality(i), nil
		}
	}
	return 0, Errorf(KindInvalid, "unknown criticality %q (want one of %s)", s, strings.Join(criticalityNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (c Criticality) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Criticality) UnmarshalText(b []byte) error {
	v, err := ParseCriticality(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
