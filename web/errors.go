package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/rampart-dev/rampart"
)

// Error kinds of the web layer itself, beside the domain's.
const (
	kindTooMany     rampart.ErrorKind = "too_many_requests"
	kindTooLarge    rampart.ErrorKind = "payload_too_large"
	kindUnavailable rampart.ErrorKind = "unavailable"
)

// statusOf maps every error kind to its HTTP status: the one place where
// that happens. A kind missing here is a 500.
var statusOf = map[rampart.ErrorKind]int{
	rampart.KindInvalid:      http.StatusBadRequest,
	rampart.KindUnauthorized: http.StatusUnauthorized,
	rampart.KindForbidden:    http.StatusForbidden,
	rampart.KindNotFound:     http.StatusNotFound,
	rampart.KindConflict:     http.StatusConflict,
	kindTooLarge:             http.StatusRequestEntityTooLarge,
	kindTooMany:              http.StatusTooManyRequests,
	rampart.KindInternal:     http.StatusInternalServerError,
	kindUnavailable:          http.StatusServiceUnavailable,
}

// errorBody is every API error: {"error":{"code":"not_found","message":"…"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	// Code is stable: one of the error kinds.
	Code    string `json:"code"`
	Message string `json:"message"`
	// RequestID ties an internal error to the server's log.
	RequestID string `json:"request_id,omitempty"`
}

// classify returns the error's kind, status and the message a user may
// see. Internal errors keep their detail for the log only.
func classify(err error) (rampart.ErrorKind, int, string) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return kindTooLarge, statusOf[kindTooLarge], "the request body is larger than the server accepts"
	}
	kind := rampart.KindOf(err)
	status, ok := statusOf[kind]
	if !ok {
		kind, status = rampart.KindInternal, http.StatusInternalServerError
	}
	if kind == rampart.KindInternal {
		return kind, status, "internal error: the server's log has the detail"
	}
	var de *rampart.Error
	if errors.As(err, &de) {
		// The domain error's own message, without the wrapping context
		// that may name internals (files, queries).
		return kind, status, de.Message
	}
	return kind, status, err.Error()
}

// fail answers a request with err: JSON, or an HTML page for page routes.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, page bool, err error) {
	kind, status, msg := classify(err)
	info := infoFrom(r.Context())
	if kind == rampart.KindInternal || status >= 500 {
		s.log.Error("request failed", "request_id", info.id, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if page {
		s.errorPage(w, r, status, msg)
		return
	}
	writeJSONStatus(w, status, errorBody{Error: errorDetail{Code: string(kind), Message: msg, RequestID: info.id}})
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	// Compact: pipe it through jq to read it; the bytes are the cost at load.
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

// writeList answers a list as a JSON array, [] rather than null when it is
// empty, or returns the error that came with it for the one error mapper.
func writeList[T any](w http.ResponseWriter, list []T, err error) error {
	if err != nil {
		return err
	}
	if list == nil {
		list = []T{}
	}
	writeJSON(w, list)
	return nil
}

func errorf(kind rampart.ErrorKind, format string, args ...any) error {
	return rampart.Errorf(kind, format, args...)
}
