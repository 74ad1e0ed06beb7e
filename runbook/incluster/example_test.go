package incluster_test

import (
	"context"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/incluster"
	"github.com/kube-runbook/runbook/steps"
)

// An alert receiver starts one run of an installed runbook per alert: the
// alert's labels become vars and the namespace, validated by Job.
func ExampleInstall_Job() {
	file := "examples/incidents/crashloop.yaml"
	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	rb, err := runbook.Parse(file, src, runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		fmt.Println(err) // file:line:col: message, for each problem
		return
	}
	// The same install `runbook job FILE -n runbooks --target-namespace '*' --apply` makes.
	in, err := incluster.New(rb, incluster.Options{Source: src, Namespace: "runbooks", TargetNamespaces: []string{"*"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	alert := map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "cart-0"}
	job, err := in.Job(incluster.RunOptions{
		Vars:      map[string]string{"pod": alert["pod"]},
		Namespace: alert["namespace"],
		Labels:    map[string]string{"alerts.example.com/fingerprint": "1a2b3c4d5e6f7a8b"},
	})
	if err != nil {
		fmt.Println("refused:", err) // untrusted input that does not fit
		return
	}
	c, err := kube.NewClients(kube.ConfigOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	created, err := c.Kube.BatchV1().Jobs(job.Namespace).Create(context.Background(), job, metav1.CreateOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Its result: incluster.GetResult(ctx, c, in.Namespace, created.Labels[incluster.LabelRun]).
	fmt.Println(created.Name)
}
