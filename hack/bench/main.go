// Command bench is the arithmetic and JSON reading behind hack/bench/run.sh,
// the benchmark suite that runs runbook against kubectl on the local cluster.
// The shell script does the timing; this program reads what the runs left:
//
//	bench stats V...              median, min and max of numbers
//	bench result RESULT.json      duration, API requests, verdict, passed and total
//	                              checks (steps, one per target when fanned out)
//	bench requests LOG            API requests in a kubectl -v=6 log
//	bench verbs RESULT.json       the run's API requests by verb, "GET pods=2 ..."
//	bench targets RESULT.json     median, min and max duration of the targets
//	                              of fanned-out steps, and how many
//	bench steps RESULT.json       each step's duration, kind and name, one a line
//	bench phases LOG              each phase's duration and name from the
//	                              "# step NAME EPOCH" marks of kubectl-seed.sh
//	bench floor RESULT.json PODS.json
//	                              the kubelet's share of a run kept with --keep
//	bench kubelet-floor -n NS -mode sequential|parallel
//	                              the seed's kubelet-bound work done with plain
//	                              client-go in NS (see live.go)
//	bench ceiling -n NS -l SELECTOR [-c CONCURRENCY]
//	                              the node's fan-out ceiling: an ephemeral
//	                              container added to every selected pod, all
//	                              at once or CONCURRENCY at a time
//	bench version                 the server's version, e.g. v1.33.13
//	bench busy RESULT.json        the time inside the run's steps: the union of
//	                              their intervals (steps of a parallel group overlap)
//
// It prints figures, never a verdict on time: the suite measures, it does
// not pass or fail.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kube-runbook/runbook/report"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
}

const usage = "usage: bench stats V... | result RESULT.json | verbs RESULT.json | targets RESULT.json | requests LOG | steps RESULT.json | phases LOG | floor RESULT.json PODS.json | kubelet-floor -n NS -mode sequential|parallel | ceiling -n NS -l SELECTOR [-c N] | version | busy RESULT.json"

func run(args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "stats" && len(rest) > 0:
		vals := make([]float64, len(rest))
		for i, a := range rest {
			v, err := strconv.ParseFloat(a, 64)
			if err != nil {
				return fmt.Errorf("stats: %q is not a number", a)
			}
			vals[i] = v
		}
		s := Summarize(vals)
		_, err := fmt.Fprintf(w, "%.3f %.3f %.3f %d\n", s.Median, s.Min, s.Max, s.N)
		return err
	case cmd == "result" && len(rest) == 1:
		res, err := readResult(rest[0])
		if err != nil {
			return err
		}
		c := res.Counts()
		_, err = fmt.Fprintf(w, "%.3f %d %s %d %d\n", res.Duration.Duration().Seconds(), res.APIRequests, res.Verdict, c.Passed, c.Total())
		return err
	case cmd == "requests" && len(rest) == 1:
		f, err := os.Open(rest[0])
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := CountRequests(f)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, n)
		return err
	case cmd == "verbs" && len(rest) == 1:
		res, err := readResult(rest[0])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, Verbs(res.APIRequestsByVerb))
		return err
	case cmd == "targets" && len(rest) == 1:
		res, err := readResult(rest[0])
		if err != nil {
			return err
		}
		var durs []float64
		for _, st := range res.Steps {
			for _, t := range st.Targets {
				durs = append(durs, t.Duration.Duration().Seconds())
			}
		}
		s := Summarize(durs)
		_, err = fmt.Fprintf(w, "%.3f %.3f %.3f %d\n", s.Median, s.Min, s.Max, s.N)
		return err
	case cmd == "steps" && len(rest) == 1:
		res, err := readResult(rest[0])
		if err != nil {
			return err
		}
		for _, st := range res.Steps {
			if _, err := fmt.Fprintf(w, "%.3f\t%s\t%s\n", st.Duration.Duration().Seconds(), st.Kind, st.Name); err != nil {
				return err
			}
		}
		return nil
	case cmd == "phases" && len(rest) == 1:
		f, err := os.Open(rest[0])
		if err != nil {
			return err
		}
		defer f.Close()
		phases, err := Phases(f)
		if err != nil {
			return err
		}
		for _, p := range phases {
			if _, err := fmt.Fprintf(w, "%.3f\t%s\n", p.Duration.Seconds(), p.Name); err != nil {
				return err
			}
		}
		return nil
	case cmd == "busy" && len(rest) == 1:
		res, err := readResult(rest[0])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%.3f\n", Busy(res).Seconds())
		return err
	case cmd == "kubelet-floor" || cmd == "ceiling" || cmd == "version":
		return runLive(cmd, rest, w)
	case cmd == "floor" && len(rest) == 2:
		res, err := readResult(rest[0])
		if err != nil {
			return err
		}
		data, err := os.ReadFile(rest[1])
		if err != nil {
			return err
		}
		var pods corev1.PodList
		if err := json.Unmarshal(data, &pods); err != nil {
			return fmt.Errorf("%s: %w", rest[1], err)
		}
		f, err := Floor(res, pods.Items)
		if err != nil {
			return err
		}
		return f.Write(w)
	}
	return errors.New(usage)
}

