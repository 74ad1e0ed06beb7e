package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kube-runbook/runbook/report"
)

// largeResult writes a result of steps steps, each with 1 MiB of output
// (the most a run keeps of a stream), as `runbook run --report json=`
// writes it, and returns its path and size.
func largeResult(t testing.TB, steps int) (string, int64) {
	t.Helper()
	line := strings.Repeat(`output "quoted" <tag> & \ `, 4) + "\n"
	out := strings.Repeat(line, report.MaxJSONOutputBytes/len(line))
	res := &report.Result{SchemaVersion: report.SchemaVersion, RunID: "rb-large", Verdict: report.VerdictFailed}
	for i := range steps {
		res.Steps = append(res.Steps, report.StepResult{Index: i + 1, Name: "step", Kind: "local", Status: report.StatusPassed, Stdout: out})
	}
	path := filepath.Join(t.TempDir(), "result.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := report.RenderJSON(f, res); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return path, fi.Size()
}

// reportAllocs runs `runbook report -o FORMAT` on path, its output thrown
// away, and returns the bytes it allocated and the highest heap seen (the
// heap is sampled: a lower bound of its peak).
func reportAllocs(t testing.TB, path, format string) (allocated, peak uint64) {
	t.Helper()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	o := &reportOptions{output: format}
	err := o.Run([]string{path}, io.Discard, io.Discard)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, peak
}

// TestReportLargeResultMemory checks that `runbook report` reads a large
// result without copies of it: it allocates, in all, less than 4 times the
// file's size, for the table (whose output is small) and for JSON (whose
// output is as large as the input): about 2 and 3 times. Reading the file
// whole, then again, then encoding the output whole, indenting it and
// copying it allocated 6 and 17 times.
func TestReportLargeResultMemory(t *testing.T) {
	path, size := largeResult(t, 24)
	for _, format := range []string{"table", "json"} {
		allocated, _ := reportAllocs(t, path, format)
		t.Logf("report -o %s of %d MiB: %d MiB allocated", format, size>>20, allocated>>20)
		if ratio := float64(allocated) / float64(size); ratio > 4 {
			t.Errorf("report -o %s of %d MiB allocated %d MiB, %.1f times the file", format, size>>20, allocated>>20, ratio)
		}
	}
}

// BenchmarkReportLargeResult reports what `runbook report` costs in memory
// on a result of 200 MiB, the largest a run writes in practice: the bytes
// allocated and the peak heap seen, per format.
func BenchmarkReportLargeResult(b *testing.B) {
	path, size := largeResult(b, 200)
	for _, format := range []string{"md", "json", "junit", "table"} {
		b.Run(format, func(b *testing.B) {
			for range b.N {
				allocated, peak := reportAllocs(b, path, format)
				b.ReportMetric(float64(size)/(1<<20), "input-MiB")
				b.ReportMetric(float64(allocated)/(1<<20), "allocated-MiB")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			}
		})
	}
}

// TestReportErrorsSayWhere checks that a result that cannot be read says
// where it is wrong, from a file (decoded as it is read, then read again
// to say where) and from standard input (read once) alike.
func TestReportErrorsSayWhere(t *testing.T) {
	good, err := os.ReadFile("../../report/testdata/failed.json.golden")
	if err != nil {
		t.Fatal(err)
	}
	old := stdin
	defer func() { stdin = old }()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"a step of the wrong type", strings.Replace(string(good), `"index": 1,`, `"index": "one",`, 1), `reading the result: line 24:20: steps.index: expected a whole number, found a JSON string`},
		{"cut in a step", string(good[:len(good)/2]), "not a runbook result: "},
		{"another schemaVersion", strings.Replace(string(good), report.SchemaVersion, "runbook.dev/result/v0", 1), `result has schemaVersion "runbook.dev/result/v0", but this runbook reads only "runbook.dev/result/v1"`},
		{"more after the result", string(good) + "{}", "not a runbook result: line "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "result.json")
			if err := os.WriteFile(path, []byte(tc.in), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, fromFile := run(t, "report", path)
			stdin = strings.NewReader(tc.in)
			_, _, fromStdin := run(t, "report", "-")
			if !strings.HasPrefix(fromFile, path+": "+tc.want) {
				t.Errorf("from a file: %q, want %q", fromFile, path+": "+tc.want+"...")
			}
			if strings.TrimPrefix(fromFile, path) != strings.TrimPrefix(fromStdin, stdinName) {
				t.Errorf("from standard input: %q, from a file: %q", fromStdin, fromFile)
			}
		})
	}
}

// endless is a stream that never ends, counting what is read of it.
type endless struct {
	line string
	read int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], e.line)
	}
	e.read += n
	return n, nil
}

// TestReportGarbageOnStdin: what is piped in that is not JSON (yes, or
// /dev/zero) is refused where it stops being JSON, without reading the
// rest up to the 256 MiB limit (which took 880 MB of memory).
func TestReportGarbageOnStdin(t *testing.T) {
	old := stdin
	defer func() { stdin = old }()
	for _, line := range []string{"y\n", "\x00", "{\"schemaVersion\": x"} {
		in := &endless{line: line}
		stdin = in
		code, _, stderr := run(t, "report", "-")
		if code != exitInvalid || !strings.Contains(stderr, "<stdin>: not a runbook result: line 1:") {
			t.Errorf("%q: exit %d, %q; want exit 2 and where it is wrong", line, code, stderr)
		}
		if in.read > 1<<20 {
			t.Errorf("%q: read %d bytes to say that its first line is not JSON", line, in.read)
		}
	}
}
