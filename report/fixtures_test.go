package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Hand-made results with fixed times, one per situation the reports must
// handle. Every golden file under testdata/ is rendered from one of them.

// base is when every fixture run starts.
var base = time.Date(2025, 11, 24, 22, 36, 0, 0, time.UTC)

// at returns base plus ms milliseconds, in UTC.
func at(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

// secs returns ms milliseconds as Seconds.
func secs(ms int) Seconds { return Seconds(time.Duration(ms) * time.Millisecond) }

func intp(i int) *int { return &i }

// timed sets a step's times from offsets in milliseconds.
func timed(s StepResult, startMS, endMS int) StepResult {
	s.StartedAt, s.FinishedAt, s.Duration = at(startMS), at(endMS), secs(endMS-startMS)
	return s
}

// fixtureCase names a fixture; the golden files are NAME.FORMAT.golden.
type fixtureCase struct {
	name   string
	result func() *Result
}

// fixtures lists every fixture in a fixed order.
var fixtures = []fixtureCase{
	{"passed", passedResult},
	{"failed", failedResult},
	{"interrupted", interruptedResult},
	{"hostile", hostileResult},
	{"redacted", redactedResult},
	{"fanout", fanoutResult},
	{"error", errorResult},
	{"artifacts", artifactsResult},
	{"parallel", parallelResult},
}

// runInfo fills the run-level facts shared by the fixtures.
func runInfo(name, file string, start, end time.Time) Result {
	return Result{
		SchemaVersion: SchemaVersion,
		Runbook: RunbookInfo{
			Name:   name,
			File:   file,
			Digest: "sha256:9f2c4a1be0d3c7a8e5f6b2d1c0a9e8f7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1",
		},
		RunID:      "r-4f2a9c",
		Cluster:    ClusterInfo{Context: "kind-runbook", Server: "https://127.0.0.1:41234", ServerVersion: "v1.33.1"},
		Namespace:  "default",
		User:       "alice",
		Host:       "alice-laptop",
		Tool:       "runbook v0.1.0",
		StartedAt:  start,
		FinishedAt: end,
		Duration:   Seconds(end.Sub(start)),
	}
}

// passedResult is a passed run of the seed's three modes: exec fails on a
// shell-less pod, an ephemeral container with --target sees /pause, a copy
// with shared processes sees both /pause, and a node pod reads the host's
// hostname.
func passedResult() *Result {
	r := runInfo("distroless-three-ways", "examples/distroless.yaml", at(0), at(41234))
	r.Runbook.Description = "Debug a shell-less pod by ephemeral container, by copy, and from its node."
	r.Verdict = VerdictPassed
	r.APIRequests = 148
	r.APIRequestsByVerb = map[string]int64{"WATCH": 9, "POST": 5, "GET": 122, "PATCH": 1, "DELETE": 3, "LIST": 8}
	r.Vars = map[string]string{"image": "busybox:1.36"}
	r.Steps = []StepResult{
		timed(StepResult{
			Index: 1, ID: "app", Name: "Create a pod with no shell", Kind: "apply", Phase: PhaseSteps,
			Target:  "pod default/noshell",
			Status:  StatusPassed,
			Command: "kubectl apply -n default -f - && kubectl wait -n default --for=condition=Ready pod/noshell",
			Calls:   []Call{{Verb: "create", Version: "v1", Resource: "pods", Namespace: "default"}, {Verb: "watch", Version: "v1", Resource: "pods", Namespace: "default", Name: "noshell"}},
			Objects: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "noshell", Action: ActionCreated}},
			Set:     map[string]string{"node": "runbook-control-plane"},
		}, 120, 3320),
		timed(StepResult{
			Index: 2, Name: "kubectl exec has nothing to run", Kind: "exec", Phase: PhaseSteps,
			Target:        "pod default/noshell",
			Status:        StatusPassed,
			ExpectFailure: true,
			Command:       "kubectl exec noshell -n default -c app -- /bin/sh -c 'echo hi'",
			Calls:         []Call{{Verb: "create", Version: "v1", Resource: "pods", Subresource: "exec", Namespace: "default", Name: "noshell"}},
			Error:         `Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "1c2d": OCI runtime exec failed: exec failed: unable to start container process: exec: "/bin/sh": stat /bin/sh: no such file or directory: unknown`,
			Assertions: []Assertion{{
				Expr: `error contains "no such file or directory"`, Passed: true,
				Values: []Value{{Expr: "error", Value: `"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"1c2d\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"/bin/sh\": stat /bin/sh: no such file or directory: unknown"`}},
			}},
		}, 3330, 3710),
		timed(StepResult{
			Index: 3, Name: "Attach busybox targeting app", Kind: "debug", Phase: PhaseSteps,
			Target:   "pod default/noshell",
			Status:   StatusPassed,
			Command:  "kubectl debug noshell -n default --image=busybox:1.36 --target=app -c debugger -- ps -ef",
			Calls:    []Call{{Verb: "get", Version: "v1", Resource: "pods", Namespace: "default", Name: "noshell"}, {Verb: "patch", Version: "v1", Resource: "pods", Subresource: "ephemeralcontainers", Namespace: "default", Name: "noshell"}, {Verb: "watch", Version: "v1", Resource: "pods", Namespace: "default", Name: "noshell"}, {Verb: "get", Version: "v1", Resource: "pods", Subresource: "log", Namespace: "default", Name: "noshell"}},
			Stdout:   "PID   USER     TIME  COMMAND\n    1 65535     0:00 /pause\n   14 root      0:00 ps -ef\n",
			Stderr:   "Targeting container \"app\". If you don't see processes from this container it may be because the container runtime doesn't support this feature.\n",
			ExitCode: intp(0),
			Assertions: []Assertion{
				{Expr: `any(ps(stdout), .pid == 1 && .command == "/pause")`, Passed: true, Values: []Value{{Expr: "ps(stdout)", Value: `[{"pid":1,"user":"65535","time":"0:00","command":"/pause"},{"pid":14,"user":"root","time":"0:00","command":"ps -ef"}]`}}},
				{Expr: `pod.spec.ephemeralContainers[0].targetContainerName == "app"`, Passed: true, Values: []Value{{Expr: "pod.spec.ephemeralContainers[0].targetContainerName", Value: `"app"`}}},
				{Expr: `pod.status.containerStatuses[0].restartCount == 0`, Passed: true, Values: []Value{{Expr: "pod.status.containerStatuses[0].restartCount", Value: "0"}}},
			},
			Objects: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "noshell", Action: ActionPatched}},
		}, 3720, 9840),
		timed(StepResult{
			Index: 4, Name: "Copy the pod with a debugger that shares processes", Kind: "copy", Phase: PhaseSteps,
			Target:     "pod default/noshell-dbg",
			Status:     StatusPassed,
			Command:    "kubectl debug noshell -n default --copy-to=noshell-dbg --image=busybox:1.36 -c debugger --share-processes -- sleep 3600",
			Calls:      []Call{{Verb: "get", Version: "v1", Resource: "pods", Namespace: "default", Name: "noshell"}, {Verb: "create", Version: "v1", Resource: "pods", Namespace: "default"}, {Verb: "watch", Version: "v1", Resource: "pods", Namespace: "default", Name: "noshell-dbg"}},
			Assertions: []Assertion{{Expr: "len(pod.spec.containers) == 2", Passed: true, Values: []Value{{Expr: "len(pod.spec.containers)", Value: "2"}}}},
			Objects:    []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "noshell-dbg", Action: ActionCreated}},
		}, 9850, 17900),
		timed(StepResult{
			Index: 5, Name: "Both /pause processes are visible from the copy", Kind: "exec", Phase: PhaseSteps,
			Target:     "pod default/noshell-dbg",
			Status:     StatusPassed,
			Command:    "kubectl exec noshell-dbg -n default -c debugger -- ps -ef",
			Calls:      []Call{{Verb: "create", Version: "v1", Resource: "pods", Subresource: "exec", Namespace: "default", Name: "noshell-dbg"}},
			Stdout:     "PID   USER     TIME  COMMAND\n    1 65535     0:00 /pause\n    7 65535     0:00 /pause\n   13 root      0:00 sleep 3600\n   19 root      0:00 ps -ef\n",
			ExitCode:   intp(0),
			Assertions: []Assertion{{Expr: `count(ps(stdout), .command == "/pause") == 2`, Passed: true, Values: []Value{{Expr: `count(ps(stdout), .command == "/pause")`, Value: "2"}}}},
		}, 17910, 18400),
		timed(StepResult{
			Index: 6, Name: "Read the node's hostname through /host", Kind: "node", Phase: PhaseSteps,
			Target:   "node runbook-control-plane",
			Status:   StatusPassed,
			Command:  "kubectl debug node/runbook-control-plane -n default --image=busybox:1.36 -c debugger -- cat /host/etc/hostname",
			Calls:    []Call{{Verb: "create", Version: "v1", Resource: "pods", Namespace: "default"}, {Verb: "watch", Version: "v1", Resource: "pods", Namespace: "default", Name: "node-debugger-runbook-control-plane-x7k2p"}, {Verb: "get", Version: "v1", Resource: "pods", Subresource: "log", Namespace: "default", Name: "node-debugger-runbook-control-plane-x7k2p"}, {Verb: "get", Version: "v1", Resource: "nodes", Name: "runbook-control-plane"}},
			Stdout:   "runbook-control-plane\n",
			ExitCode: intp(0),
			Assertions: []Assertion{{
				Expr: "trim(stdout) == node.metadata.name", Passed: true,
				Values: []Value{{Expr: "trim(stdout)", Value: `"runbook-control-plane"`}, {Expr: "node.metadata.name", Value: `"runbook-control-plane"`}},
			}},
			Objects: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "node-debugger-runbook-control-plane-x7k2p", Action: ActionCreated}},
		}, 18410, 39000),
	}
	r.Cleanup = CleanupResult{
		Policy: "always",
		Deletions: []Deletion{
			{Kind: "Pod", Namespace: "default", Name: "node-debugger-runbook-control-plane-x7k2p", Outcome: OutcomeDeleted, Duration: secs(310)},
			{Kind: "Pod", Namespace: "default", Name: "noshell-dbg", Outcome: OutcomeDeleted, Duration: secs(520)},
			{Kind: "Pod", Namespace: "default", Name: "noshell", Outcome: OutcomeDeleted, Duration: secs(1020)},
		},
	}
	return &r
}

