package register

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rampart-dev/rampart"
)

// Defaults of the schedule and notify sections.
const (
	DefaultJitter         = 5 * time.Minute
	DefaultReviewGrace    = 14 * 24 * time.Hour
	DefaultResendInterval = time.Minute
	// DefaultPagerDutyURL is PagerDuty's Events API v2 endpoint.
	DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"
)

// Schedule is the register's schedule section, with defaults applied.
type Schedule struct {
	// TimeZone is where periods start; settings.timezone unless the
	// schedule names its own.
	TimeZone     *time.Location
	TimeZoneName string
	// Jitter bounds how long past its period's start a job waits, so that
	// due work spreads out.
	Jitter time.Duration
	// ReviewGrace is how long a review may stay open before it is overdue.
	ReviewGrace time.Duration
}

var (
	scheduleFields = []string{"timezone", "jitter", "reviewGrace"}
	notifyFields   = []string{"externalURL", "resendInterval", "receivers", "routes"}
	receiverFields = []string{"name", "type", "url", "webhookURL", "routingKey", "secret", "bearerToken"}
	routeFields    = []string{"receivers", "events", "minSeverity", "areas", "environments"}
)

func (p *parser) schedule(n *yaml.Node, c *Config) {
	if isNull(n) {
		return
	}
	fields := p.fields(n, "schedule", scheduleFields, false)
	if e, ok := fields["timezone"]; ok {
		if s, ok := p.nonEmpty(e.val, "schedule.timezone"); ok {
			loc, err := time.LoadLocation(s)
			if err != nil {
				shown, _ := display(s)
				p.errorf(e.val, "schedule.timezone", "unknown time zone %s (want an IANA name such as Europe/Madrid, or UTC)", shown)
			} else {
				c.Schedule.TimeZone, c.Schedule.TimeZoneName = loc, s
			}
		}
	}
	if e, ok := fields["jitter"]; ok {
		if d, ok := p.duration(e.val, "schedule.jitter"); ok {
			if d < 0 {
				p.errorf(e.val, "schedule.jitter", "want 0 (no jitter) or a positive duration such as 5m")
			} else {
				c.Schedule.Jitter = d
			}
		}
	}
	if e, ok := fields["reviewGrace"]; ok {
		if d, ok := p.days(e.val, "schedule.reviewGrace"); ok {
			if d <= 0 {
				p.errorf(e.val, "schedule.reviewGrace", "want a positive duration such as 14d or 72h")
			} else {
				c.Schedule.ReviewGrace = d
			}
		}
	}
}

// days reads a duration that may also be written in whole days ("14d"),
// which Go durations lack.
func (p *parser) days(n *yaml.Node, field string) (time.Duration, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		s := strings.TrimSpace(n.Value)
		if d, ok := strings.CutSuffix(s, "d"); ok && d != "" && strings.Trim(d, "0123456789") == "" {
			var v int
			if _, err := fmt.Sscan(d, &v); err == nil && v <= 3660 {
				return time.Duration(v) * 24 * time.Hour, true
			}
		}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && !looksLikeCredential(n.Value) {
		if d, err := time.ParseDuration(strings.TrimSpace(n.Value)); err == nil {
			return d, true
		}
		shown, _ := display(n.Value)
		p.errorf(n, field, "%s is not a duration (write it as 14d, 72h or 90m)", shown)
		return 0, false
	}
	return p.duration(n, field)
}

