package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeJSONAsParseJSON checks that decoding a result as it comes
// (a step at a time) gives what decoding it whole gives: for every JSON
// golden, and for what json.Unmarshal decides (the last of two members
// wins, keys match whatever their case, null is none), and that what
// ParseJSON refuses DecodeJSON refuses too.
func TestDecodeJSONAsParseJSON(t *testing.T) {
	goldens, _ := filepath.Glob("testdata/*.json.golden")
	if len(goldens) < 5 {
		t.Fatalf("found %d JSON goldens", len(goldens))
	}
	inputs := map[string]string{}
	for _, g := range goldens {
		if strings.HasSuffix(g, ".schema.json.golden") {
			continue // the JSON Schema, not a result
		}
		data, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(g)] = string(data)
	}
	const v = `"schemaVersion": "` + SchemaVersion + `"`
	inputs["Steps"] = `{` + v + `, "Steps": [{"index": 4}]}`
	inputs["steps null"] = `{` + v + `, "steps": null}`
	inputs["no steps"] = `{` + v + `, "runId": "x"}`
	inputs["empty steps"] = `{` + v + `, "steps": []}`
	inputs["unknown member"] = `{` + v + `, "extra": {"a": [1, 2]}, "steps": [{"index": 1, "extra": true}]}`
	bad := map[string]string{
		"steps not a list":     `{` + v + `, "steps": {"index": 1}}`,
		"no schemaVersion":     `{"steps": []}`,
		"other schemaVersion":  `{"schemaVersion": "x", "steps": []}`,
		"not an object":        `[]`,
		"trailing text":        `{` + v + `} x`,
		"a step of wrong type": `{` + v + `, "steps": [{"index": "1"}]}`,
		"empty":                ``,
		// Members named twice: encoding/json would keep the last.
		"steps twice":         `{` + v + `, "steps": [{"index": 1}], "runId": "a", "steps": [{"index": 2}, {"index": 3}]}`,
		"Steps and steps":     `{` + v + `, "steps": [], "Steps": []}`,
		"verdict twice":       `{` + v + `, "verdict": "failed", "verdict": "passed"}`,
		"a step's twice":      `{` + v + `, "steps": [{"status": "failed", "status": "passed"}]}`,
		"a var twice":         `{` + v + `, "vars": {"a": "1", "a": "2"}}`,
		"a nested twice":      `{` + v + `, "cleanup": {"deletions": [{"name": "a", "Name": "b"}]}}`,
		"a verdict unknown":   `{` + v + `, "verdict": "ok"}`,
		"a status unknown":    `{` + v + `, "steps": [{"targets": [{"status": "ok"}]}]}`,
		"a verb unknown":      `{` + v + `, "apiRequestsByVerb": {"GET\n# x": 1}}`,
		"a duration negative": `{` + v + `, "steps": [{"duration": -1}]}`,
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			want, err := ParseJSON([]byte(in))
			if err != nil {
				t.Fatalf("ParseJSON: %v", err)
			}
			got, err := DecodeJSON(strings.NewReader(in))
			if err != nil {
				t.Fatalf("DecodeJSON: %v", err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("DecodeJSON differs from ParseJSON (-want +got):\n%s", d)
			}
		})
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseJSON([]byte(in)); err == nil {
				t.Fatal("ParseJSON accepts it")
			}
			if _, err := DecodeJSON(strings.NewReader(in)); err == nil {
				t.Error("DecodeJSON accepts it")
			}
		})
	}
}
