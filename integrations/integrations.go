// Package integrations is the one explicit list of the systems Rampart can
// check, in the manner of gopls' analyzer list: no init-time registration.
// A test fails when a folder under integrations/ is missing from it.
package integrations

import (
	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/integrations/argocd"
	"github.com/rampart-dev/rampart/integrations/github"
	"github.com/rampart-dev/rampart/integrations/gitrepo"
	"github.com/rampart-dev/rampart/integrations/kubernetes"
	"github.com/rampart-dev/rampart/integrations/server"
	"github.com/rampart-dev/rampart/integrations/tlsendpoint"
)

// All returns every integration, in a fixed order.
func All() []*rampart.Integration {
	return []*rampart.Integration{
		tlsendpoint.Integration,
		server.Integration,
		gitrepo.Integration,
		kubernetes.Integration,
		github.Integration,
		argocd.Integration,
	}
}
