package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadRoutes(t *testing.T) {
	rs, err := LoadRoutes("testdata/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"crashloop", "crashloop-any", "disk"}, rs.Names()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	tests := []struct {
		name      string
		alert     Alert
		route     string
		target    Target
		targetErr string
	}{
		{
			name:   "labels become the namespace and vars",
			alert:  Alert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "severity": "critical", "namespace": "shop", "pod": "web-1", "container": "app"}},
			route:  "crashloop",
			target: Target{Namespace: "shop", Vars: map[string]string{"pod": "web-1", "container": "app"}},
		},
		{
			name:   "the selector fails: the next route, with its fixed namespace",
			alert:  Alert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "severity": "info", "namespace": "other", "pod": "web-1"}},
			route:  "crashloop-any",
			target: Target{Namespace: "shop", Vars: map[string]string{"pod": "web-1"}},
		},
		{
			name:  "no route for another alert",
			alert: Alert{Labels: map[string]string{"alertname": "Watchdog"}},
		},
		{
			name:      "a pod label that is not a name",
			alert:     Alert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "severity": "critical", "namespace": "shop", "pod": "../etc/passwd", "container": "app"}},
			route:     "crashloop",
			targetErr: `var pod: labels.pod "../etc/passwd" is not a valid name: a lowercase RFC 1123 subdomain must consist of`,
		},
		{
			name:      "a namespace label that is not a namespace",
			alert:     Alert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "severity": "critical", "namespace": "a.b", "pod": "p", "container": "app"}},
			route:     "crashloop",
			targetErr: `namespace: labels.namespace "a.b" is not a valid namespace: must not contain dots`,
		},
		{
			name:      "a label the route needs is missing",
			alert:     Alert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "severity": "critical", "namespace": "shop", "pod": "p"}},
			route:     "crashloop",
			targetErr: "var container: the alert has no labels.container",
		},
		{
			name:   "text from an annotation",
			alert:  Alert{Labels: map[string]string{"alertname": "NodeDiskFull", "node": "node-1"}, Annotations: map[string]string{"summary": "Disk is 99% full"}},
			route:  "disk",
			target: Target{Vars: map[string]string{"node": "node-1", "summary": "Disk is 99% full"}},
		},
		{
			name:      "text with a control character",
			alert:     Alert{Labels: map[string]string{"alertname": "NodeDiskFull", "node": "node-1"}, Annotations: map[string]string{"summary": "a\x1b[31mred"}},
			route:     "disk",
			targetErr: `var summary: annotations.summary "a\x1b[31mred" is not a valid text: holds control characters`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rs.Match(&tt.alert)
			got := ""
			if r != nil {
				got = r.Name
			}
			if got != tt.route {
				t.Fatalf("route: want %q, got %q", tt.route, got)
			}
			if r == nil {
				return
			}
			target, err := r.Target(&tt.alert)
			if tt.targetErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.targetErr) {
					t.Fatalf("want an error starting %q, got %v", tt.targetErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.target, target); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoutesErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{
			name: "envelope and required fields",
			src:  "apiVersion: v1\nkind: Foo\nroutes:\n- name: Bad_Name\n  selector: 'a in (('\n",
			want: []string{
				`routes.yaml:1:13: apiVersion must be runbook/v1alpha1, found "v1"`,
				`routes.yaml:2:7: kind must be Routes, found "Foo"`,
				`routes.yaml:4:3: routes[0]: alert is required (the alertname to match)`,
				`routes.yaml:4:3: routes[0]: runbook is required (the file of an installed runbook)`,
				`routes.yaml:4:9: routes[0]: name "Bad_Name" is not a DNS label (lower-case letters, digits, '-', at most 63)`,
				`routes.yaml:5:13: routes[0]: selector: unable to parse requirement: found '(', expected: ',', ')' or identifier`,
			},
		},
		{
			name: "a typo'd key, a bad reference, a duplicate route",
			src: `apiVersion: runbook/v1alpha1
kind: Routes
routes:
- name: a
  alert: A
  runbok: x
- name: a
  alert: A
  runbook: node.yaml
  namespace: spec.ns
  vars:
    node: {from: labels.c, as: uuid}
    summary: {from: labels.d, bogus: 1}
    token: labels.token
    nod: labels.node
- name: b
  alert: B
  runbook: missing.yaml
`,
			want: []string{
				`routes.yaml:4:3: routes[0]: runbook is required (the file of an installed runbook)`,
				`routes.yaml:6:3: unknown field "runbok" in routes[0] (did you mean "runbook"?)`,
				`routes.yaml:7:9: routes[1]: route "a" is defined twice`,
				`routes.yaml:10:14: routes[1]: namespace: "spec.ns" is not labels.NAME or annotations.NAME`,
				`routes.yaml:12:11: routes[1]: vars.node: as must be name, label or text, found "uuid"`,
				`routes.yaml:13:14: routes[1].vars.summary: unknown field "bogus" in a var (from, as)`,
				`routes.yaml:13:14: routes[1]: vars.summary: "" is not labels.NAME or annotations.NAME`,
				`routes.yaml:14:5: routes[1]: vars: "token" is a secret var of the runbook: an alert cannot set it`,
				`routes.yaml:15:5: routes[1]: vars: the runbook disk declares no var "nod" in spec.vars (did you mean "node"?)`,
				`routes.yaml:18:12: routes[2]: runbook missing.yaml: open missing.yaml: no such file or directory`,
			},
		},
		{
			name: "not YAML",
			src:  "routes: [\n",
			want: []string{"routes.yaml:1:1: did not find expected node content"},
		},
		{
			name: "empty routes",
			src:  "apiVersion: runbook/v1alpha1\nkind: Routes\nroutes: []\n",
			want: []string{"routes.yaml:3:9: routes is empty: a routes file needs at least one route"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "routes.yaml")
			if err := os.WriteFile(file, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			node, err := os.ReadFile("testdata/node.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(filepath.Dir(file), "node.yaml"), node, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = LoadRoutes(file)
			if err == nil {
				t.Fatal("want errors, got none")
			}
			got := strings.Split(strings.ReplaceAll(err.Error(), filepath.Dir(file)+"/", ""), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseRoutes: whatever the routes file, ParseRoutes returns routes or
// positioned errors, and never panics.
func FuzzParseRoutes(f *testing.F) {
	src, err := os.ReadFile("testdata/routes.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(src))
	f.Add("routes: [{name: a, vars: {x: {from: [1]}}}]")
	f.Add("a: &a [*a, *a]\nroutes: *a\n")
	f.Add("apiVersion: runbook/v1alpha1\nkind: Routes\nroutes:\n- {name: a, alert: A, runbook: node.yaml, selector: 'x in (', namespace: labels.}\n")
	f.Fuzz(func(t *testing.T, data string) {
		rs, err := ParseRoutes("testdata/routes.yaml", []byte(data))
		if err == nil {
			if len(rs.Names()) == 0 {
				t.Fatal("no error and no route")
			}
			return
		}
		if err.Error() == "" {
			t.Fatal("an empty error")
		}
	})
}
