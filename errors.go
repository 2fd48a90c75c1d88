package rampart

import (
	"errors"
	"fmt"
)

// ErrorKind classifies a domain error so that adapters (the CLI's exit
// codes, the web layer's status codes) can map it in one place.
type ErrorKind string

// The error kinds.
const (
	KindInvalid      ErrorKind = "invalid"
	KindNotFound     ErrorKind = "not_found"
	KindConflict     ErrorKind = "conflict"
	KindUnauthorized ErrorKind = "unauthorized"
	KindForbidden    ErrorKind = "forbidden"
	KindInternal     ErrorKind = "internal"
)

// Error is a domain error: a kind and a message meant for the user.
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf reports the kind of err: that of the first *Error in its chain, or
// KindInternal.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