// failedResult is a failed run on an existing workload: a crash-looping pod
// (a failed assertion with its values, continueOnError), an ephemeral
// container whose image cannot be pulled, a skipped step, and the
// onFailure and finally steps that gathered evidence.
func failedResult() *Result {
	r := runInfo("checkout-debug", "runbooks/checkout.yaml", at(0), at(95500))
	r.Namespace = "shop"
	r.Verdict = VerdictFailed
	r.APIRequests = 57
	r.APIRequestsByVerb = map[string]int64{"GET": 40, "PATCH": 1, "WATCH": 6, "LIST": 10}
	r.Vars = map[string]string{"image": "busybox:1.99", "pod": "checkout-5c7d8f9b6-x2x9q"}
	pod := "pod shop/checkout-5c7d8f9b6-x2x9q"
	var waiting strings.Builder
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&waiting, "waiting for ephemeral container \"debugger\": ErrImagePull (attempt %d)\n", i)
	}
	r.Steps = []StepResult{
		timed(StepResult{
			Index: 1, ID: "pod", Name: "The checkout pod is not crash-looping", Kind: "get", Phase: PhaseSteps,
			Target:          pod,
			Status:          StatusFailed,
			ContinueOnError: true,
			Command:         "kubectl get pod checkout-5c7d8f9b6-x2x9q -n shop -o yaml",
			Calls:           []Call{{Verb: "get", Version: "v1", Resource: "pods", Namespace: "shop", Name: "checkout-5c7d8f9b6-x2x9q"}},
			Assertions: []Assertion{
				{Expr: `pod.status.phase == "Running"`, Passed: true, Values: []Value{{Expr: "pod.status.phase", Value: `"Running"`}}},
				{Expr: "pod.status.containerStatuses[0].restartCount < 3", Message: "the app should not be crash-looping", Passed: false,
					Values: []Value{{Expr: "pod.status.containerStatuses[0].restartCount", Value: "7"}, {Expr: "pod.status.containerStatuses[0].lastState.terminated.reason", Value: `"OOMKilled"`}}},
			},
			Objects: []ObjectRef{{Kind: "Pod", Namespace: "shop", Name: "checkout-5c7d8f9b6-x2x9q", Action: ActionRead}},
		}, 100, 180),
		timed(StepResult{
			Index: 2, Name: "Attach a debugger to checkout", Kind: "debug", Phase: PhaseSteps,
			Target:  pod,
			Status:  StatusFailed,
			Command: "kubectl debug checkout-5c7d8f9b6-x2x9q -n shop --image=busybox:1.99 --target=app -c debugger -- ps -ef",
			Calls:   []Call{{Verb: "get", Version: "v1", Resource: "pods", Namespace: "shop", Name: "checkout-5c7d8f9b6-x2x9q"}, {Verb: "patch", Version: "v1", Resource: "pods", Subresource: "ephemeralcontainers", Namespace: "shop", Name: "checkout-5c7d8f9b6-x2x9q"}, {Verb: "watch", Version: "v1", Resource: "pods", Namespace: "shop", Name: "checkout-5c7d8f9b6-x2x9q"}},
			Stderr:  waiting.String(),
			Error:   `ephemeral container "debugger" did not start: ImagePullBackOff: Back-off pulling image "busybox:1.99": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/busybox:1.99": not found`,
			Assertions: []Assertion{{
				Expr: `any(ps(stdout), .command contains "checkout")`, Passed: false,
				Values: []Value{{Expr: "ps(stdout)", Value: "[]"}, {Expr: "stdout", Value: `""`}},
			}},
			Objects: []ObjectRef{{Kind: "Pod", Namespace: "shop", Name: "checkout-5c7d8f9b6-x2x9q", Action: ActionPatched}},
		}, 190, 90200),
		{
			Index: 3, Name: "Look at the app's open files", Kind: "exec", Phase: PhaseSteps,
			Target: pod, Status: StatusSkipped, SkipReason: "an earlier step failed",
		},
		timed(StepResult{
			Index: 4, Name: "Events of the pod", Kind: "events", Phase: PhaseOnFailure,
			Target:  pod,
			Status:  StatusPassed,
			Command: "kubectl events -n shop --for pod/checkout-5c7d8f9b6-x2x9q",
			Calls:   []Call{{Verb: "list", Version: "v1", Resource: "events", Namespace: "shop"}},
			Stdout: "LAST SEEN   TYPE      REASON      OBJECT                         MESSAGE\n" +
				"88s         Normal    Pulling     pod/checkout-5c7d8f9b6-x2x9q   Pulling image \"busybox:1.99\"\n" +
				"87s         Warning   Failed      pod/checkout-5c7d8f9b6-x2x9q   Failed to pull image \"busybox:1.99\": not found\n" +
				"87s         Warning   Failed      pod/checkout-5c7d8f9b6-x2x9q   Error: ErrImagePull\n" +
				"60s         Normal    BackOff     pod/checkout-5c7d8f9b6-x2x9q   Back-off pulling image \"busybox:1.99\"\n" +
				"60s         Warning   Failed      pod/checkout-5c7d8f9b6-x2x9q   Error: ImagePullBackOff\n",
		}, 90210, 90400),
		timed(StepResult{
			Index: 5, Name: "Logs of the app", Kind: "logs", Phase: PhaseFinally,
			Target:  pod,
			Status:  StatusPassed,
			Command: "kubectl logs checkout-5c7d8f9b6-x2x9q -n shop -c app --previous --tail=3",
			Calls:   []Call{{Verb: "get", Version: "v1", Resource: "pods", Subresource: "log", Namespace: "shop", Name: "checkout-5c7d8f9b6-x2x9q"}},
			Stdout:  "2025-11-24T22:30:01Z INFO starting checkout on :8080\n2025-11-24T22:30:09Z INFO cache warmed: 1843201 entries\nKilled\n",
		}, 90410, 90600),
	}
	r.Cleanup = CleanupResult{
		Policy:    "always",
		Leftovers: []string{`ephemeral container "debugger" stays in pod shop/checkout-5c7d8f9b6-x2x9q until the pod is deleted`},
	}
	return &r
}

