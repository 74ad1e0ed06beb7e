package expression

import (
	"fmt"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"
	"github.com/expr-lang/expr/parser/operator"
)

// MaxNesting bounds how deep an expression nests: brackets ((, [, {) and
// prefix operators (-, +, !, not) that wait for their operand. expr-lang's
// parser recurses once per level, and its node limit (conf.MaxNodes) is
// only checked as nodes are made, after the recursion, so a runbook of
// a million "(" or "-" overflowed the goroutine stack (a fatal error, not
// a panic that can be recovered).
const MaxNesting = 256

// checkNesting lexes src with expr-lang's own lexer, one token at a time,
// and returns an error at the token that nests deeper than MaxNesting.
// A lexing error is left for the parser to report.
func checkNesting(src string) error {
	source := file.NewSource(src)
	l := lexer.New()
	l.Reset(source)
	// pending holds, for each open bracket, the prefix operators before
	// it; prefix counts those since the last operand at this level. An
	// operand ends them when the token after it neither calls, indexes
	// nor selects from it (-f(x) waits for the call).
	var pending []int
	prefix, depth, operand := 0, 0, false
	for {
		t, err := l.Next()
		if err != nil || t.Kind == lexer.EOF {
			return nil
		}
		open := t.Kind == lexer.Bracket && (t.Value == "(" || t.Value == "[" || t.Value == "{")
		if operand && !open && !t.Is(lexer.Operator, ".", "?.") {
			depth -= prefix
			prefix = 0
		}
		operand = false
		switch {
		case open:
			pending = append(pending, prefix)
			prefix = 0
			depth++
		case t.Kind == lexer.Bracket:
			if len(pending) > 0 {
				depth -= 1 + prefix + pending[len(pending)-1]
				pending = pending[:len(pending)-1]
			}
			prefix = 0
			continue
		case t.Kind == lexer.Operator:
			if _, ok := operator.Unary[t.Value]; !ok {
				continue
			}
			prefix++
			depth++
		default:
			operand = true
			continue
		}
		if depth > MaxNesting {
			e := &file.Error{Location: t.Location, Message: fmt.Sprintf("the expression nests more than %d levels deep (brackets and prefix operators)", MaxNesting)}
			return e.Bind(source)
		}
	}
}
