package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kube-runbook/runbook/report"
)

func TestArtifactDir(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ flag, want string }{
		{"", filepath.Join(wd, "runbook-artifacts", "rb-1234")},
		{"out/files", filepath.Join(wd, "out", "files")},
		{"/abs/files", "/abs/files"},
	}
	for _, tt := range tests {
		got, err := artifactDir(tt.flag, "rb-1234")
		if err != nil || got != tt.want {
			t.Errorf("artifactDir(%q) = %q, %v; want %q", tt.flag, got, err, tt.want)
		}
	}
}

func TestRelativeArtifacts(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	res := &report.Result{ArtifactDir: filepath.Join(wd, "runbook-artifacts", "rb-1")}
	tests := []struct{ report, want string }{
		{"report.md", "runbook-artifacts/rb-1"},
		{"out/report.md", "../runbook-artifacts/rb-1"},
		{filepath.Join(wd, "runbook-artifacts", "rb-1", "report.md"), "."},
	}
	for _, tt := range tests {
		if got := relativeArtifacts(res, tt.report).ArtifactDir; got != tt.want {
			t.Errorf("relativeArtifacts(%q) = %q, want %q", tt.report, got, tt.want)
		}
	}
	if res.ArtifactDir != filepath.Join(wd, "runbook-artifacts", "rb-1") {
		t.Errorf("the result was changed: %q", res.ArtifactDir)
	}
	if got := relativeArtifacts(&report.Result{}, "x.md").ArtifactDir; got != "" {
		t.Errorf("no artifact directory became %q", got)
	}
}