func readResult(file string) (*report.Result, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := report.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return res, nil
}

// Verbs renders requests by verb sorted by name: "GET pods=2 POST pods=3".
func Verbs(byVerb map[string]int64) string {
	keys := slices.Sorted(maps.Keys(byVerb))
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, byVerb[k])
	}
	return b.String()
}

// Busy is the time the run spent inside its steps: the length of the union
// of the steps' [StartedAt, FinishedAt] intervals, so that steps running at
// the same time count once. Steps without both times are left out.
func Busy(res *report.Result) time.Duration {
	type span struct{ from, to time.Time }
	var spans []span
	for _, s := range res.Steps {
		if !s.StartedAt.IsZero() && s.FinishedAt.After(s.StartedAt) {
			spans = append(spans, span{s.StartedAt, s.FinishedAt})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from.Compare(b.from) })
	var total time.Duration
	var cur span
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case s.from.After(cur.to):
			total += cur.to.Sub(cur.from)
			cur = s
		case s.to.After(cur.to):
			cur.to = s.to
		}
	}
	if len(spans) > 0 {
		total += cur.to.Sub(cur.from)
	}
	return total
}

// Summary is the median, minimum and maximum of a set of measurements.
type Summary struct {
	Median, Min, Max float64
	N                int
}

// Summarize returns the summary of vals; the median of an even number of
// values is the mean of the middle two. The zero Summary for no values.
func Summarize(vals []float64) Summary {
	if len(vals) == 0 {
		return Summary{}
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{Median: med, Min: s[0], Max: s[n-1], N: n}
}

// requestLine matches the one line kubectl -v=6 logs per API response:
// v1.32 and earlier `round_trippers.go:560] GET https://... 200 OK in 4
// milliseconds`, v1.33 and later `round_trippers.go:632] "Response"
// verb="GET" url="https://..." status="200 OK"`. A watch or an exec
// upgrade is one request, logged once when its response starts.
var requestLine = regexp.MustCompile(`round_trippers\.go:\d+\] (?:"Response" |(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) https?://)`)

// CountRequests counts the API requests in a kubectl -v=6 log.
func CountRequests(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		if requestLine.Match(sc.Bytes()) {
			n++
		}
	}
	return n, sc.Err()
}

// Phase is one timed command of kubectl-seed.sh.
type Phase struct {
	Name     string
	Duration time.Duration
}

// Phases reads the "# step NAME EPOCH" marks that kubectl-seed.sh writes
// after each command (the first one, "start", before the first) and returns
// the time between consecutive marks, named by the later one.
func Phases(r io.Reader) ([]Phase, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var out []Phase
	var last float64
	seen := false
	for sc.Scan() {
		var name string
		var at float64
		if n, _ := fmt.Sscanf(sc.Text(), "# step %s %f", &name, &at); n != 2 {
			continue
		}
		if seen {
			out = append(out, Phase{Name: name, Duration: time.Duration((at - last) * float64(time.Second)).Round(time.Microsecond)})
		}
		last, seen = at, true
	}
	return out, sc.Err()
}

// Segment is the part of one step that the kubelet needed: from the step's
// start (taken as the moment its object was created or patched, which the
// tool does within milliseconds) until the pod's status shows the result.
// Status timestamps have a resolution of one second (they are truncated),
// so each end is known only to [End, End+1s), and no later than the moment
// the step saw it.
type Segment struct {
	Step  string
	Pod   string
	What  string
	Start time.Time
	// Ran is when the pod status says the kubelet had done the work
	// (Ready, or the container finished).
	Ran time.Time
	// Reported is when the kubelet last wrote the pod's status with it
	// (from managedFields); a client cannot see the result earlier. It is
	// Ran where the status itself carries the time of the report (Ready).
	Reported time.Time
	// Seen is when the tool's step finished: the kubelet had reported
	// by then, which bounds the ends from above more tightly than the
	// one-second resolution.
	Seen time.Time
	// StepDuration is how long the tool's step took.
	StepDuration time.Duration
}

// Bounds are the lowest and highest value a sum of segments can have given
// the one-second resolution of status timestamps.
type Bounds struct{ Low, High time.Duration }

// add adds the segment from start to end, where end is a truncated status
// timestamp: the true end lies in [end, end+1s), and not after limit (when
// the tool saw the result; ignored when zero or before end).
func (b *Bounds) add(start, end, limit time.Time) {
	high := end.Add(time.Second)
	if !limit.IsZero() && limit.After(end) && limit.Before(high) {
		high = limit
	}
	b.Low += max(end.Sub(start), 0)
	b.High += max(high.Sub(start), 0)
}

// FloorResult is the kubelet floor of a run: the segments on its critical
// path and their sums.
type FloorResult struct {
	Segments []Segment
	Wall     time.Duration
	// Ran is the sum of the segments up to when the kubelet had done the
	// work; Reported up to when it had written the status saying so.
	Ran, Reported Bounds
}

