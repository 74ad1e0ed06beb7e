package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestJSONRoundTrip(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			got, err := ReadJSON(bytes.NewReader(render(t, "json", fx)))
			if err != nil {
				t.Fatal(err)
			}
			// cmp compares times with Equal, so the interrupted fixture's
			// times in another zone match their UTC rendering.
			if diff := cmp.Diff(fx.result(), got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ReadJSON(RenderJSON(r)) differs from r (-want +got):\n%s", diff)
			}
			// And rendering what was read gives the same bytes again.
			var again bytes.Buffer
			if err := RenderJSON(&again, got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(render(t, "json", fx)), again.String()); diff != "" {
				t.Errorf("re-rendered JSON differs (-first +second):\n%s", diff)
			}
		})
	}
}

func TestJSONIsUTCAndSecondsAndAlwaysHasSteps(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(render(t, "json", fixtureCase{"interrupted", interruptedResult}), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["startedAt"] != "2025-11-24T22:36:00Z" || doc["finishedAt"] != "2025-11-24T22:36:21.8Z" {
		t.Errorf("times = %v, %v; want UTC", doc["startedAt"], doc["finishedAt"])
	}
	if doc["duration"] != 21.8 {
		t.Errorf("duration = %v, want 21.8 seconds", doc["duration"])
	}
	if err := json.Unmarshal(render(t, "json", fixtureCase{"error", errorResult}), &doc); err != nil {
		t.Fatal(err)
	}
	if steps, ok := doc["steps"].([]any); !ok || len(steps) != 0 {
		t.Errorf(`steps = %#v, want [] (never null)`, doc["steps"])
	}
	// A skipped step has no times at all rather than year 1.
	if strings.Contains(string(render(t, "json", fixtureCase{"failed", failedResult})), "0001-01-01") {
		t.Error("the JSON holds a zero time")
	}
}

func TestRenderJSONDoesNotChangeTheResult(t *testing.T) {
	r := interruptedResult()
	if err := RenderJSON(&bytes.Buffer{}, r); err != nil {
		t.Fatal(err)
	}
	if r.StartedAt.Location() == time.UTC || r.Steps[0].StartedAt.Location() == time.UTC {
		t.Error("RenderJSON converted the caller's times in place")
	}
}

func TestReadJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"other version", `{"schemaVersion": "runbook.dev/result/v2", "steps": []}`,
			`result has schemaVersion "runbook.dev/result/v2", but this runbook reads only "runbook.dev/result/v1"`},
		{"no version", `{"runId": "x"}`, `not a runbook result: no schemaVersion`},
		{"not an object", `[1, 2]`, `not a runbook result: line 1:1: expected an object, found a JSON array`},
		{"not JSON", `PID USER`, `not a runbook result: line 1:1: invalid character 'P' looking for beginning of value`},
		{"empty", ``, `not a runbook result: the input is empty`},
		{"bad field", `{"schemaVersion": "runbook.dev/result/v1", "duration": "5s"}`,
			`reading the result: line 1:56: duration: duration must be a number of seconds, got "5s"`},
		{"trailing data", `{"schemaVersion": "runbook.dev/result/v1"} {}`,
			`not a runbook result: line 1:44: invalid character '{' after top-level value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ReadJSON(strings.NewReader(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("ReadJSON error = %v, want %q", err, tt.want)
			}
			if r != nil {
				t.Error("ReadJSON returned a result with an error")
			}
		})
	}
}
