package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
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
	// The result without its steps, then each step on its own, so that a
	// result of hundreds of MiB is never encoded whole in memory (the
	// encoder holds all it encodes, and indents it into a second copy):
	// the bytes are those of encoding it whole.
	u := utc(r)
	head := *u
	head.Steps = []StepResult{}
	b, err := encodeIndented(&head, "")
	if err != nil {
		return err
	}
	at := bytes.Index(b, []byte(stepsMember))
	if at < 0 {
		return errors.New("encoding the result as JSON: no steps member")
	}
	at += len(stepsMember) - len("]")
	if len(u.Steps) == 0 {
		_, err := w.Write(b)
		return err
	}
	if _, err := w.Write(b[:at]); err != nil {
		return err
	}
	// One encoder and buffer for every step: the encoder keeps its
	// indenting buffer, encoding/json its encoding buffer.
	var buf bytes.Buffer
	enc := newEncoder(&buf, "    ")
	for i := range u.Steps {
		buf.Reset()
		if err := enc.Encode(&u.Steps[i]); err != nil {
			return fmt.Errorf("encoding the result as JSON: %w", err)
		}
		sb := buf.Bytes()
		sep := ",\n    "
		if i == 0 {
			sep = "\n    "
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if _, err := w.Write(bytes.TrimSuffix(sb, []byte("\n"))); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "\n  "); err != nil {
		return err
	}
	_, err = w.Write(b[at:])
	return err
}

// stepsMember is how the indented encoding of a result without steps
// shows them: at the top level, the only place a line starts with two
// spaces and "steps" (a string value holds no raw line break).
const stepsMember = "\n  \"steps\": []"

// encodeIndented encodes v as RenderJSON does, each line after the first
// starting with prefix.
func encodeIndented(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	if err := newEncoder(&buf, prefix).Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the result as JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// newEncoder is the encoder of RenderJSON: indented by two spaces after
// prefix, HTML characters as they are.
func newEncoder(w io.Writer, prefix string) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	return enc
}

// ReadJSON reads a result written by RenderJSON, for `runbook report` to
// render it again. It refuses a document of another schemaVersion, or one
// that is not a runbook result at all, with an error that says which.
func ReadJSON(r io.Reader) (*Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading the result: %w", err)
	}
	return ParseJSON(data)
}

// ParseJSON is ReadJSON of a result already read: it decodes data once
// (a result of hundreds of MiB is read back without a second copy of it),
// and only when that fails or finds no schemaVersion does it look at the
// schemaVersion alone, to say why.
func ParseJSON(data []byte) (*Result, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // a BOM, as some editors and shells write
	var res Result
	err := json.Unmarshal(data, &res)
	if err == nil && res.SchemaVersion == SchemaVersion {
		if err := checkRead(data, &res); err != nil {
			return nil, fmt.Errorf("reading the result: %w", err)
		}
		return &res, nil
	}
	var head struct {
		SchemaVersion *string `json:"schemaVersion"`
	}
	if herr := json.Unmarshal(data, &head); herr != nil {
		return nil, fmt.Errorf("not a runbook result: %s", jsonError(data, herr))
	}
	switch {
	case head.SchemaVersion == nil:
		return nil, errors.New("not a runbook result: no schemaVersion")
	case *head.SchemaVersion != SchemaVersion:
		return nil, fmt.Errorf("result has schemaVersion %q, but this runbook reads only %q", *head.SchemaVersion, SchemaVersion)
	}
	return nil, fmt.Errorf("reading the result: %s", jsonError(data, err))
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
		// An error of a decoder of this package (Seconds) or of time.Time,
		// which encoding/json passes on without where: found again by
		// walking data.
		return locateError(data, err).Error()
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

// DecodeJSON reads a result as ReadJSON does, but as it comes: a step at a
// time, so that reading a result of hundreds of MiB never holds its text
// and its values at once. It refuses what ParseJSON refuses (members named
// twice, values outside the schema's enums), but its errors do not say
// where the input is wrong: a caller that can read the input again (a
// file) reads it with ParseJSON to say where, as `runbook report` does.
func DecodeJSON(r io.Reader) (*Result, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var (
		rest  bytes.Buffer // the members other than steps, as an object
		steps []StepResult
		seen  = map[string]bool{} // the names of the members, folded
	)
	rest.WriteByte('{')
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		// Members named twice are refused, as ParseJSON refuses them; the
		// names of the result's fields match whatever their case.
		folded := strings.ToLower(strings.ToUpper(key))
		if seen[folded] {
			return nil, errDuplicate(key)
		}
		seen[folded] = true
		if !strings.EqualFold(key, "steps") {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			isMap := false
			for _, m := range mapMembers {
				isMap = isMap || strings.EqualFold(key, m)
			}
			if _, dup, ok := duplicateKey(v, isMap); ok {
				return nil, fmt.Errorf("%s: %w", key, errDuplicate(dup))
			}
			if rest.Len() > 1 {
				rest.WriteByte(',')
			}
			k, _ := json.Marshal(key)
			rest.Write(k)
			rest.WriteByte(':')
			rest.Write(v)
			continue
		}
		// As json.Unmarshal: null is none.
		tok, err = dec.Token()
		if err != nil {
			return nil, err
		}
		if tok == nil {
			steps = nil
			continue
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return nil, errors.New("steps is not a list")
		}
		steps = []StepResult{}
		for dec.More() {
			// Each step as its text first, to look for members named
			// twice in it: a step at a time, never the whole result.
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, err
			}
			if _, dup, ok := duplicateKey(raw, false); ok {
				return nil, fmt.Errorf("steps: %w", errDuplicate(dup))
			}
			var s StepResult
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			steps = append(steps, s)
		}
		if err := expectDelim(dec, ']'); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more after the result")
	}
	rest.WriteByte('}')
	var res Result
	if err := json.Unmarshal(rest.Bytes(), &res); err != nil {
		return nil, err
	}
	if res.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("result has schemaVersion %q, but this runbook reads only %q", res.SchemaVersion, SchemaVersion)
	}
	res.Steps = steps
	if err := validateResult(&res); err != nil {
		return nil, err
	}
	return &res, nil
}

// expectDelim reads the next token of dec, which must be d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("expected %s, found %v", d, tok)
	}
	return nil
}
