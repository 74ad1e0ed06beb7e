package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestJUnitDefusesAttachmentMarkers: a step that prints attachment markers
// (in any case, anywhere in a line, on stdout or stderr) cannot make
// Jenkins' JUnit Attachments plugin attach a file: the only markers in the
// JUnit are the lines for the files the run wrote.
func TestJUnitDefusesAttachmentMarkers(t *testing.T) {
	r := artifactsResult()
	s := &r.Steps[0]
	s.Stdout = "[[ATTACHMENT|/var/lib/jenkins/secrets/master.key]]\nx [[attachment|/home/jenkins/.ssh/id_rsa]] y\n[[[AtTaChMeNt|/etc/shadow]]\n"
	s.Stderr = "[[ATTACHMENT|/etc/passwd]]\n[[ATTACHMENT\u0131|/x]] [[ATTACHMENT|/etc/group]]"
	var b bytes.Buffer
	if err := RenderJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc consumerSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// The plugin's pattern, made case-insensitive.
	marker := regexp.MustCompile(`(?i)\[\[ATTACHMENT\|.+]]`)
	var found []string
	for _, tc := range doc.Suites[0].Cases {
		for _, text := range []string{tc.SystemOut, tc.SystemErr} {
			found = append(found, marker.FindAllString(text, -1)...)
		}
	}
	var want []string
	for _, st := range r.Steps {
		for _, a := range st.Artifacts {
			want = append(want, "[[ATTACHMENT|"+artifactRef(r.ArtifactDir, a)+"]]")
		}
	}
	if fmt.Sprint(found) != fmt.Sprint(want) {
		t.Errorf("attachment markers in the JUnit:\n%q\nwant only the artifacts':\n%q", found, want)
	}
	if !strings.Contains(b.String(), "[ [ATTACHMENT|/var/lib/jenkins/secrets/master.key]]") {
		t.Error("the step's output is not shown, defused")
	}
}

