package expression

import (
	"errors"
	"strings"
	"testing"
)

// TestPatternTooBig: a regular expression made while evaluating (matches
// or grep with a computed pattern) that would take gigabytes to match is
// refused with a *PatternError instead; `(a*)*` repeated 50,000 times ran
// out of memory matching "hi".
func TestPatternTooBig(t *testing.T) {
	for _, src := range []string{
		`vars.s matches repeat("(a*)*", 50000)`,
		`vars.s matches repeat("a{1000}", 100)`,
		`vars.s matches vars.p`,
		`len(grep(vars.s, repeat("(a*)*", 50000))) == 0`,
	} {
		t.Run(src, func(t *testing.T) {
			_, err := evalErr(t, src, map[string]any{"s": "hi", "p": "(a{500})(b{600})"})
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want a *PatternError", err)
			}
		})
	}
}

// TestPatternsThatFit: patterns of a real size still match, computed or
// written, and matches still refuses what is not a string at load time.
func TestPatternsThatFit(t *testing.T) {
	for src, want := range map[string]any{
		`vars.s matches "^h" + "i$"`:                        true,
		`vars.s matches vars.p`:                             true,
		`"x" matches vars.p`:                                false,
		`len(grep("a\nhi\nb", vars.p))`:                     1,
		`vars.s matches "^[0-9a-f]{64}$"`:                   false,
		`"10.0.0.1" matches "^(\\d{1,3}\\.){3}\\d{1,3}$"`:   true,
		`vars.s matches repeat("(h|x)?", 100) + "hi" + "$"`: true,
	} {
		got, err := evalErr(t, src, map[string]any{"s": "hi", "p": "^h.$"})
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", src, got, err, want)
		}
	}
	if _, probs := Compile(`"a" matches 1`, Context{}); len(probs) != 1 || !strings.Contains(probs[0].Message, "mismatched types") {
		t.Errorf(`"a" matches 1: problems %v, want a type error at load time`, probs)
	}
}

// TestWrittenPatternTooBig: a pattern written in the expression is checked
// at load time, with its position.
func TestWrittenPatternTooBig(t *testing.T) {
	big := strings.Repeat("(a*)*", 300)
	for _, src := range []string{`vars.s matches "` + big + `"`, `grep(vars.s, "` + big + `")`} {
		_, probs := Compile(src, Context{})
		if len(probs) != 1 || !strings.HasPrefix(probs[0].Message, "the regular expression is too big") || probs[0].Column == 0 {
			t.Errorf("%.40s...: problems %v, want one, positioned, about the size", src, probs)
		}
	}
}
