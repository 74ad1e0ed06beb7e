package report

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// quotyValue is a secret with the characters every quoting escapes.
const quotyValue = `!S3cr3t'h3"=PW2`

// quotyPieces are pieces of quotyValue long enough to give it away.
var quotyPieces = []string{"S3cr3t", "h3\"=PW2", `h3""=PW2`, `h3\"=PW2`, "=PW2"}

// TestRedactYAMLSingleQuoted checks the form a YAML single-quoted scalar
// gives a value: its quotes doubled.
func TestRedactYAMLSingleQuoted(t *testing.T) {
	red := NewRedactor(quotyValue)
	in := "data:\n  password: '!S3cr3t''h3\"=PW2'\n  user: 'o''brien-admin'\n"
	want := "data:\n  password: '***'\n  user: 'o''brien-admin'\n"
	if got := red.String(in); got != want {
		t.Errorf("String(%q)\n = %q\nwant %q", in, got, want)
	}
}

// TestRedactThreeLevelsOfQuoting checks values quoted three times over: a
// kubectl line's --env="E=..." argument (CSV or Go quoting), single-quoted
// for a shell, in JSON (the command in a JSON report); JSON in JSON in
// JSON (an annotation holding an object, printed by kubectl -o json, in a
// JSON report).
func TestRedactThreeLevelsOfQuoting(t *testing.T) {
	red := NewRedactor(quotyValue)
	goQuoted := inner(strconv.Quote("E=" + quotyValue))
	jsonOnce, _ := json.Marshal(map[string]string{"password": quotyValue})
	jsonTwice, _ := json.Marshal(map[string]string{"annotation": string(jsonOnce)})
	jsonThrice, _ := json.Marshal(map[string]string{"stdout": string(jsonTwice)})
	tests := []struct{ name, in, want string }{
		{
			"JSON of a shell word of a CSV field",
			`{"command":["kubectl","run","x","'--env=\"E=!S3cr3t'\\''h3\"\"=PW2\"'","--restart=Never"]}`,
			`{"command":["kubectl","run","x","'--env=\"E=***\"'","--restart=Never"]}`,
		},
		{
			"JSON of a shell word of a Go-quoted value",
			jsonString("kubectl set env '--env=\""+strings.ReplaceAll(goQuoted, "'", `'\''`)+"\"' deploy/web", false),
			`kubectl set env '--env=\"E=***\"' deploy/web`,
		},
		{
			"JSON in JSON in JSON",
			string(jsonThrice),
			`{"stdout":"{\"annotation\":\"{\\\"password\\\":\\\"***\\\"}\"}"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := red.String(tt.in)
			for _, p := range quotyPieces {
				if strings.Contains(got, p) {
					t.Errorf("String(%q) = %q keeps %q", tt.in, got, p)
				}
			}
			if got != tt.want {
				t.Errorf("String(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestRedactEscapeFormsAreBounded checks that composing the escapes keeps
// the number of forms of a value with every special character within the
// bound maxEscapeDepth documents.
func TestRedactEscapeFormsAreBounded(t *testing.T) {
	v := "p@ss\"w0rd\\with\nline-two 'ünïcødé' ✓ <&>\t"
	n := len(escapes(""))
	bound := 1
	for d, p := 1, 1; d <= maxEscapeDepth; d++ {
		p *= n
		bound += p
	}
	forms, encs := map[string]bool{}, map[string]bool{}
	encodings(v, forms, encs)
	// Besides the escapes: the value's base64 forms (2 alphabets, 5 each,
	// and at most 2 lines wrapped at 64 or 76 columns of each).
	if len(forms) > bound+2*(5+4) {
		t.Errorf("%d forms of one string, want at most %d", len(forms), bound+2*(5+4))
	}
	if len(forms) < 100 {
		t.Errorf("only %d forms: are the escapes composed?", len(forms))
	}
}
