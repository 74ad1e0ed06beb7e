package engine

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRuntimeErrorsSayWhere checks that an expression failing as it runs is
// reported at its file:line:col, in one line, as a load problem is: in an
// assertion (plain, quoted and block scalars), a when, a set, a template of
// an action, forEach.items and a parallel group's when.
func TestRuntimeErrorsSayWhere(t *testing.T) {
	src := runHead + `  vars: {n: "abc"}
  steps:
  - id: a
    local: {command: [echo, abc]}
    continueOnError: true
    assert:
    - int(stdout) > 1
    - 'split(stdout, "x")[3] == "y"'
    - that: |
        stdout != "" &&
          int(vars.n) > 1
  - name: when
    local: {command: ["true"]}
    when: int(vars.n) > 1
    continueOnError: true
  - name: set
    local: {command: ["true"]}
    set: {x: 'int(vars.n)'}
    continueOnError: true
  - name: template
    local: {command: [echo, "n=${{ int(vars.n) }}"]}
    continueOnError: true
  - name: items
    local: {command: ["true"]}
    forEach: {items: "[1, 2][int(vars.n)]"}
    continueOnError: true
`
	res := runLocal(t, context.Background(), src)
	var asserts []string
	for _, a := range res.Steps[0].Assertions {
		asserts = append(asserts, a.Error)
	}
	want := []string{
		`rb.yaml:12:7: invalid operation: int(abc\n)`,
		`rb.yaml:13:26: index out of range: 3 (array length is 1)`,
		`rb.yaml:16:11: invalid operation: int(abc)`,
	}
	if diff := cmp.Diff(want, asserts); diff != "" {
		t.Errorf("assertion errors (-want +got):\n%s", diff)
	}
	var errs []string
	for _, s := range res.Steps[1:] {
		errs = append(errs, s.Error)
	}
	want = []string{
		`rb.yaml:19:11: when: invalid operation: int(abc)`,
		`rb.yaml:23:15: set x: invalid operation: int(abc)`,
		`rb.yaml:26:36: command: ${{ int(vars.n) }}: invalid operation: int(abc)`,
		`rb.yaml:30:30: forEach.items: invalid operation: int(abc)`,
	}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("step errors (-want +got):\n%s", diff)
	}
}
