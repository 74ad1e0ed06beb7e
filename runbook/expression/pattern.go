package expression

import (
	"fmt"
	"reflect"
	"regexp"
	"regexp/syntax"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
)

// MaxPatternSize bounds a regular expression (matches, grep) by the size
// of the program it compiles to, repetitions expanded, about one unit per
// character, class, operator or group. Go's regexp matches in time linear
// in the text, but the text's length times the program's size, and its
// memory grows with the program's size times its groups: `(a*)*` repeated
// 50,000 times takes gigabytes to match three bytes. A runbook's patterns
// are a few dozen units; what is over the limit is refused, at load time
// when the pattern is written in the expression, else when it is used.
const MaxPatternSize = 1000

// PatternError is a regular expression over MaxPatternSize.
type PatternError struct{}

// Error says what is over the limit.
func (e *PatternError) Error() string {
	return fmt.Sprintf("the regular expression is too big: over %d units (one per character, class, operator or group, repetitions expanded)", MaxPatternSize)
}

// checkPattern refuses a pattern whose program would be over
// MaxPatternSize. A pattern that does not parse is left to regexp.Compile,
// whose error says why.
func checkPattern(pattern string) error {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	if patternSize(re) > MaxPatternSize {
		return &PatternError{}
	}
	return nil
}

// compilePattern is regexp.Compile after checkPattern.
func compilePattern(pattern string) (*regexp.Regexp, error) {
	if err := checkPattern(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(pattern)
}

// patternSize estimates the size of re's program; it stops counting just
// over MaxPatternSize, so nested repetitions cannot overflow.
func patternSize(re *syntax.Regexp) int {
	const over = MaxPatternSize + 1
	n := 0
	switch re.Op {
	case syntax.OpLiteral:
		n = len(re.Rune)
	case syntax.OpCapture:
		n = 2 + patternSize(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		n = 1 + patternSize(re.Sub[0])
	case syntax.OpRepeat:
		times := re.Max
		if times < 0 {
			times = re.Min + 1
		}
		sub := patternSize(re.Sub[0])
		if times > 0 && sub > over/times {
			return over
		}
		n = max(times, 1) * sub
	case syntax.OpConcat, syntax.OpAlternate:
		for _, s := range re.Sub {
			n += patternSize(s)
			if n > over {
				return over
			}
		}
	default:
		n = 1
	}
	return min(n, over)
}

// matchesName is the function `matches` becomes when its pattern is not
// written in the expression (expr-lang compiles a written one once, at
// load time, where checkNames checks its size).
const matchesName = "$matches"

var matches = &builtin.Function{
	Name: matchesName,
	Func: func(args ...any) (any, error) {
		s, sok := args[0].(string)
		pattern, pok := args[1].(string)
		if !sok || !pok {
			return nil, fmt.Errorf("matches: expected two strings, got %T and %T", args[0], args[1])
		}
		re, err := compilePattern(pattern)
		if err != nil {
			return nil, err
		}
		return re.MatchString(s), nil
	},
	Types: []reflect.Type{reflect.TypeOf(new(func(any, any) bool)).Elem()},
}

// matchesCall is `left matches right` as a call of matchesName, for a
// right that is not a string written in the expression, or one too big
// (which expr-lang would compile while checking the expression, before
// checkNames refuses it).
func matchesCall(n *ast.BinaryNode) (ast.Node, bool) {
	if n.Operator != "matches" || !maybeString(n.Left) || !maybeString(n.Right) {
		// Not strings: expr-lang's checker says so at load time.
		return nil, false
	}
	if written, ok := n.Right.(*ast.StringNode); ok && checkPattern(written.Value) == nil {
		return nil, false
	}
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: matchesName}, Arguments: []ast.Node{n.Left, n.Right}}, true
}
