package steps

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDocsKindTable checks the kind table of docs/format.md against the
// registry: every kind has a row, and the row's result names are exactly
// the ones the kind declares.
func TestDocsKindTable(t *testing.T) {
	b, err := os.ReadFile("../docs/format.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z]+)` \\| .* \\| (.*) \\|$")
	name := regexp.MustCompile("`([a-zA-Z]+)`")
	rows := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		var names []string
		// Names stand first in each comma-separated item; what follows
		// in parentheses explains them.
		for _, item := range strings.Split(regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(m[2], ""), ",") {
			if n := name.FindStringSubmatch(item); n != nil {
				names = append(names, n[1])
			}
		}
		rows[m[1]] = names
	}
	for _, k := range Kinds() {
		got, ok := rows[k.Name]
		if !ok {
			t.Errorf("docs/format.md has no row for kind %s", k.Name)
			continue
		}
		var want []string
		for _, r := range k.Results {
			want = append(want, r.Name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("kind %s: result names in docs/format.md (-declared +documented):\n%s", k.Name, diff)
		}
	}
}
