package expression

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const busyboxPS = `PID   USER     TIME  COMMAND
    1 65535     0:00 /pause
    7 65535     0:00 /pause
   13 root      0:00 sleep 3600
   19 root      0:00 ps -ef
`

func TestPS(t *testing.T) {
	got := PS(busyboxPS)
	want := []any{
		map[string]any{"pid": 1, "user": "65535", "time": "0:00", "command": "/pause"},
		map[string]any{"pid": 7, "user": "65535", "time": "0:00", "command": "/pause"},
		map[string]any{"pid": 13, "user": "root", "time": "0:00", "command": "sleep 3600"},
		map[string]any{"pid": 19, "user": "root", "time": "0:00", "command": "ps -ef"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("busybox ps (-want +got):\n%s", diff)
	}
	procps := "UID          PID    PPID  C STIME TTY          TIME CMD\nroot           1       0  0 10:00 ?        00:00:01 /sbin/init splash\n"
	got = PS(procps)
	if r := got[0].(map[string]any); r["pid"] != 1 || r["ppid"] != 0 || r["command"] != "/sbin/init splash" || r["user"] != "root" {
		t.Errorf("procps ps: %#v", got)
	}
	if len(PS("no header here\n1 2 3")) != 0 {
		t.Error("lines before a header must be skipped")
	}
}

func TestCompileAndEval(t *testing.T) {
	res := Context{Result: true, Results: map[string]any{"stdout": "", "pod": map[string]any{}}, Kind: "debug", Bool: true}
	tests := []struct {
		src  string
		s    Scope
		want bool
	}{
		{`any(ps(stdout), .pid == 1 && .command == "/pause")`, Scope{Results: map[string]any{"stdout": busyboxPS}}, true},
		{`count(ps(stdout), .command == "/pause") == 2`, Scope{Results: map[string]any{"stdout": busyboxPS}}, true},
		{`len(lines(stdout)) == 5`, Scope{Results: map[string]any{"stdout": busyboxPS}}, true},
		{`error contains "no such file"`, Scope{Results: map[string]any{"error": "exec: /bin/sh: no such file or directory"}}, true},
		{`pod.spec.ephemeralContainers[0].targetContainerName == "app"`,
			Scope{Results: map[string]any{"pod": map[string]any{"spec": map[string]any{"ephemeralContainers": []any{map[string]any{"targetContainerName": "app"}}}}}}, true},
		{`len(grep(stdout, "^ +1 ")) == 1`, Scope{Results: map[string]any{"stdout": busyboxPS}}, true},
		{`field(lines(stdout)[1], 3) == "/pause"`, Scope{Results: map[string]any{"stdout": busyboxPS}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			p, probs := Compile(tc.src, res)
			if len(probs) > 0 {
				t.Fatalf("compile: %v", probs)
			}
			got, err := p.EvalBool(&tc.s)
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestCompileProblems(t *testing.T) {
	tests := []struct {
		src  string
		c    Context
		want string
	}{
		{"stdout ==", Context{Result: true, Results: map[string]any{"stdout": ""}}, "1:8: unexpected token EOF"},
		{"stdout == 1", Context{Result: true, Results: map[string]any{"stdout": ""}, Bool: true}, "1:7: invalid operation: == (mismatched types string and int)"},
		{"pod.x", Context{Result: true, Kind: "exec", Results: map[string]any{"stdout": ""}, Known: map[string]any{"pod": map[string]any{}}}, "1:0: exec steps do not set pod (they set: stdout, error, duration)"},
		{"steps.b.stdout", Context{Names: Sets{Earlier: map[string]bool{"a": true}, Later: map[string]bool{"b": true}}}, "1:0: steps.b refers to a step that has not run yet at this point"},
		{"steps.c.stdout", Context{Names: Sets{Earlier: map[string]bool{"app": true}}}, `1:0: steps.c: no step has id "c"`},
		{"item", Context{}, "1:0: item only exists in a step with forEach"},
		{"   ", Context{}, "1:0: empty expression"},
		// Flat chains are not nesting: 5000 subtractions of negatives go
		// past the bound and stop at expr-lang's node limit.
		{strings.Repeat("1 - -", 5000) + "1", Context{}, "1:16672: compilation failed: expression exceeds maximum allowed nodes"},
		// Nesting that would overflow expr-lang's recursive parser (a fatal
		// stack overflow at a million levels) is refused at the level past
		// MaxNesting, whatever nests: brackets, prefix operators or both.
		{strings.Repeat("(", 1e6) + "1" + strings.Repeat(")", 1e6), Context{}, "1:256: the expression nests more than 256 levels deep"},
		{strings.Repeat("[", 1e6) + "1" + strings.Repeat("]", 1e6), Context{}, "1:256: the expression nests more than 256 levels deep"},
		{strings.Repeat("- ", 1e6) + "1", Context{}, "1:512: the expression nests more than 256 levels deep"},
		{strings.Repeat("not ", 1e6) + "true", Context{}, "1:1024: the expression nests more than 256 levels deep"},
		{strings.Repeat("len(-", 1e6) + "1" + strings.Repeat(")", 1e6), Context{}, "1:643: the expression nests more than 256 levels deep"},
		{strings.Repeat("{a: ", 1e6) + "1" + strings.Repeat("}", 1e6), Context{}, "1:1024: the expression nests more than 256 levels deep"},
	}
	for _, tc := range tests {
		name := tc.src
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			_, probs := Compile(tc.src, tc.c)
			if len(probs) == 0 {
				t.Fatal("want a problem")
			}
			if got := probs[0].Error(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want prefix %q", got, tc.want)
			}
		})
	}
}

func TestValuesOfParts(t *testing.T) {
	p, probs := Compile(`len(pod.spec.containers) == 3 && trim(stdout) == "x"`, Context{Result: true, Results: map[string]any{"stdout": "", "pod": map[string]any{}}, Bool: true})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	s := &Scope{Results: map[string]any{"stdout": " y\n", "pod": map[string]any{"spec": map[string]any{"containers": []any{1, 2}}}}}
	got := map[string]string{}
	for _, v := range p.Values(s) {
		got[v.Expr] = v.Value
	}
	for expr, want := range map[string]string{"len(pod.spec.containers)": "2", "trim(stdout)": `"y"`, "pod.spec.containers": "[1,2]", "stdout": `" y\n"`} {
		if got[expr] != want {
			t.Errorf("value of %s = %q, want %q (all: %v)", expr, got[expr], want, got)
		}
	}
}

func TestTemplate(t *testing.T) {
	tm := Template{Raw: "img-${{ vars.image }}:${{ vars.n + 1 }}", Line: 3, Column: 14}
	if probs := tm.Compile(Context{Names: Sets{Vars: map[string]bool{"image": true, "n": true}}}); len(probs) > 0 {
		t.Fatal(probs)
	}
	got, err := tm.Render(&Scope{Vars: map[string]any{"image": "busybox", "n": 1}})
	if err != nil || got != "img-busybox:2" {
		t.Errorf("render = %q, %v", got, err)
	}
	partial, ok := tm.RenderPartial(&Scope{Vars: map[string]any{"image": "busybox"}})
	if ok || partial != "img-busybox:<vars.n + 1>" {
		t.Errorf("partial = %q %v", partial, ok)
	}
	bad := Template{Raw: "x ${{ vars.nope }}", Line: 3, Column: 14}
	probs := bad.Compile(Context{Names: Sets{Vars: map[string]bool{"image": true}}})
	if len(probs) != 1 || probs[0].Line != 3 || probs[0].Column != 20 {
		t.Errorf("problem position: %+v (want 3:20)", probs)
	}
	unterminated := Template{Raw: "x ${{ vars.image", Line: 1, Column: 1}
	if probs := unterminated.Compile(Context{}); len(probs) != 1 || !strings.Contains(probs[0].Message, "unterminated") {
		t.Errorf("unterminated: %+v", probs)
	}
}

// TestShadowedCall: calling a name that a step result hides (duration,
// error) says so, where the call is, instead of "float64 is not callable";
// the date arithmetic the message suggests compiles.
func TestShadowedCall(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`now() - date("2026-01-01") > duration("1h")`, `1:29: duration is a result of a step here, not a function: it hides expr-lang's duration()`},
		{`error(1)`, `1:0: error is a result of a step here, not a function`},
	} {
		_, probs := Compile(tc.src, Context{Result: true, Bool: true})
		if len(probs) != 1 || !strings.HasPrefix(probs[0].Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.src, probs, tc.want)
		}
	}
	if _, probs := Compile(`(now() - date("2026-01-01")).Hours() > 1`, Context{Result: true, Bool: true}); len(probs) > 0 {
		t.Errorf("the suggested arithmetic does not compile: %v", probs)
	}
}