// interruptedResult is a run cut short by SIGINT while a copy was starting,
// in a temporary namespace; its times are in another zone than UTC, which
// no report may show.
func interruptedResult() *Result {
	zone := time.FixedZone("CEST", 2*60*60)
	r := runInfo("distroless-three-ways", "examples/distroless.yaml", at(0).In(zone), at(21800).In(zone))
	r.Namespace = "runbook-r-4f2a9c"
	r.TemporaryNamespace = true
	r.Verdict = VerdictInterrupted
	r.Error = "interrupted by SIGINT"
	r.APIRequests = 23
	step := func(s StepResult, a, b int) StepResult {
		s = timed(s, a, b)
		s.StartedAt, s.FinishedAt = s.StartedAt.In(zone), s.FinishedAt.In(zone)
		return s
	}
	r.Steps = []StepResult{
		step(StepResult{
			Index: 1, ID: "app", Name: "Create a pod with no shell", Kind: "apply", Phase: PhaseSteps,
			Target: "pod runbook-r-4f2a9c/noshell", Status: StatusPassed,
			Command: "kubectl apply -n runbook-r-4f2a9c -f -",
			Objects: []ObjectRef{{Kind: "Pod", Namespace: "runbook-r-4f2a9c", Name: "noshell", Action: ActionCreated}},
		}, 900, 4100),
		step(StepResult{
			Index: 2, Name: "Copy the pod with a debugger that shares processes", Kind: "copy", Phase: PhaseSteps,
			Target: "pod runbook-r-4f2a9c/noshell-dbg", Status: StatusInterrupted,
			Command: "kubectl debug noshell -n runbook-r-4f2a9c --copy-to=noshell-dbg --image=busybox:1.36 -c debugger --share-processes -- sleep 3600",
			Error:   "interrupted by SIGINT while waiting for pod runbook-r-4f2a9c/noshell-dbg to be Running (ContainerCreating)",
			Objects: []ObjectRef{{Kind: "Pod", Namespace: "runbook-r-4f2a9c", Name: "noshell-dbg", Action: ActionCreated}},
		}, 4110, 17500),
		{
			Index: 3, Name: "Both /pause processes are visible from the copy", Kind: "exec", Phase: PhaseSteps,
			Target: "pod runbook-r-4f2a9c/noshell-dbg", Status: StatusSkipped, SkipReason: "run interrupted",
		},
		step(StepResult{
			Index: 4, Name: "Events of the namespace", Kind: "events", Phase: PhaseFinally,
			Status:  StatusPassed,
			Command: "kubectl events -n runbook-r-4f2a9c",
			Stdout:  "LAST SEEN   TYPE     REASON      OBJECT            MESSAGE\n4s          Normal   Scheduled   pod/noshell-dbg   Successfully assigned runbook-r-4f2a9c/noshell-dbg to runbook-control-plane\n",
		}, 17510, 17700),
	}
	r.Cleanup = CleanupResult{
		Policy: "always",
		Deletions: []Deletion{
			{Kind: "Pod", Namespace: "runbook-r-4f2a9c", Name: "noshell-dbg", Outcome: OutcomeDeleted, Duration: secs(1200)},
			{Kind: "Pod", Namespace: "runbook-r-4f2a9c", Name: "noshell", Outcome: OutcomeNotFound, Duration: secs(15)},
			{Kind: "Namespace", Name: "runbook-r-4f2a9c", Outcome: OutcomeDeleted, Duration: secs(2400)},
		},
	}
	return &r
}

