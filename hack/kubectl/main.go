//go:build ignore

// Command kubectl is kubectl built from the module k8s.io/kubectl, as a
// test-only peer of the e2e tests (hack/e2e/kubectl_line_e2e_test.go run
// the kubectl lines runbook prints). runbook itself needs no kubectl.
// hack/kubectl.sh builds it for a given Kubernetes version; the ignore
// constraint keeps it out of the main module, whose go.mod does not
// require k8s.io/kubectl.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
