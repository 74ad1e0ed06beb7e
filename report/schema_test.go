package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := ResultSchema()
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	return schema
}

func TestResultSchemaShape(t *testing.T) {
	schema := loadSchema(t)
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" || schema["$id"] != ResultSchemaID {
		t.Errorf("$schema/$id = %v %v", schema["$schema"], schema["$id"])
	}
	var required []string
	for _, r := range schema["required"].([]any) {
		required = append(required, r.(string))
	}
	want := []string{"schemaVersion", "runbook", "runId", "cluster", "namespace", "user", "host", "tool",
		"startedAt", "finishedAt", "duration", "verdict", "steps", "cleanup", "apiRequests"}
	if diff := cmp.Diff(want, required); diff != "" {
		t.Errorf("required (-want +got):\n%s", diff)
	}
	defs := schema["$defs"].(map[string]any)
	var names []string
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	wantDefs := []string{"Artifact", "Assertion", "Call", "CleanupResult", "ClusterInfo", "Deletion", "ObjectRef", "RunbookInfo", "StepResult", "Value"}
	if diff := cmp.Diff(wantDefs, names); diff != "" {
		t.Errorf("$defs (-want +got):\n%s", diff)
	}
	targets := defs["StepResult"].(map[string]any)["properties"].(map[string]any)["targets"].(map[string]any)
	if targets["items"].(map[string]any)["$ref"] != "#/$defs/StepResult" {
		t.Errorf("targets = %v, want items referring to StepResult", targets)
	}
	props := schema["properties"].(map[string]any)
	if props["schemaVersion"].(map[string]any)["const"] != SchemaVersion {
		t.Errorf("schemaVersion = %v", props["schemaVersion"])
	}
	if props["duration"].(map[string]any)["type"] != "number" || props["startedAt"].(map[string]any)["format"] != "date-time" {
		t.Errorf("duration = %v, startedAt = %v", props["duration"], props["startedAt"])
	}
	for name, p := range props {
		if p.(map[string]any)["description"] == nil {
			t.Errorf("property %s has no description", name)
		}
	}
}

// TestRenderedJSONMatchesTheSchema validates every fixture's JSON against
// the generated schema with a small validator of the keywords the schema
// uses, and checks that the validator rejects broken documents.
func TestRenderedJSONMatchesTheSchema(t *testing.T) {
	schema := loadSchema(t)
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			var doc any
			if err := json.Unmarshal(render(t, "json", fx), &doc); err != nil {
				t.Fatal(err)
			}
			if errs := validate(schema, schema, doc, "$"); len(errs) > 0 {
				t.Errorf("the JSON does not match the schema:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
	t.Run("broken documents are rejected", func(t *testing.T) {
		tests := []struct {
			name   string
			break_ func(map[string]any)
			want   string
		}{
			{"missing runId", func(d map[string]any) { delete(d, "runId") }, "$: runId is required"},
			{"unknown verdict", func(d map[string]any) { d["verdict"] = "ok" }, `$.verdict: "ok" is not one of [passed failed interrupted error]`},
			{"duration as text", func(d map[string]any) { d["duration"] = "5s" }, "$.duration: want number, got string"},
			{"other version", func(d map[string]any) { d["schemaVersion"] = "v2" }, `$.schemaVersion: "v2" is not runbook.dev/result/v1`},
			{"bad step status", func(d map[string]any) {
				d["steps"].([]any)[0].(map[string]any)["status"] = "ok"
			}, `$.steps[0].status: "ok" is not one of [passed failed skipped interrupted]`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var doc map[string]any
				if err := json.Unmarshal(render(t, "json", fixtures[0]), &doc); err != nil {
					t.Fatal(err)
				}
				tt.break_(doc)
				errs := validate(schema, schema, doc, "$")
				if !slices.Contains(errs, tt.want) {
					t.Errorf("errors = %q, want %q among them", errs, tt.want)
				}
			})
		}
	})
}

// validate checks doc against the subset of JSON Schema that ResultSchema
// writes: $ref, type, const, enum, minimum, properties, required, items and
// additionalProperties.
func validate(root, s map[string]any, doc any, path string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		return validate(root, root["$defs"].(map[string]any)[name].(map[string]any), doc, path)
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if c, ok := s["const"]; ok && doc != c {
		fail("%q is not %v", doc, c)
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, doc) {
		fail("%q is not one of %v", doc, enum)
	}
	switch s["type"] {
	case "object":
		obj, ok := doc.(map[string]any)
		if !ok {
			fail("want object, got %T", doc)
			return errs
		}
		for _, r := range asSlice(s["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				fail("%s is required", r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, v := range obj {
			switch p, ok := props[k]; {
			case ok:
				errs = append(errs, validate(root, p.(map[string]any), v, path+"."+k)...)
			case s["additionalProperties"] != nil:
				errs = append(errs, validate(root, s["additionalProperties"].(map[string]any), v, path+"."+k)...)
			default:
				fail("%s is not in the schema", k)
			}
		}
	case "array":
		arr, ok := doc.([]any)
		if !ok {
			fail("want array, got %T", doc)
			return errs
		}
		for i, v := range arr {
			errs = append(errs, validate(root, s["items"].(map[string]any), v, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		if _, ok := doc.(string); !ok {
			fail("want string, got %T", doc)
		}
	case "boolean":
		if _, ok := doc.(bool); !ok {
			fail("want boolean, got %T", doc)
		}
	case "number", "integer":
		n, ok := doc.(float64)
		if !ok {
			fail("want %s, got %T", s["type"], doc)
			return errs
		}
		if s["type"] == "integer" && n != float64(int64(n)) {
			fail("%v is not an integer", n)
		}
		if lo, ok := s["minimum"].(float64); ok && n < lo {
			fail("%v is below %v", n, lo)
		}
	}
	return errs
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