// hostileStdout is output that tries to break out of a Markdown report:
// fences of three and four backticks, </details>, a script, an HTML
// comment, table pipes; long enough to be folded.
const hostileStdout = "# README | not a heading\n" +
	"```go\n" +
	"fmt.Println(\"hi\")\n" +
	"```\n" +
	"````\n" +
	"nested fence of four\n" +
	"````\n" +
	"</details>\n" +
	"<script>alert(\"pwned\")</script>\n" +
	"<!-- an unclosed comment\n" +
	"| a | b |\n" +
	"|---|---|\n" +
	"line 13\nline 14\nline 15\nline 16\nline 17\nline 18\nline 19\nline 20\nline 21\nline 22\n"

// hostileResult has output, names and errors full of Markdown and HTML.
func hostileResult() *Result {
	r := runInfo("hostile-output", "runbooks/hostile.yaml", at(0), at(2500))
	r.Verdict = VerdictFailed
	r.APIRequests = 0
	r.Steps = []StepResult{
		timed(StepResult{
			Index: 1, Name: "Print `README` | <b>bold</b> </details>", Kind: "local", Phase: PhaseSteps,
			Description: "Shows what *happens* when output has [links](http://x) & <tags>.\nSecond line.",
			Target:      "local",
			Status:      StatusPassed,
			Command:     "cat README.md | sed -n '1,22p' # ``` and ````",
			Stdout:      hostileStdout,
			ExitCode:    intp(0),
			Assertions: []Assertion{{
				Expr: "stdout contains \"```\"", Passed: true,
				Values: []Value{{Expr: "stdout", Value: `"# README | not a heading\n` + "```go" + `\n..."`}},
			}},
		}, 100, 300),
		timed(StepResult{
			Index: 2, Name: "Fail with </details> in the error", Kind: "local", Phase: PhaseSteps,
			Target:   "local",
			Status:   StatusFailed,
			Command:  "sh -c 'echo \"</details>\" >&2; exit 3'",
			Stderr:   "</details>\n<details><summary>escaped?</summary>\n```\n",
			ExitCode: intp(3),
			Error:    "exit code 3: </details> `oops` | <img src=x onerror=alert(1)>\nsecond line",
			Assertions: []Assertion{{
				Expr: "exitCode == 0", Message: "must exit <0> | cleanly", Passed: false,
				Values: []Value{{Expr: "exitCode", Value: "3"}, {Expr: "stderr", Value: "\"</details>\\n<details>`x`|y\""}},
			}},
		}, 310, 2400),
	}
	r.Cleanup = CleanupResult{Policy: "never"}
	return &r
}

