package main

import (
	"os"
	"strings"
	"testing"
)

// TestStdin checks that every command that reads a file reads standard
// input when the file is named "-", with <stdin> in the positions of its
// messages.
func TestStdin(t *testing.T) {
	noKubeconfig(t)
	good, err := os.ReadFile("../../examples/distroless.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const bad = "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  steps:\n  - local: {command: [echo]}\n    continueOnError: yes\n"
	result, err := os.ReadFile("../../report/testdata/failed.json.golden")
	if err != nil {
		t.Fatal(err)
	}
	old := stdin
	defer func() { stdin = old }()
	for _, tc := range []struct {
		args       []string
		in         string
		code       int
		out, errIs string
	}{
		{[]string{"validate", "-"}, string(good), exitPassed, "-: ok\n", ""},
		{[]string{"validate", "-"}, bad, exitInvalid, "", "<stdin>:7:22: continueOnError: expected true or false"},
		{[]string{"validate", "-", "../../examples/node.yaml", "-"}, string(good), exitInvalid, "", "standard input (-) can be read once"},
		{[]string{"plan", "-"}, string(good), exitPassed, "distroless-three-ways (<stdin>, sha256:", ""},
		{[]string{"plan", "-"}, bad, exitInvalid, "", "<stdin>:7:22:"},
		{[]string{"rbac", "-"}, string(good), exitPassed, "kind: Role\n", ""},
		{[]string{"rbac", "-"}, bad, exitInvalid, "", "<stdin>:7:22:"},
		// run loads the runbook before it reaches the cluster.
		{[]string{"run", "-"}, bad, exitInvalid, "", "<stdin>:7:22:"},
		{[]string{"run", "-"}, string(good), exitCluster, "", "cannot use the cluster"},
		{[]string{"report", "-o", "md", "-"}, string(result), exitPassed, "checkout-debug", ""},
		{[]string{"report", "-"}, "{}", exitInvalid, "", "<stdin>: not a runbook result: no schemaVersion"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdin = strings.NewReader(tc.in)
			code, stdout, stderr := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.out) || !strings.Contains(stderr, tc.errIs) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, %q in stdout, %q in stderr", code, stdout, stderr, tc.code, tc.out, tc.errIs)
			}
		})
	}
}

// TestUnreadableInput: what is not a readable file (a directory as a
// file or as standard input, an empty name) is exit 2 with its name and why,
// once, not "dir: read dir: is a directory".
func TestUnreadableInput(t *testing.T) {
	dir := t.TempDir()
	old := stdin
	defer func() { stdin = old }()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		args  []string
		errIs string
	}{
		{[]string{"validate", dir}, dir + ": is a directory\n"},
		{[]string{"plan", "-"}, "<stdin>: is a directory\n"},
		{[]string{"validate", ""}, `"": no such file: the name is empty` + "\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdin = f
			code, _, stderr := run(t, tc.args...)
			if code != exitInvalid || stderr != tc.errIs {
				t.Errorf("exit %d, stderr %q; want exit %d, stderr %q", code, stderr, exitInvalid, tc.errIs)
			}
		})
	}
}
