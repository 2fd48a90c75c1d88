package rampart

// Framework is a set of criteria a control can support: SOC 2's Trust
// Services Criteria, ISO/IEC 27001:2022 Annex A.
type Framework struct {
	ID       string      `json:"id"` // "soc2", "iso27001"
	Name     string      `json:"name"`
	Criteria []Criterion `json:"criteria"`
}

// Criterion is one criterion of a framework, by its official id with a
// short title in Rampart's own words.
type Criterion struct {
	Framework string `json:"framework"`
	ID        string `json:"id"` // "CC6.1", "A.8.24"
	// Category groups criteria: for SOC 2 the trust services category
	// (security, availability, confidentiality, processing integrity,
	// privacy), for ISO the theme (organizational, people, physical,
	// technological).
	Category string `json:"category"`
	Title    string `json:"title"`
}

// Area is a section of the register's index ("Source Control / GitHub").
type Area struct {
	ID    string `json:"id"`    // "source-control/github"
	Title string `json:"title"` // "Source Control: GitHub"
}

// Control is one of the company's control statements.
type Control struct {
	ID        string `json:"id"` // "GH-01"
	Title     string `json:"title"`
	Statement string `json:"statement"`
	Area      string `json:"area"`
	// Criteria lists the criteria the control supports, by id, across
	// frameworks ("CC6.1", "A.8.3").
	Criteria    []string    `json:"criteria"`
	Periodicity Periodicity `json:"periodicity"`
	Owner       string      `json:"owner"` // a role: "platform-lead"
	// Checks lists the ids of the checks that evidence the control.
	Checks []string `json:"checks,omitempty"`
	// Procedure is the manual review procedure, for controls a person
	// evidences; empty for fully automated controls.
	Procedure string `json:"procedure,omitempty"`
	// Kinds lists the resource kinds a manual review covers, if any.
	Kinds []Kind `json:"kinds,omitempty"`
	// Source is where the control is defined (embedded or a user file).
	Source Position `json:"-"`
}

// Manual reports whether a person's review evidences the control.
func (c *Control) Manual() bool { return c.Procedure != "" }

// Automated reports whether checks evidence the control.
func (c *Control) Automated() bool { return len(c.Checks) > 0 }
