package schemas_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/schemas"
)

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemas.Runbook))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("runbook.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("runbook.schema.json")
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

// asJSON converts YAML to the JSON value a schema validator reads.
func asJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExamplesValidate checks every example against the generated schema,
// and that each starts with the yaml-language-server schema comment.
func TestExamplesValidate(t *testing.T) {
	s := compile(t)
	files, _ := filepath.Glob("../examples/*.yaml")
	if len(files) < 6 {
		t.Fatalf("found %d examples", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "# yaml-language-server: $schema=../schemas/runbook.schema.json\n") {
				t.Error("missing the yaml-language-server schema comment on the first line")
			}
			if err := s.Validate(asJSON(t, data)); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}

// TestSchemaRejects checks that the schema can fail: typos and two actions.
func TestSchemaRejects(t *testing.T) {
	s := compile(t)
	for name, doc := range map[string]string{
		"misspelt step key": "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  steps:\n  - debug: {pod: p, image: i, targt: app}\n",
		"two actions":       "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  steps:\n  - exec: {pod: p, command: [ps]}\n    local: {command: [ls]}\n",
		"unknown kind":      "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  steps:\n  - shell: {command: [ls]}\n",
		"cleanup typo":      "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  cleanup: alway\n  steps:\n  - local: {command: [ls]}\n",
		"waitFor typo":      "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  steps:\n  - debug: {pod: p, image: i, waitFor: ready}\n",
		"profile typo":      "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  steps:\n  - debug: {pod: p, image: i, profile: sysadmn}\n",
		"pull policy typo":  "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  steps:\n  - debug: {pod: p, image: i, imagePullPolicy: always}\n",
		"bad timeout":       "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  timeout: soon\n  steps:\n  - local: {command: [ls]}\n",
		"zero timeout":      "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  timeout: 0s\n  steps:\n  - local: {command: [ls]}\n",
	} {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(asJSON(t, []byte(doc))); err == nil {
				t.Error("the schema accepted it")
			}
		})
	}
}

// TestEveryPropertyIsDescribed checks that every property of the schema
// has a description, the text editors show on hover (from the Go doc
// comment of its field: a field without one fails here), and that a
// closed set offers only its values, never true or false.
func TestEveryPropertyIsDescribed(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(schemas.Runbook, &doc); err != nil {
		t.Fatal(err)
	}
	props := 0
	var walk func(path string, node any)
	walk = func(path string, node any) {
		switch n := node.(type) {
		case map[string]any:
			if ps, ok := n["properties"].(map[string]any); ok {
				for name, p := range ps {
					props++
					ps := p.(map[string]any)
					if d, _ := ps["description"].(string); strings.TrimSpace(d) == "" {
						t.Errorf("%s.%s has no description", path, name)
					}
				}
			}
			if enum, ok := n["enum"].([]any); ok {
				if typ, _ := n["type"].(string); typ != "string" {
					t.Errorf("%s: an enum of type %v, want string", path, n["type"])
				}
				for _, v := range enum {
					if _, ok := v.(string); !ok {
						t.Errorf("%s: enum value %v is not a string", path, v)
					}
				}
			}
			for k, v := range n {
				walk(path+"/"+k, v)
			}
		case []any:
			for i, v := range n {
				walk(fmt.Sprintf("%s[%d]", path, i), v)
			}
		}
	}
	walk("#", doc)
	if props < 100 {
		t.Errorf("found %d properties, the format has more: is the walk broken?", props)
	}
}

// TestFormatEnums checks that the envelope's fixed values are the
// loader's: an editor completes apiVersion and kind with them.
func TestFormatEnums(t *testing.T) {
	var doc struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schemas.Runbook, &doc); err != nil {
		t.Fatal(err)
	}
	rb := doc.Defs["Runbook"].Properties
	if got := rb["apiVersion"].Enum; len(got) != 1 || got[0] != runbook.APIVersion {
		t.Errorf("apiVersion enum %v, want [%s]", got, runbook.APIVersion)
	}
	if got := rb["kind"].Enum; len(got) != 1 || got[0] != runbook.Kind {
		t.Errorf("kind enum %v, want [%s]", got, runbook.Kind)
	}
}

// TestDurationsAgree checks that the schema's duration pattern accepts what
// the loader accepts: a duration greater than 0 (0 is an error, not the
// default, in both).
func TestDurationsAgree(t *testing.T) {
	s := compile(t)
	for _, v := range []string{"0", "0s", "00s", "0m0s", "0.0s", "0.000ms", "-5s", "soon", "5", "30s", "0.5s", "1.0s", "1h0m", "0h0m1s", "10m", "1h30m", "250ms", "1us"} {
		t.Run(v, func(t *testing.T) {
			var d runbook.Duration
			loaderErr := yaml.Unmarshal([]byte(fmt.Sprintf("%q", v)), &d)
			doc := fmt.Sprintf("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  timeout: %q\n  steps:\n  - local: {command: [ls]}\n", v)
			schemaErr := s.Validate(asJSON(t, []byte(doc)))
			if (loaderErr == nil) != (schemaErr == nil) {
				t.Errorf("the loader says %v, the schema %v", loaderErr, schemaErr)
			}
		})
	}
}