// The secrets of the redacted fixture: none of them may appear in any
// rendered output.
const (
	fixturePassword = "hunter2-s3cret"
	fixtureToken    = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJydW5ib29rIn0.c2lnbmF0dXJl"
	fixtureBasic    = "YWxpY2U6aHVudGVyMg=="
)

// redactedResult is a failed run that read a Secret and used a token,
// redacted the way the CLI does before rendering. It failed so that the
// table, too, shows the output and assertion values that hold the secrets.
func redactedResult() *Result {
	r := unredactedResult()
	Redact(r, []string{fixturePassword})
	return r
}

// unredactedResult is redactedResult before Redact.
func unredactedResult() *Result {
	r := runInfo("read-db-secret", "runbooks/db.yaml", at(0), at(4000))
	r.Verdict = VerdictFailed
	r.APIRequests = 6
	r.Vars = map[string]string{"dbPassword": fixturePassword, "db": "postgres.shop.svc"}
	b64 := base64.StdEncoding.EncodeToString([]byte(fixturePassword))
	r.Steps = []StepResult{
		timed(StepResult{
			Index: 1, ID: "secret", Name: "Read the database password", Kind: "get", Phase: PhaseSteps,
			Target:  "secret shop/db",
			Status:  StatusPassed,
			Command: "kubectl get secret db -n shop -o yaml",
			Stdout:  "apiVersion: v1\ndata:\n  password: " + b64 + "\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n",
			Set:     map[string]string{"dbPassword": fixturePassword},
			Assertions: []Assertion{{
				Expr: `object.data.password != ""`, Passed: true,
				Values: []Value{{Expr: "object.data.password", Value: `"` + b64 + `"`}},
			}},
			Objects: []ObjectRef{{Kind: "Secret", Namespace: "shop", Name: "db", Action: ActionRead}},
		}, 100, 200),
		timed(StepResult{
			Index: 2, Name: "The database accepts the password", Kind: "exec", Phase: PhaseSteps,
			Target:   "pod shop/toolbox",
			Status:   StatusFailed,
			Command:  "kubectl exec toolbox -n shop -- psql postgres://app:" + fixturePassword + "@postgres.shop.svc/app -c 'select 1'",
			Stdout:   "connected as app with password " + fixturePassword + "\n ?column? \n----------\n        1\n(1 row)\n",
			Stderr:   "> GET /healthz HTTP/1.1\n> Authorization: Basic " + fixtureBasic + "\n> X-Token: Bearer " + fixtureToken + "\n",
			ExitCode: intp(0),
			Assertions: []Assertion{{
				Expr: `stdout contains "(2 rows)"`, Passed: false,
				Values: []Value{
					{Expr: "stdout", Value: `"connected as app with password ` + fixturePassword + `\n..."`},
					{Expr: "steps.secret.object.data.password", Value: `"` + b64 + `"`},
				},
			}},
		}, 210, 3900),
	}
	r.Cleanup = CleanupResult{Policy: "always"}
	return &r
}

