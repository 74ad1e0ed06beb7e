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