func (p *parser) notify(n *yaml.Node, c *Config) {
	if isNull(n) {
		return
	}
	fields := p.fields(n, "notify", notifyFields, false)
	if e, ok := fields["externalURL"]; ok {
		if s, ok := p.nonEmpty(e.val, "notify.externalURL"); ok {
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.errorf(e.val, "notify.externalURL", "want Rampart's own absolute URL, such as https://rampart.example.com")
			} else {
				c.Notify.ExternalURL = strings.TrimRight(s, "/")
			}
		}
	}
	if e, ok := fields["resendInterval"]; ok {
		if d, ok := p.duration(e.val, "notify.resendInterval"); ok {
			if d < 10*time.Second {
				p.errorf(e.val, "notify.resendInterval", "want at least 10s (Alertmanager is sent every firing alert at each interval)")
			} else {
				c.Notify.ResendInterval = d
			}
		}
	}
	names := map[string]*yaml.Node{}
	if e, ok := fields["receivers"]; ok && !isNull(e.val) {
		if e.val.Kind != yaml.SequenceNode {
			p.errorf(e.val, "notify.receivers", "want a list of receivers, got %s", describe(e.val))
		} else {
			for i, rn := range e.val.Content {
				if r, ok := p.receiver(rn, index("notify.receivers", i), names); ok {
					c.Notify.Receivers = append(c.Notify.Receivers, r)
				}
			}
		}
	}
	if e, ok := fields["routes"]; ok && !isNull(e.val) {
		if e.val.Kind != yaml.SequenceNode {
			p.errorf(e.val, "notify.routes", "want a list of routes, got %s", describe(e.val))
		} else {
			for i, rn := range e.val.Content {
				if r, ok := p.route(rn, index("notify.routes", i), names); ok {
					c.Notify.Routes = append(c.Notify.Routes, r)
				}
			}
		}
	}
}

func receiverTypeNames() []string {
	var out []string
	for _, t := range rampart.ReceiverTypes() {
		out = append(out, string(t))
	}
	return out
}

// receiverNeeds says, per type, which fields a receiver must and may have.
var receiverNeeds = map[rampart.ReceiverType]struct{ required, allowed []string }{
	rampart.ReceiverAlertmanager: {[]string{"url"}, []string{"bearerToken"}},
	rampart.ReceiverPagerDuty:    {[]string{"routingKey"}, []string{"url"}},
	rampart.ReceiverSlack:        {[]string{"webhookURL"}, nil},
	rampart.ReceiverTeams:        {[]string{"webhookURL"}, nil},
	rampart.ReceiverWebhook:      {[]string{"url", "secret"}, []string{"bearerToken"}},
}

func (p *parser) receiver(n *yaml.Node, path string, names map[string]*yaml.Node) (rampart.Receiver, bool) {
	r := rampart.Receiver{Source: p.pos(n)}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "want a receiver (a mapping with name and type), got %s", describe(n))
		return r, false
	}
	before := len(p.errs)
	fields := p.fields(n, path, receiverFields, false)
	for _, f := range []string{"name", "type"} {
		if _, ok := fields[f]; !ok {
			p.errorf(n, path+"."+f, "missing (every receiver needs a name and a type)")
		}
	}
	if e, ok := fields["name"]; ok {
		if s, ok := p.nonEmpty(e.val, path+".name"); ok {
			switch prev, dup := names[s]; {
			case !idPattern.MatchString(s):
				p.errorf(e.val, path+".name", "receiver name %q must be lower-case letters, digits, '.', '_' and '-'", s)
			case dup:
				p.errorf(e.val, path+".name", "duplicate receiver %q (first defined at line %d)", s, prev.Line)
			default:
				names[s] = e.val
				r.Name = s
			}
		}
	}
	if e, ok := fields["type"]; ok {
		if s, ok := p.nonEmpty(e.val, path+".type"); ok {
			if _, known := receiverNeeds[rampart.ReceiverType(s)]; known {
				r.Type = rampart.ReceiverType(s)
			} else {
				p.errorf(e.val, path+".type", "%s", unknown("receiver type", "types", s, receiverTypeNames()))
			}
		}
	}
	if r.Type != "" {
		needs := receiverNeeds[r.Type]
		for _, f := range needs.required {
			if _, ok := fields[f]; !ok {
				p.errorf(n, path+"."+f, "missing (receivers of type %s need %s)", r.Type, strings.Join(needs.required, " and "))
			}
		}
		for _, f := range receiverFields[2:] {
			e, ok := fields[f]
			if ok && !slices.Contains(needs.required, f) && !slices.Contains(needs.allowed, f) {
				hint := ""
				if f == "url" && (r.Type == rampart.ReceiverSlack || r.Type == rampart.ReceiverTeams) {
					hint = "; the webhook URL holds its token: write webhookURL: env:NAME"
				}
				p.errorf(e.key, path+"."+f, "receivers of type %s take no %s%s", r.Type, f, hint)
			}
		}
	}
	if e, ok := fields["url"]; ok {
		if s, ok := p.nonEmpty(e.val, path+".url"); ok {
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.errorf(e.val, path+".url", "want an absolute http or https URL")
			} else {
				r.URL = s
			}
		}
	}
	if r.Type == rampart.ReceiverPagerDuty && r.URL == "" {
		r.URL = DefaultPagerDutyURL
	}
	r.WebhookURL = p.secretRef(fields, "webhookURL", path)
	r.RoutingKey = p.secretRef(fields, "routingKey", path)
	r.Secret = p.secretRef(fields, "secret", path)
	r.BearerToken = p.secretRef(fields, "bearerToken", path)
	return r, len(p.errs) == before
}

