package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"
)

type versionOptions struct {
	output string
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *versionOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.output, "output", "o", "text", "text or json")
}

// versionInfo is what `runbook version -o json` prints.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	// ClientGo is the version of k8s.io/client-go the tool is built with.
	ClientGo string `json:"clientGo,omitempty"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: version(), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Commit = s.Value
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/client-go" {
				v.ClientGo = d.Version
			}
		}
	}
	return v
}

// Run runs the command with its positional arguments.
func (o *versionOptions) Run(args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return exitf(exitInvalid, "%s version takes no arguments", programName())
	}
	v := buildVersion()
	switch o.output {
	case "text":
		fmt.Fprintf(stdout, "runbook %s (%s, %s", v.Version, v.GoVersion, v.Platform)
		if v.ClientGo != "" {
			fmt.Fprintf(stdout, ", client-go %s", v.ClientGo)
		}
		fmt.Fprintln(stdout, ")")
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	default:
		return exitf(exitInvalid, "--output %q: use text or json", o.output)
	}
	return nil
}
