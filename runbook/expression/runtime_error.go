package expression

import (
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr/file"
)

// RuntimeError is an expression of the runbook that failed as it ran
// (int("abc"), an index out of range, a value over a budget), placed in
// the runbook's file as a compile problem is: Line and Column are 1-based,
// and 0 for an expression built in code. Message is one line: expr-lang's
// excerpt of the source, with its caret, is left out, since the position
// says where.
type RuntimeError struct {
	Line, Column int
	Message      string
	// Err is the error of the evaluation.
	Err error
}

// Error returns the message; At puts the file and the position in front.
func (e *RuntimeError) Error() string { return e.Message }

// Unwrap returns the evaluation's error.
func (e *RuntimeError) Unwrap() error { return e.Err }

// At writes err, prefix first, behind FILE:LINE:COL when err is (or wraps)
// a RuntimeError with a position: an expression that failed as it ran is
// shown where it is written, as a load problem is.
func At(file, prefix string, err error) string {
	var re *RuntimeError
	if errors.As(err, &re) && re.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s%s", file, re.Line, re.Column, prefix, err.Error())
	}
	return prefix + err.Error()
}

var oneLine = strings.NewReplacer("\r\n", `\r\n`, "\n", `\n`, "\r", `\r`)

// runtimeError places err, the error of the expression at rune offset
// in t's text, in the file (when t has a position), prefix before its
// message.
func (t Template) runtimeError(err error, offset int, prefix string) error {
	if err == nil {
		return nil
	}
	re := &RuntimeError{Message: err.Error(), Err: err}
	line, col := 1, 0
	var fe *file.Error
	if errors.As(err, &fe) {
		re.Message = fe.Message
		line, col = max(fe.Line, 1), fe.Column
	}
	// One line: a value in the message (int("abc\n")) may hold line breaks.
	re.Message = prefix + oneLine.Replace(strings.TrimSpace(re.Message))
	if t.Line > 0 {
		re.Line, re.Column = t.Pos(offset, line, col)
	}
	return re
}

// Eval runs the expression against s; an error is a *RuntimeError placed
// in the file.
func (x *Expr) Eval(s *Scope) (any, error) {
	v, err := x.Program.Eval(s)
	return v, x.tmpl.runtimeError(err, 0, "")
}

// EvalBool runs a boolean expression (assert, when) against s; an error is
// a *RuntimeError placed in the file.
func (x *Expr) EvalBool(s *Scope) (bool, error) {
	ok, err := x.Program.EvalBool(s)
	return ok, x.tmpl.runtimeError(err, 0, "")
}