// fanoutResult is a node step fanned out over three nodes by a selector,
// one of which fails its assertion.
func fanoutResult() *Result {
	r := runInfo("nodes-hostname", "runbooks/nodes.yaml", at(0), at(12000))
	r.Verdict = VerdictFailed
	r.APIRequests = 31
	target := func(node string, start, end int, hostname string, passed bool) StepResult {
		status := StatusPassed
		if !passed {
			status = StatusFailed
		}
		pod := "node-debugger-" + node + "-abcde"
		return timed(StepResult{
			Target:  "node " + node,
			Status:  status,
			Command: "kubectl debug node/" + node + " -n default --image=busybox:1.36 -c debugger -- cat /host/etc/hostname",
			Calls: []Call{{Verb: "create", Version: "v1", Resource: "pods", Namespace: "default"},
				{Verb: "get", Version: "v1", Resource: "pods", Subresource: "log", Namespace: "default", Name: pod}},
			Stdout:   hostname + "\n",
			ExitCode: intp(0),
			Assertions: []Assertion{{
				Expr: "trim(stdout) == node.metadata.name", Passed: passed,
				Values: []Value{{Expr: "trim(stdout)", Value: `"` + hostname + `"`}, {Expr: "node.metadata.name", Value: `"` + node + `"`}},
			}},
			Objects: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: pod, Action: ActionCreated}},
		}, start, end)
	}
	r.Steps = []StepResult{
		timed(StepResult{
			Index: 1, Name: "Every worker reads its own hostname", Kind: "node", Phase: PhaseSteps,
			Description: "Fans out over the nodes labelled node-role.kubernetes.io/worker.",
			Target:      "nodes node-role.kubernetes.io/worker",
			Status:      StatusFailed,
			Calls:       []Call{{Verb: "list", Version: "v1", Resource: "nodes", Name: "node-role.kubernetes.io/worker"}},
			Targets: []StepResult{
				target("worker-0", 200, 9100, "worker-0", true),
				target("worker-1", 200, 11500, "worker-0.old", false),
				target("worker-2", 200, 9800, "worker-2", true),
			},
		}, 100, 11600),
	}
	r.Cleanup = CleanupResult{
		Policy: "always",
		Deletions: []Deletion{
			{Kind: "Pod", Namespace: "default", Name: "node-debugger-worker-2-abcde", Outcome: OutcomeDeleted, Duration: secs(200)},
			{Kind: "Pod", Namespace: "default", Name: "node-debugger-worker-1-abcde", Outcome: OutcomeFailed, Error: `pods "node-debugger-worker-1-abcde" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "default"`, Duration: secs(40)},
			{Kind: "Pod", Namespace: "default", Name: "node-debugger-worker-0-abcde", Outcome: OutcomeDeleted, Duration: secs(180)},
		},
	}
	return &r
}

