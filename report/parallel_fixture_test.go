package report

// parallelResult is the parallel seed where one step of the group failed:
// four steps at most two at once, the ephemeral container and the exec
// overlapping, the copy failing while the ephemeral container still ran,
// the node step never started, and the step after the group skipped.
func parallelResult() *Result {
	r := runInfo("distroless-three-ways", "examples/distroless.yaml", at(0), at(9400))
	r.Verdict = VerdictFailed
	r.APIRequests = 14
	group := func(s StepResult, a, b int) StepResult {
		s.Group, s.GroupName, s.Phase = 1, "Three ways in, side by side", PhaseSteps
		if a == 0 && b == 0 {
			return s
		}
		return timed(s, a, b)
	}
	notStarted := "not started: step 4 (Copy the pod with a debugger that shares processes) of the parallel group failed"
	r.Steps = []StepResult{
		timed(StepResult{
			Index: 1, ID: "app", Name: "Create a pod with no shell", Kind: "apply", Phase: PhaseSteps,
			Target: "pod default/noshell", Status: StatusPassed,
			Objects: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "noshell", Action: ActionCreated}},
		}, 100, 2300),
		group(StepResult{
			Index: 2, Name: "kubectl exec has nothing to run", Kind: "exec", Target: "pod default/noshell",
			Status: StatusPassed, ExpectFailure: true, Error: "exec: no such file or directory",
		}, 2310, 2450),
		group(StepResult{
			Index: 3, ID: "ephemeral", Name: "Attach busybox targeting app", Kind: "debug", Target: "pod default/noshell",
			Status: StatusPassed, Stdout: "PID   USER     TIME  COMMAND\n    1 65535     0:00 /pause\n", ExitCode: intp(0),
		}, 2315, 4400),
		group(StepResult{
			Index: 4, ID: "copy", Name: "Copy the pod with a debugger that shares processes", Kind: "copy",
			Target: "pod default/noshell-dbg", Status: StatusFailed,
			Error:   `pod default/noshell-dbg: ErrImagePull: failed to pull image "busybox:1.37"`,
			Objects: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "noshell-dbg", Action: ActionCreated}},
		}, 2460, 3300),
		group(StepResult{Index: 5, ID: "host", Name: "Read the node's hostname through /host", Kind: "node",
			Status: StatusSkipped, SkipReason: notStarted}, 0, 0),
		{Index: 6, ID: "shared", Name: "Both /pause processes are visible from the copy", Kind: "exec", Phase: PhaseSteps,
			Status: StatusSkipped, SkipReason: "an earlier step failed"},
	}
	r.Cleanup = CleanupResult{
		Policy: "always",
		Deletions: []Deletion{
			{Kind: "Pod", Namespace: "default", Name: "noshell-dbg", Outcome: OutcomeDeleted, Duration: secs(900)},
			{Kind: "Pod", Namespace: "default", Name: "noshell", Outcome: OutcomeDeleted, Duration: secs(1100)},
		},
	}
	return &r
}
