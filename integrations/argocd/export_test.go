package argocd

// Decode and ApplicationList expose the decoder of Argo CD's answers to
// the fuzz target in package argocd_test.
var Decode = decode

type ApplicationList = applicationList

// Facts of a decoded list, for the fuzz target.
func (l *applicationList) Facts() []Application { return l.facts(nil) }