func TestDefuseAttachments(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "",
		"no marker [[x]]":              "no marker [[x]]",
		"[[ATTACHMENT|/a]]":            "[ [ATTACHMENT|/a]]",
		"a[[attachment|/b]]c":          "a[ [attachment|/b]]c",
		"[[[ATTACHMENT|/c]]":           "[[ [ATTACHMENT|/c]]",
		"[[ATTACHMENT/d]]":             "[[ATTACHMENT/d]]",
		"[[ATTACHMENT":                 "[[ATTACHMENT",
		"[[ATTACHMENT|x[[Attachment|y": "[ [ATTACHMENT|x[ [Attachment|y",
	} {
		if got := defuseAttachments(in); got != want {
			t.Errorf("defuseAttachments(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReadJSONRefusesValuesOutsideTheSchema: a value outside the fixed
// sets of the result schema, a key of apiRequestsByVerb that is not a
// request key, a member named twice, a negative or too long duration are
// refused, with the field and the line:col of the value; DecodeJSON
// refuses them too.
func TestReadJSONRefusesValuesOutsideTheSchema(t *testing.T) {
	const head = "{\"schemaVersion\": \"" + SchemaVersion + "\",\n"
	for _, tc := range []struct{ doc, want string }{
		{head + `"verdict": "failed\n<img src=x>"}`, `line 2:12: verdict: "failed\n<img src=x>" is not one of passed, failed, interrupted, error`},
		{head + `"steps": [{"status": "passed"}, {"status": "ok | x"}]}`, `line 2:44: steps.status: "ok | x" is not one of passed, failed, skipped, interrupted`},
		{head + `"steps": [{"targets": [{"Status": "PASSED"}]}]}`, `line 2:35: steps.targets.status: "PASSED" is not one of passed, failed, skipped, interrupted`},
		{head + `"steps": [{"phase": "later"}]}`, `line 2:21: steps.phase: "later" is not one of steps, finally, onFailure`},
		{head + `"steps": [{"objects": [{"action": "stole"}]}]}`, `line 2:35: steps.objects.action: "stole" is not one of created, patched, read, deleted, exec`},
		{head + `"cleanup": {"policy": "always\u001b[2J"}}`, `line 2:23: cleanup.policy: "always\x1b[2J" is not one of always, onSuccess, never, keep`},
		{head + `"cleanup": {"deletions": [{"outcome": "gone"}]}}`, `line 2:39: cleanup.deletions.outcome: "gone" is not one of deleted, not found, failed, kept`},
		{head + `"apiRequestsByVerb": {"GET pods": 1, "GET\n# x": 2}}`, `line 2:47: apiRequestsByVerb: "GET\n# x" is not a request key such as "GET pods"`},
		{head + `"apiRequestsByVerb": {"get pods": 1}}`, `line 2:32: apiRequestsByVerb: "get pods" is not a request key such as "GET pods"`},
		{head + `"verdict": "failed", "verdict": "passed"}`, `line 2:22: "verdict" is there twice in the same object`},
		{head + `"verdict": "failed", "Verdict": "passed"}`, `line 2:22: "Verdict" is there twice in the same object`},
		{head + `"steps": [{"name": "a", "name": "b"}]}`, `line 2:25: "name" is there twice in the same object`},
		{head + `"vars": {"a": "1", "a": "2"}}`, `line 2:20: "a" is there twice in the same object`},
		{head + `"steps": [{"duration": -0.5}]}`, `line 2:24: steps.duration: duration -0.5 seconds is negative`},
		{head + `"duration": 9223372036.854775807}`, `line 2:13: duration: duration 9223372036.854775807 seconds is out of range`},
		{head + `"cleanup": {"deletions": [{"duration": "0.08"}]}}`, `line 2:40: cleanup.deletions.duration: duration must be a number of seconds, got "0.08"`},
		{head + `"steps": [{"startedAt": "2025-13-45T99:00:00Z"}]}`, `line 2:25: steps.startedAt: parsing time "2025-13-45T99:00:00Z": month out of range`},
	} {
		_, err := ParseJSON([]byte(tc.doc))
		if want := "reading the result: " + tc.want; err == nil || err.Error() != want {
			t.Errorf("ParseJSON(%q) = %v,\nwant %s", tc.doc, err, want)
		}
		if _, err := DecodeJSON(strings.NewReader(tc.doc)); err == nil {
			t.Errorf("DecodeJSON(%q) accepts it", tc.doc)
		}
	}
	// What the run writes, and what the reader takes as absent, is read.
	for _, doc := range []string{
		head + `"verdict": "error", "steps": [{"status": "", "phase": "onFailure"}], "cleanup": {"policy": "keep", "deletions": [{"outcome": "not found"}]}}`,
		head + `"apiRequestsByVerb": {"GET": 1, "GET /version": 2, "PATCH pods/ephemeralcontainers": 3, "LIST deployments.apps": 4}}`,
		head + `"vars": {"a": "1", "A": "2"}, "steps": [{"set": {"x": "1", "X": "2"}}]}`,
		head + `"duration": 9223372036.854}`,
	} {
		if _, err := ParseJSON([]byte(doc)); err != nil {
			t.Errorf("ParseJSON(%q): %v", doc, err)
		}
		if _, err := DecodeJSON(strings.NewReader(doc)); err != nil {
			t.Errorf("DecodeJSON(%q): %v", doc, err)
		}
	}
}

// TestSecondsUnmarshalBounds: 2^63 ns, which float64(math.MaxInt64) is,
// does not fit a time.Duration and is refused, as a negative duration is.
func TestSecondsUnmarshalBounds(t *testing.T) {
	for _, in := range []string{"9223372036.854775808", "9223372036.854775807", "-9223372036.854775808", "-1", "-1e-9"} {
		var s Seconds
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("Unmarshal(%s) = %d ns, want an error", in, int64(s))
		}
	}
	var s Seconds
	if err := json.Unmarshal([]byte("9223372036"), &s); err != nil || s <= 0 {
		t.Errorf("Unmarshal(9223372036) = %d, %v", int64(s), err)
	}
}

// TestRenderersEscapeUnknownWords: a Result built in Go (ReadJSON refuses
// them) may hold any verdict, status, policy, outcome or request key; the
// Markdown shows them as text (no HTML, heading or link), the table and
// the text without a control character.
func TestRenderersEscapeUnknownWords(t *testing.T) {
	r := failedResult()
	evil := "x\n\n# Heading\n<script>alert(1)</script> [l](https://e.example/)\x1b]0;t\a\x1b[2J"
	r.Verdict = Verdict(evil)
	r.Steps[0].Status = Status(evil)
	r.Cleanup.Policy = evil
	r.Cleanup.Deletions = append(r.Cleanup.Deletions, Deletion{Kind: "Pod", Name: "p", Outcome: evil})
	r.APIRequestsByVerb = map[string]int64{evil: 1, "GET pods": 2}
	var md bytes.Buffer
	if err := RenderMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	// Unescaped: not after a backslash.
	unescaped := regexp.MustCompile(`(^|[^\\])(<(?i:script)|\]\((?i:https))|\n# (?i:heading)|[\x1b\a]`)
	if m := unescaped.FindAllString(md.String(), -1); m != nil {
		t.Errorf("Markdown holds %q", m)
	}
	for _, width := range []int{0, 60} {
		var tb bytes.Buffer
		if err := RenderTableWidth(&tb, r, width); err != nil {
			t.Fatal(err)
		}
		if i := strings.IndexAny(tb.String(), "\x1b\a"); i >= 0 {
			t.Errorf("table (width %d) holds a control character: %q", width, tb.String()[max(0, i-40):i+1])
		}
		if strings.Contains(tb.String(), "\n# Heading") {
			t.Errorf("table (width %d) keeps the line breaks of a status", width)
		}
	}
}

// TestCleanupOfManyObjects: each of many created objects shows the outcome
// of its own deletion (found through an index, not a scan per object):
// the first deletion of that object, its kind matched whatever its case.
func TestCleanupOfManyObjects(t *testing.T) {
	r := passedResult()
	const n = 30000
	objs := make([]ObjectRef, n)
	r.Cleanup.Deletions = nil
	for i := range n {
		name := fmt.Sprintf("cm-%d", i)
		objs[i] = ObjectRef{Kind: "ConfigMap", Namespace: "ns", Name: name, Action: ActionCreated}
		outcome := OutcomeDeleted
		if i%7 == 0 {
			outcome = OutcomeNotFound
		}
		r.Cleanup.Deletions = append(r.Cleanup.Deletions, Deletion{Kind: "configmap", Namespace: "ns", Name: name, Outcome: outcome})
	}
	// Another kind of the same name, and a second deletion: not the one.
	r.Cleanup.Deletions = append([]Deletion{{Kind: "Secret", Namespace: "ns", Name: "cm-1", Outcome: OutcomeFailed}},
		append(r.Cleanup.Deletions, Deletion{Kind: "ConfigMap", Namespace: "ns", Name: "cm-2", Outcome: OutcomeKept})...)
	objs = append(objs, ObjectRef{Kind: "Pod", Namespace: "ns", Name: "never", Action: ActionCreated})
	r.Steps[0].Objects = objs
	var b bytes.Buffer
	if err := RenderMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for i := range n {
		want := "deleted"
		if i%7 == 0 {
			want = "not found"
		}
		line := fmt.Sprintf("`configmap ns/cm-%d` — cleanup: %s\n", i, want)
		if !strings.Contains(out, line) {
			t.Fatalf("no line %q", line)
		}
	}
	if !strings.Contains(out, "`pod ns/never` — cleanup: not recorded\n") {
		t.Error("an object cleanup did not handle is not said so")
	}
}

func BenchmarkMarkdownManyObjects(b *testing.B) {
	r := passedResult()
	for i := range 30000 {
		name := fmt.Sprintf("cm-%d", i)
		r.Steps[0].Objects = append(r.Steps[0].Objects, ObjectRef{Kind: "ConfigMap", Namespace: "ns", Name: name, Action: ActionCreated})
		r.Cleanup.Deletions = append(r.Cleanup.Deletions, Deletion{Kind: "ConfigMap", Namespace: "ns", Name: name, Outcome: OutcomeDeleted})
	}
	for b.Loop() {
		var buf bytes.Buffer
		if err := RenderMarkdown(&buf, r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestValidateCoversEveryEnum: every field of a Result with an enum tag
// (a fixed value set of the schema) is one validateResult checks.
func TestValidateCoversEveryEnum(t *testing.T) {
	checked := map[string]bool{
		"Result.Verdict": true, "StepResult.Status": true, "StepResult.Phase": true,
		"ObjectRef.Action": true, "CleanupResult.Policy": true, "Deletion.Outcome": true,
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ == timeType {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if f.Tag.Get("enum") != "" && !checked[typ.Name()+"."+f.Name] {
				t.Errorf("%s.%s has an enum tag that validateResult does not check", typ.Name(), f.Name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[Result]())
}
