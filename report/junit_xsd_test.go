package report

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestJUnitValidatesAgainstXSD validates the JUnit of every fixture (a
// passing, a failing, a fanned-out run, ...) with xmllint, a real XML
// Schema validator, against the schema Jenkins-style consumers apply
// (testdata/junit.xsd). `make unit` installs xmllint (Debian's
// libxml2-utils) when it is missing.
func TestJUnitValidatesAgainstXSD(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is not installed (apt-get install libxml2-utils; make unit does it)")
	}
	dir := t.TempDir()
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(dir, f.name+".xml")
			if err := os.WriteFile(path, render(t, "junit", f), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(xmllint, "--noout", "--schema", "testdata/junit.xsd", path).CombinedOutput()
			if err != nil {
				t.Errorf("xmllint: %v\n%s", err, out)
			}
		})
	}
}
