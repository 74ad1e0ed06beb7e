package main

import (
	"io"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kube-runbook/runbook/report"
)

// secretFlagNames are the flags whose values are secrets: kubectl's
// --token (clientcmd marks more flags "classified", --as among them, but
// the user a Forbidden error names must stay readable).
var secretFlagNames = []string{clientcmd.FlagBearerToken}

// redactSecretFlags wraps stdout and stderr so that no secret given on the
// command line (fs, parsed) is ever printed, whatever prints it: an error
// a server returns that echoes the credential, a deletion error, a report
// on standard output. (A run also redacts it from its results and
// reports.)
func redactSecretFlags(fs *pflag.FlagSet, stdout, stderr io.Writer) (io.Writer, io.Writer) {
	red := report.NewRedactor()
	for _, name := range secretFlagNames {
		if f := fs.Lookup(name); f != nil && f.Changed {
			red.Add(f.Value.String())
		}
	}
	if red.Len() == 0 {
		return stdout, stderr
	}
	return &redactingWriter{report.NewStream(stdout, red)}, &redactingWriter{report.NewStream(stderr, red)}
}

// redactingWriter writes what it is given with the secrets of the
// command line replaced, even a secret split across writes (a
// report.Stream, which holds back an end that may start one): flushOutput
// writes what it holds back, before the final report and at exit.
type redactingWriter struct {
	*report.Stream
}

// flushOutput writes what the redacting writers among ws hold back (the
// end of their output that could have been the start of a secret). A
// command calls it before it writes to another of them (progress on
// standard error, then the report on standard output) and before it
// exits.
func flushOutput(ws ...io.Writer) {
	for _, w := range ws {
		if r, ok := w.(*redactingWriter); ok {
			_ = r.Flush()
		}
	}
}

// file is the terminal or file under the writer, for the checks of
// progress and table width.
func (r *redactingWriter) file() (*os.File, bool) {
	f, ok := r.Writer().(*os.File)
	return f, ok
}

// outputFile is the *os.File that w writes to, through a redactingWriter.
func outputFile(w io.Writer) (*os.File, bool) {
	if r, ok := w.(*redactingWriter); ok {
		return r.file()
	}
	f, ok := w.(*os.File)
	return f, ok
}
