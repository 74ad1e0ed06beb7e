package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// StreamNote is the stream of a line of live output that runbook itself
// writes about a step's output (what it masks, and why), not the command.
const StreamNote = "note"

// liveOutput returns the steps.Env.Live of one step (or one target of a
// fan-out): before the step's command starts, it learns the step's secret
// values and reads the Secrets of the pods the command enters (once per
// run, as the end of the step would), so that every line goes to the
// progress redacted of them; the NAME=value lines of the variables whose
// Secrets could not be read are masked, as at the end of the step, and a
// note says so. Nil for a step whose output may hold a secret the run
// learns only when it ends (it sets a var of spec.secretVars): its output
// is shown, redacted, when it ends.
func (r *runner) liveOutput(s *runbook.Step, index int, target string) func(context.Context, []string, ...steps.EnteredPod) kube.OutputFunc {
	if r.setsSecret(s) {
		return nil
	}
	return func(ctx context.Context, secrets []string, pods ...steps.EnteredPod) kube.OutputFunc {
		r.sec.red.Add(secrets...)
		var mask envMask
		if len(pods) > 0 {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), secretReadTimeout)
			defer cancel()
			for _, p := range pods {
				r.sec.knowPod(p.Pod)
				m := r.enter(rctx, p.Namespace, p.Name)
				mask.names = append(mask.names, m.names...)
				mask.prefixes = append(mask.prefixes, m.prefixes...)
			}
		}
		if len(mask.names)+len(mask.prefixes) > 0 {
			r.progress.Output(index, target, StreamNote, maskNote(mask))
		}
		var mu sync.Mutex
		maskers := map[string]*report.EnvMasker{}
		return func(stream, line string) {
			if len(mask.names)+len(mask.prefixes) > 0 {
				mu.Lock()
				m, ok := maskers[stream]
				if !ok {
					m = report.NewEnvMasker(mask.names, mask.prefixes)
					maskers[stream] = m
				}
				var values []string
				line, values = m.Line(line)
				mu.Unlock()
				r.sec.red.Add(values...)
			}
			if len(line) >= kube.MaxLiveLine {
				// Cut: the end may be the start of a secret.
				line = r.sec.red.Cut(line)
			}
			r.progress.Output(index, target, stream, line)
		}
	}
}

// maskNote says which lines of a step's live output are masked.
func maskNote(m envMask) string {
	what := append([]string(nil), m.names...)
	for _, p := range m.prefixes {
		what = append(what, p+"*")
	}
	return fmt.Sprintf("Secrets this step's pod references could not be read (the run's warnings say which): lines NAME=value of %s are masked",
		strings.Join(what, ", "))
}
