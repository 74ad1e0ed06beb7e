package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxJSONOutputBytes is how much of each output stream (stdout, stderr) of a
// step the result keeps: the executor cuts a stream at this many bytes and
// sets StdoutTruncated or StderrTruncated. The JSON result therefore holds
// every output whole up to 1 MiB per stream; the table and Markdown
// renderers cut further (see MaxMarkdownOutputBytes) and say so.
const MaxJSONOutputBytes = 1 << 20

// RenderJSON writes r as indented JSON (two spaces, a final newline), with
// every time in UTC and "steps" always an array. Struct fields come in
// declaration order and map keys sorted, so the output is stable. HTML
// characters are not escaped: the file is read by tools and people, not
// embedded in pages.
func RenderJSON(w io.Writer, r *Result) error {
	if r == nil {
		return errors.New("no result to render")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(utc(r)); err != nil {
		return fmt.Errorf("encoding the result as JSON: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// ReadJSON reads a result written by RenderJSON, for `runbook report` to
// render it again. It refuses a document of another schemaVersion, or one
// that is not a runbook result at all, with an error that says which.
func ReadJSON(r io.Reader) (*Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading the result: %w", err)
	}
	var head struct {
		SchemaVersion *string `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a runbook result: %w", err)
	}
	switch {
	case head.SchemaVersion == nil:
		return nil, errors.New("not a runbook result: no schemaVersion")
	case *head.SchemaVersion != SchemaVersion:
		return nil, fmt.Errorf("result has schemaVersion %q, but this runbook reads only %q", *head.SchemaVersion, SchemaVersion)
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("reading the result: %w", err)
	}
	return &res, nil
}
