package main

import (
	"path/filepath"

	"github.com/kube-runbook/runbook/report"
)

// defaultArtifactsRoot is where runs keep their files unless --artifacts
// says otherwise: runbook-artifacts/RUN-ID under the current directory.
const defaultArtifactsRoot = "runbook-artifacts"

// artifactDir returns the absolute artifact directory of a run: flag when
// given, else runbook-artifacts/RUN-ID. It is absolute so that the JUnit
// report's [[ATTACHMENT|PATH]] lines name the files wherever they are read.
func artifactDir(flag, runID string) (string, error) {
	dir := flag
	if dir == "" {
		dir = filepath.Join(defaultArtifactsRoot, runID)
	}
	return filepath.Abs(dir)
}

// relativeArtifacts returns res with its artifact directory relative to
// the directory of the report file at reportPath, so that the links of a
// Markdown report work where it is written (and when both are moved
// together). res is not changed; when no relative path exists, res is
// returned as it is.
func relativeArtifacts(res *report.Result, reportPath string) *report.Result {
	if res.ArtifactDir == "" {
		return res
	}
	from, err := filepath.Abs(filepath.Dir(reportPath))
	if err != nil {
		return res
	}
	rel, err := filepath.Rel(from, res.ArtifactDir)
	if err != nil {
		return res
	}
	c := *res
	c.ArtifactDir = filepath.ToSlash(rel)
	return &c
}
