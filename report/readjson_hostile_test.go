package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestReadJSONHostileRendersEverywhere reads results no run writes but a
// hand-edited or corrupted file may hold, and renders each in every format:
// a renderer must not panic on what ReadJSON accepted.
func TestReadJSONHostileRendersEverywhere(t *testing.T) {
	const head = `{"schemaVersion":"` + SchemaVersion + `",`
	for name, doc := range map[string]string{
		"negative group":      head + `"steps":[{"id":"a","index":1,"group":-3,"status":"passed"}]}`,
		"group out of range":  head + `"steps":[{"id":"a","index":1,"group":7,"status":"passed"}]}`,
		"child in a group":    head + `"steps":[{"id":"a","index":1,"children":[{"id":"b","group":2}]}]}`,
		"null step and child": head + `"steps":[null,{"id":"a","children":[null]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			r, err := ReadJSON(strings.NewReader(doc))
			if err != nil {
				t.Fatalf("ReadJSON: %v", err)
			}
			for _, format := range Formats() {
				render, _ := Lookup(format)
				var b bytes.Buffer
				if err := render(&b, r); err != nil {
					t.Errorf("%s: %v", format, err)
				}
				if b.Len() == 0 {
					t.Errorf("%s: nothing written", format)
				}
			}
		})
	}
}

// TestReadJSONErrorsSayWhere: a result that is not valid JSON, or has a
// field of the wrong type, is refused with the line and column at fault,
// and a BOM before it is no error.
func TestReadJSONErrorsSayWhere(t *testing.T) {
	const head = `{"schemaVersion":"` + SchemaVersion + `",`
	for _, tc := range []struct{ doc, want string }{
		{"garbage", "not a runbook result: line 1:1: invalid character 'g' looking for beginning of value"},
		{"{\n  \"a\": 1,,\n}", "not a runbook result: line 2:10: invalid character ',' looking for beginning of object key string"},
		{"{}{}", "not a runbook result: line 1:3: invalid character '{' after top-level value"},
		{head + "\n\"steps\": [\n {\"index\": \"x\"}]}", "reading the result: line 3:14: steps.index: expected a whole number, found a JSON string"},
		{head + `"steps": "x"}`, "reading the result: line 1:53: steps: expected a list, found a JSON string"},
		{"\uFEFF{}", "not a runbook result: no schemaVersion"},
	} {
		_, err := ReadJSON(strings.NewReader(tc.doc))
		if err == nil || err.Error() != tc.want {
			t.Errorf("ReadJSON(%q) = %v, want %s", tc.doc, err, tc.want)
		}
	}
}