// secretRef reads a credential field, which must be a reference. Keys
// that name a credential (webhookURL, secret, bearerToken) were already
// reported by the secret scan when literal; routingKey is reported here.
func (p *parser) secretRef(fields map[string]entry, name, path string) rampart.SecretRef {
	e, ok := fields[name]
	if !ok {
		return ""
	}
	field := path + "." + name
	n := e.val
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, field, "want env:NAME or file:PATH, got %s", describe(n))
		return ""
	}
	v := strings.TrimSpace(n.Value)
	if ref, err := rampart.ParseSecretRef(v); err == nil {
		return ref
	}
	if !isCredentialKey(name) && !looksLikeCredential(v) {
		p.secret(n, field, v)
	}
	return ""
}

func (p *parser) route(n *yaml.Node, path string, names map[string]*yaml.Node) (rampart.Route, bool) {
	r := rampart.Route{Source: p.pos(n)}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "want a route (a mapping with receivers and matchers), got %s", describe(n))
		return r, false
	}
	before := len(p.errs)
	fields := p.fields(n, path, routeFields, false)
	e, ok := fields["receivers"]
	if !ok {
		p.errorf(n, path+".receivers", "missing (a route names the receivers it sends to)")
	} else {
		items := p.stringList(e.val, path+".receivers")
		if len(items) == 0 && !isNull(e.val) && e.val.Kind == yaml.SequenceNode {
			p.errorf(e.val, path+".receivers", "empty (a route names the receivers it sends to)")
		}
		if isNull(e.val) {
			p.errorf(e.val, path+".receivers", "empty (a route names the receivers it sends to)")
		}
		known := make([]string, 0, len(names))
		for k := range names {
			known = append(known, k)
		}
		slices.Sort(known)
		for i, it := range items {
			switch {
			case !it.ok:
			case names[it.s] == nil:
				p.errorf(it.node, index(path+".receivers", i), "%s", unknown("receiver", "receivers", it.s, known))
			case !slices.Contains(r.Receivers, it.s):
				r.Receivers = append(r.Receivers, it.s)
			}
		}
	}
	if e, ok := fields["events"]; ok {
		var kinds []string
		for _, k := range rampart.EventKinds() {
			kinds = append(kinds, string(k))
		}
		for i, it := range p.stringList(e.val, path+".events") {
			switch {
			case !it.ok:
			case !slices.Contains(kinds, it.s):
				p.errorf(it.node, index(path+".events", i), "%s", unknown("event", "events", it.s, kinds))
			default:
				r.Events = append(r.Events, rampart.EventKind(it.s))
			}
		}
	}
	if e, ok := fields["minSeverity"]; ok {
		if s, ok := p.nonEmpty(e.val, path+".minSeverity"); ok {
			if sev, err := rampart.ParseSeverity(s); err == nil {
				r.MinSeverity = &sev
			} else {
				p.errorf(e.val, path+".minSeverity", "%s", unknown("severity", "severities", s, rampart.SeverityNames()))
			}
		}
	}
	for _, f := range []string{"areas", "environments"} {
		e, ok := fields[f]
		if !ok {
			continue
		}
		for i, it := range p.stringList(e.val, path+"."+f) {
			switch {
			case !it.ok:
			case strings.TrimSpace(it.s) == "":
				p.errorf(it.node, index(path+"."+f, i), "empty")
			case f == "areas":
				r.Areas = append(r.Areas, strings.Trim(it.s, "/"))
			default:
				r.Environments = append(r.Environments, it.s)
			}
		}
	}
	return r, len(p.errs) == before
}
