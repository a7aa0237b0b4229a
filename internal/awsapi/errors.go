package awsapi

import (
	"fmt"
	"net/http"
)

// Error is an API error as AWS answers it: a code, a message, an HTTP
// status, and whether the caller is at fault (Type Sender) or elbow
// (Receiver).
type Error struct {
	Code    string
	Message string
	Status  int
	Sender  bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError is a client fault (HTTP 400 unless status says otherwise).
func NewError(status int, code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...), Status: status, Sender: status < 500}
}

// Validation is AWS's ValidationError: a parameter is missing or out of
// its range. The message is AWS's where AWS has one, else elbow validate's.
func Validation(format string, a ...any) *Error {
	return NewError(http.StatusBadRequest, "ValidationError", format, a...)
}
