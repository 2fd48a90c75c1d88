// Package rampart holds Rampart's domain: resources of the register, the
// control catalog and the criteria it maps to, checks and their results,
// findings and the tasks they become, exceptions, evidence and the audit
// log. It imports only the standard library; adapters (register, catalog,
// store, integrations, web) speak to each other in these terms.
package rampart
