package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ from the current renderers")

// goldenFormats are the formats with golden files; aliases are not repeated.
var goldenFormats = []struct{ format, ext string }{
	{"table", "txt"},
	{"md", "md"},
	{"json", "json"},
	{"junit", "xml"},
}

// goldenPath is where the golden file of a fixture in a format lives.
func goldenPath(fixture, ext string) string {
	return filepath.Join("testdata", fixture+"."+ext+".golden")
}

// render renders a fresh copy of a fixture in a format.
func render(t *testing.T, format string, fixture fixtureCase) []byte {
	t.Helper()
	renderer, err := Lookup(format)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := renderer(&buf, fixture.result()); err != nil {
		t.Fatalf("rendering %s as %s: %v", fixture.name, format, err)
	}
	return buf.Bytes()
}

// checkGolden compares got with the checked-in file, or rewrites the file
// with -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./report -update to write it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the rendered output (-golden +got):\n%s", path, diff)
	}
}

func TestGolden(t *testing.T) {
	for _, fx := range fixtures {
		for _, f := range goldenFormats {
			t.Run(fx.name+"/"+f.format, func(t *testing.T) {
				checkGolden(t, goldenPath(fx.name, f.ext), render(t, f.format, fx))
			})
		}
	}
}

func TestGoldenSchema(t *testing.T) {
	got, err := ResultSchema()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "result.schema.json.golden"), got)
}

// TestGoldenFilesAreAllUsed makes sure that no golden file is left over
// from a fixture or format that no longer exists: such a file would look
// tested and not be.
func TestGoldenFilesAreAllUsed(t *testing.T) {
	want := map[string]bool{filepath.Join("testdata", "result.schema.json.golden"): true}
	for _, fx := range fixtures {
		for _, f := range goldenFormats {
			want[goldenPath(fx.name, f.ext)] = true
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !want[f] {
			t.Errorf("%s is not rendered by any test; delete it", f)
		}
		delete(want, f)
	}
	for f := range want {
		t.Errorf("%s is missing; run go test ./report -update", f)
	}
}

func TestRenderTwiceGivesSameBytes(t *testing.T) {
	for _, fx := range fixtures {
		for _, format := range Formats() {
			t.Run(fx.name+"/"+format, func(t *testing.T) {
				first, second := render(t, format, fx), render(t, format, fx)
				if !bytes.Equal(first, second) {
					t.Errorf("two renderings differ:\n%s", cmp.Diff(string(first), string(second)))
				}
			})
		}
	}
}