// errorResult is a run that never started: the context guard refused it.
func errorResult() *Result {
	r := runInfo("distroless-three-ways", "examples/distroless.yaml", at(0), at(35))
	r.Cluster = ClusterInfo{Context: "prod-eu-1"}
	r.Verdict = VerdictError
	r.Error = `context "prod-eu-1" does not match spec.context "kind-*": refusing to run`
	r.Cleanup = CleanupResult{Policy: "always"}
	return &r
}

// artifactOf describes content as a step that wrote it to path would.
func artifactOf(path, source string, content []byte, truncated bool) Artifact {
	sum := sha256.Sum256(content)
	return NewArtifact(path, source, int64(len(content)), truncated, hex.EncodeToString(sum[:]), content)
}

// artifactsAppYAML is a small text file that holds backticks and HTML, to
// be shown whole in the Markdown report.
const artifactsAppYAML = "# app config\nbanner: |\n  ````\n  </details><script>alert(1)</script>\n  ````\nport: 8080\n"

// artifactsResult is a passed run whose steps copied files out of
// containers: a small text file (shown whole), a binary cut at the byte
// cap (linked), and a directory whose name needs escaping in a link.
func artifactsResult() *Result {
	r := runInfo("copy-evidence", "runbooks/evidence.yaml", at(0), at(9000))
	r.Verdict = VerdictPassed
	r.APIRequests = 9
	r.ArtifactDir = "/home/alice/incidents/runbook-artifacts/r-4f2a9c"
	node := "node-debugger-runbook-control-plane-x7k2p"
	binary := bytes.Repeat([]byte{0x7f, 'E', 'L', 'F', 0, 1, 2, 3}, 128<<10)
	r.Steps = []StepResult{
		timed(StepResult{
			Index: 1, ID: "hostname", Name: "Copy the node's hostname", Kind: "cp", Phase: PhaseSteps,
			Target:    "pod default/" + node,
			Status:    StatusPassed,
			Command:   "kubectl cp default/" + node + ":/host/etc/hostname /home/alice/incidents/runbook-artifacts/r-4f2a9c/hostname -c debugger",
			Calls:     []Call{{Verb: "create", Version: "v1", Resource: "pods", Subresource: "exec", Namespace: "default", Name: node}},
			Artifacts: []Artifact{artifactOf("hostname", "pod default/"+node+" container debugger:/host/etc/hostname", []byte("runbook-control-plane\n"), false)},
		}, 100, 900),
		timed(StepResult{
			Index: 2, Name: "Copy the app's binary through /proc/1/root", Kind: "cp", Phase: PhaseSteps,
			Target:    "pod default/noshell",
			Status:    StatusPassed,
			Command:   "kubectl cp default/noshell:/proc/1/root/pause /home/alice/incidents/runbook-artifacts/r-4f2a9c/pause -c debugger",
			Calls:     []Call{{Verb: "create", Version: "v1", Resource: "pods", Subresource: "exec", Namespace: "default", Name: "noshell"}},
			Artifacts: []Artifact{artifactOf("pause", "pod default/noshell container debugger:/proc/1/root/pause", binary, true)},
		}, 1000, 4000),
		timed(StepResult{
			Index: 3, Name: "Copy the app's configuration", Kind: "cp", Phase: PhaseSteps,
			Target:  "pod default/web",
			Status:  StatusPassed,
			Command: "kubectl cp default/web:/etc/app '/home/alice/incidents/runbook-artifacts/r-4f2a9c/config (v2)' -c app",
			Calls: []Call{{Verb: "get", Version: "v1", Resource: "pods", Namespace: "default", Name: "web"},
				{Verb: "create", Version: "v1", Resource: "pods", Subresource: "exec", Namespace: "default", Name: "web"}},
			Stderr: "cp: skipped symlink app/current -> /etc/app/v2 (symlinks are not copied)\n",
			Artifacts: []Artifact{
				artifactOf("config (v2)/app.yaml", "pod default/web container app:/etc/app/app.yaml", []byte(artifactsAppYAML), false),
				artifactOf("config (v2)/empty", "pod default/web container app:/etc/app/empty", nil, false),
				artifactOf("config (v2)/logo.png", "pod default/web container app:/etc/app/logo.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), false),
			},
		}, 4100, 8800),
	}
	r.Cleanup = CleanupResult{Policy: "always"}
	return &r
}
