package register

import _ "embed"

//go:embed starter.yaml
var starter []byte

// Starter returns the register `rampart init` writes.
func Starter() []byte { return append([]byte(nil), starter...) }