// Floor computes the kubelet floor of a run from its result and the pods
// it created, read after a run with --keep. Steps run one after the other,
// so the critical path is the sum of the segments of the steps that waited
// for the kubelet: apply and copy (until Ready), debug (until the
// ephemeral container finished) and node (until the node pod's container
// finished). Exec steps go to the kubelet too, but only for milliseconds:
// they count as the tool's.
func Floor(res *report.Result, pods []corev1.Pod) (*FloorResult, error) {
	byName := map[string]*corev1.Pod{}
	for i := range pods {
		byName[pods[i].Namespace+"/"+pods[i].Name] = &pods[i]
	}
	out := &FloorResult{Wall: res.Duration.Duration()}
	for _, s := range res.Steps {
		if s.StartedAt.IsZero() || len(s.Targets) > 0 {
			continue
		}
		for _, o := range s.Objects {
			if o.Kind != "Pod" {
				continue
			}
			pod := byName[o.Namespace+"/"+o.Name]
			if pod == nil {
				continue
			}
			seg, ok := segmentOf(s, o.Action, pod)
			if !ok {
				continue
			}
			out.Segments = append(out.Segments, seg)
			out.Ran.add(seg.Start, seg.Ran, seg.Seen)
			out.Reported.add(seg.Start, seg.Reported, seg.Seen)
		}
	}
	if len(out.Segments) == 0 {
		return nil, errors.New("floor: no pod of the result waited for the kubelet (was the run kept with --keep?)")
	}
	return out, nil
}

func segmentOf(s report.StepResult, action string, pod *corev1.Pod) (Segment, bool) {
	seg := Segment{Step: s.Name, Pod: pod.Name, Start: s.StartedAt, Seen: s.FinishedAt, StepDuration: s.Duration.Duration()}
	reported := kubeletStatusTime(pod)
	switch {
	case s.Kind == "debug" && action == report.ActionPatched:
		var last time.Time
		for _, cs := range pod.Status.EphemeralContainerStatuses {
			if t := cs.State.Terminated; t != nil && t.FinishedAt.Time.After(last) {
				last = t.FinishedAt.Time
			}
		}
		if last.IsZero() {
			return seg, false
		}
		seg.What, seg.Ran = "ephemeral container finished", last
	case action != report.ActionCreated:
		return seg, false
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		var last time.Time
		for _, cs := range pod.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil && t.FinishedAt.Time.After(last) {
				last = t.FinishedAt.Time
			}
		}
		if last.IsZero() {
			return seg, false
		}
		seg.What, seg.Ran = "pod "+string(pod.Status.Phase), last
	default:
		ready := readySince(pod)
		if ready.IsZero() {
			return seg, false
		}
		seg.What, seg.Ran, reported = "pod Ready", ready, ready
	}
	if reported.Before(seg.Ran) {
		reported = seg.Ran
	}
	seg.Reported = reported
	return seg, true
}

// readySince is when the pod became Ready, or zero.
func readySince(pod *corev1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// kubeletStatusTime is when the kubelet last wrote the pod's status, from
// its managedFields entry, or zero.
func kubeletStatusTime(pod *corev1.Pod) time.Time {
	var last time.Time
	for _, m := range pod.ManagedFields {
		if m.Manager == "kubelet" && m.Subresource == "status" && m.Time != nil && m.Time.Time.After(last) {
			last = m.Time.Time
		}
	}
	return last
}

// Write prints the floor as a table, then one line for the script:
// "FLOOR wall ranLow ranHigh reportedLow reportedHigh" in seconds.
func (f *FloorResult) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "  %-52s %-24s %-28s %8s %14s %14s\n", "step", "pod", "kubelet milestone", "step", "kubelet ran", "reported")
	for _, s := range f.Segments {
		var ran, rep Bounds
		ran.add(s.Start, s.Ran, s.Seen)
		rep.add(s.Start, s.Reported, s.Seen)
		fmt.Fprintf(bw, "  %-52s %-24s %-28s %7.2fs %14s %14s\n", shorten(s.Step, 52), shorten(s.Pod, 24), s.What,
			s.StepDuration.Seconds(), bounds(ran), bounds(rep))
	}
	fmt.Fprintf(bw, "  %-52s %-24s %-28s %7.2fs %14s %14s\n", "whole run: wall | kubelet sums", "", "", f.Wall.Seconds(), bounds(f.Ran), bounds(f.Reported))
	fmt.Fprintf(bw, "FLOOR %.3f %.3f %.3f %.3f %.3f\n", f.Wall.Seconds(), f.Ran.Low.Seconds(), f.Ran.High.Seconds(),
		f.Reported.Low.Seconds(), f.Reported.High.Seconds())
	return bw.Flush()
}

func bounds(b Bounds) string {
	return fmt.Sprintf("%.2f-%.2fs", b.Low.Seconds(), b.High.Seconds())
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
