package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
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
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // a BOM, as some editors and shells write
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a runbook result: %s", jsonError(data, err))
	}
	switch {
	case head.SchemaVersion == nil:
		return nil, errors.New("not a runbook result: no schemaVersion")
	case *head.SchemaVersion != SchemaVersion:
		return nil, fmt.Errorf("result has schemaVersion %q, but this runbook reads only %q", *head.SchemaVersion, SchemaVersion)
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("reading the result: %s", jsonError(data, err))
	}
	return &res, nil
}

// jsonError says where in data a decoding error is, as line:col (from 1,
// columns in bytes), when encoding/json tells the offset.
func jsonError(data []byte, err error) string {
	var offset int64
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return "the input is empty"
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
		where := position(data, offset)
		if typ.Field != "" {
			where += ": " + typ.Field
		}
		return fmt.Sprintf("%s: expected %s, found a JSON %s", where, jsonKind(typ.Type), typ.Value)
	default:
		return err.Error()
	}
	return position(data, offset) + ": " + err.Error()
}

// jsonKind names what JSON a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// position is line:col of the byte at offset in data: the offset encoding/
// json gives is just after the byte at fault (for a value of the wrong type,
// its last byte).
func position(data []byte, offset int64) string {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset > 0 {
		offset--
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d:%d", line, col)
}
