package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

// A result read back is checked against what a run writes, beyond what
// encoding/json checks (types): a field with an enum tag (the fixed value
// sets of the result schema: verdict, status, phase, action, cleanup policy,
// deletion outcome) holds one of its values, and a key of apiRequestsByVerb
// is a request key (Call.Key). A value outside them is refused rather than
// rendered: renderers would otherwise write whatever a hand-edited or
// hostile file holds where they expect a known word. An empty value is
// taken as absent, as the renderers show it ("-", "UNKNOWN"), since results
// of earlier runs or tools leave some of these out.

// resultError is a value of a result that decoded but is not one a run
// writes: field names it as encoding/json names fields ("steps.status").
type resultError struct {
	field string
	msg   string
}

func (e *resultError) Error() string { return e.field + ": " + e.msg }

// enumValues returns the values the enum tag of f allows, or nil.
func enumValues(f reflect.StructField) []string {
	if tag := f.Tag.Get("enum"); tag != "" {
		return strings.Split(tag, ",")
	}
	return nil
}

// checkEnum says why s is not a value of enum, or returns nil.
func checkEnum(s string, enum []string) error {
	if s == "" || contains(enum, s) {
		return nil
	}
	return fmt.Errorf("%q is not one of %s", clip(s, 64), strings.Join(enum, ", "))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkRequestKey says why k cannot be a key of apiRequestsByVerb: a key
// is Call.Key, an upper-case verb alone or followed by a space and a
// resource or path, with no space or control character in it.
func checkRequestKey(k string) error {
	verb, rest, spaced := strings.Cut(k, " ")
	ok := verb != "" && strings.IndexFunc(verb, func(c rune) bool { return c < 'A' || c > 'Z' }) < 0
	if spaced {
		ok = ok && rest != "" && strings.IndexFunc(rest, func(c rune) bool {
			return !unicode.IsGraphic(c) || unicode.IsSpace(c) || isBidi(c)
		}) < 0
	}
	if ok {
		return nil
	}
	return fmt.Errorf("%q is not a request key such as \"GET pods\"", clip(k, 64))
}

// requestsField is the JSON name of the map whose keys checkRequestKey
// checks.
const requestsField = "apiRequestsByVerb"

// The fixed value sets of the schema, from the enum tags it is made of.
var (
	verdicts = enumOf[Result]("Verdict")
	statuses = enumOf[StepResult]("Status")
	phases   = enumOf[StepResult]("Phase")
	actions  = enumOf[ObjectRef]("Action")
	policies = enumOf[CleanupResult]("Policy")
	outcomes = enumOf[Deletion]("Outcome")
)

// enumOf is the values the enum tag of field of T allows.
func enumOf[T any](field string) []string {
	f, _ := reflect.TypeFor[T]().FieldByName(field)
	return enumValues(f)
}

// validateResult checks the values of r, as the comment at the top of this
// file says, field by field rather than by reflection, which took longer
// than decoding. TestValidateCoversEveryEnum checks that no enum tag is
// left out.
func validateResult(r *Result) error {
	if err := checkEnum(string(r.Verdict), verdicts); err != nil {
		return &resultError{"verdict", err.Error()}
	}
	for _, k := range sortedKeys(r.APIRequestsByVerb) {
		if err := checkRequestKey(k); err != nil {
			return &resultError{requestsField, err.Error()}
		}
	}
	for i := range r.Steps {
		if err := validateStep(&r.Steps[i], "steps"); err != nil {
			return err
		}
	}
	if err := checkEnum(r.Cleanup.Policy, policies); err != nil {
		return &resultError{"cleanup.policy", err.Error()}
	}
	for _, d := range r.Cleanup.Deletions {
		if err := checkEnum(d.Outcome, outcomes); err != nil {
			return &resultError{"cleanup.deletions.outcome", err.Error()}
		}
	}
	return nil
}

// validateStep checks the values of s, named field, and of its targets.
func validateStep(s *StepResult, field string) error {
	if err := checkEnum(string(s.Status), statuses); err != nil {
		return &resultError{field + ".status", err.Error()}
	}
	if err := checkEnum(s.Phase, phases); err != nil {
		return &resultError{field + ".phase", err.Error()}
	}
	for _, o := range s.Objects {
		if err := checkEnum(o.Action, actions); err != nil {
			return &resultError{field + ".objects.action", err.Error()}
		}
	}
	for i := range s.Targets {
		if err := validateStep(&s.Targets[i], field+".targets"); err != nil {
			return err
		}
	}
	return nil
}

// jsonName is the name of f in JSON.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

func join(field, name string) string {
	if field == "" {
		return name
	}
	return field + "." + name
}

// locate finds in data (a JSON result that encoding/json decoded into a
// Result, or failed to in a decoder of its own: Seconds, time.Time) the
// first value that is not one a run writes, walking it by the Go types it
// decodes into. It returns that value's offset (just after its first byte,
// as position wants) and the error, or a nil error when all is well.
func locate(data []byte) (int64, error) {
	w := &walker{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	w.dec.UseNumber()
	err := w.value(reflect.TypeFor[Result](), "", nil)
	var bad *badValue
	if errors.As(err, &bad) {
		return bad.offset, bad.err
	}
	return 0, nil
}

// badValue is where the walk of locate stopped, and why.
type badValue struct {
	offset int64
	err    error
}

func (b *badValue) Error() string { return b.err.Error() }

// walker walks a JSON document token by token along Go types.
type walker struct {
	data []byte
	dec  *json.Decoder
}

// start is the offset of the next value: the decoder's offset is the end
// of the previous token, before the colon or comma that follows it.
func (w *walker) start() int64 {
	i := w.dec.InputOffset()
	for i < int64(len(w.data)) && strings.IndexByte(" \t\r\n:,", w.data[i]) >= 0 {
		i++
	}
	return i
}

// value walks the next value, of Go type t (nil: a member no field
// decodes), named field; enum is the values the field allows, if it has an
// enum tag.
func (w *walker) value(t reflect.Type, field string, enum []string) error {
	at := w.start()
	bad := func(err error) error { return &badValue{at + 1, &resultError{field, err.Error()}} }
	if t == secondsType || t == timeType {
		var raw json.RawMessage
		if err := w.dec.Decode(&raw); err != nil {
			return err
		}
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			return bad(err)
		}
		return nil
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('{'):
		for w.dec.More() {
			kt, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			var ft reflect.Type
			var fenum []string
			name := join(field, key)
			switch {
			case t == nil:
			case t.Kind() == reflect.Map:
				ft, name = t.Elem(), field
				if strings.HasSuffix(field, requestsField) {
					if err := checkRequestKey(key); err != nil {
						return &badValue{w.dec.InputOffset(), &resultError{field, err.Error()}}
					}
				}
			case t.Kind() == reflect.Struct:
				if f, ok := fieldOf(t, key); ok {
					ft, fenum, name = f.Type, enumValues(f), join(field, jsonName(f))
				}
			}
			if err := w.value(ft, name, fenum); err != nil {
				return err
			}
		}
		_, err := w.dec.Token()
		return err
	case json.Delim('['):
		var et reflect.Type
		if t != nil && t.Kind() == reflect.Slice {
			et = t.Elem()
		}
		for w.dec.More() {
			if err := w.value(et, field, nil); err != nil {
				return err
			}
		}
		_, err := w.dec.Token()
		return err
	}
	if s, ok := tok.(string); ok && enum != nil {
		if err := checkEnum(s, enum); err != nil {
			return bad(err)
		}
	}
	return nil
}

// fieldOf is the field of struct type t that encoding/json decodes the
// member key into: the one of that name, or else of that name in another
// case.
func fieldOf(t reflect.Type, key string) (reflect.StructField, bool) {
	var folded *reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("json") == "-" {
			continue
		}
		switch name := jsonName(f); {
		case name == key:
			return f, true
		case folded == nil && strings.EqualFold(name, key):
			folded = &f
		}
	}
	if folded != nil {
		return *folded, true
	}
	return reflect.StructField{}, false
}

// mapMembers are the members of a result that are maps: their keys are
// data, told apart by case; every other object's keys name fields, which
// encoding/json matches whatever their case.
var mapMembers = []string{"vars", "set", requestsField}

// duplicateKey finds the first member of an object of data (valid JSON)
// that has the name of an earlier member of the same object, and returns
// the offset just after it (as position wants) and its name; ok is false
// when there is none. encoding/json keeps the last of them without a word,
// so a file with two verdicts would show the second while a tool that keeps
// the first sees another result. top is whether data is itself the value
// of a map member. It reads data once, byte by byte, keeping the names of
// the objects it is in.
func duplicateKey(data []byte, top bool) (offset int64, key string, ok bool) {
	type object struct {
		keys   map[string]struct{}
		isMap  bool
		array  bool
		expect bool // the next string is a key
	}
	var stack []object
	lastKey := ""
	if top {
		lastKey = mapMembers[0]
	}
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '{':
			isMap := false
			for _, m := range mapMembers {
				isMap = isMap || strings.EqualFold(lastKey, m)
			}
			stack = append(stack, object{keys: map[string]struct{}{}, isMap: isMap, expect: true})
		case '[':
			stack = append(stack, object{array: true})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			lastKey = ""
		case ',':
			if n := len(stack); n > 0 && !stack[n-1].array {
				stack[n-1].expect = true
			}
		case '"':
			end := stringEnd(data, i)
			if n := len(stack); n > 0 && stack[n-1].expect {
				o := &stack[n-1]
				o.expect = false
				raw := data[i:end]
				var k string
				if bytes.IndexByte(raw, '\\') < 0 {
					k = string(raw[1 : len(raw)-1])
				} else if json.Unmarshal(raw, &k) != nil {
					return 0, "", false // not valid JSON: encoding/json says why
				}
				lastKey = k
				norm := k
				if !o.isMap {
					norm = strings.ToLower(strings.ToUpper(k)) // as encoding/json matches names
				}
				if _, dup := o.keys[norm]; dup {
					return int64(i + 1), k, true
				}
				o.keys[norm] = struct{}{}
			}
			i = end - 1
		}
	}
	return 0, "", false
}

// stringEnd is the offset just after the JSON string that starts at
// data[i], a quote.
func stringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); {
		k := bytes.IndexAny(data[j:], `"\`)
		if k < 0 {
			return len(data)
		}
		j += k
		if data[j] == '\\' {
			j += 2
			continue
		}
		return j + 1
	}
	return len(data)
}

// errDuplicate is the error of a member named twice in an object.
func errDuplicate(key string) error {
	return fmt.Errorf("%q is there twice in the same object", key)
}

// checkRead is what ParseJSON checks of a result that decoded into res:
// no member named twice, no value a run does not write. Its error says
// where in data.
func checkRead(data []byte, res *Result) error {
	if off, key, dup := duplicateKey(data, false); dup {
		return fmt.Errorf("%s: %w", position(data, off), errDuplicate(key))
	}
	if err := validateResult(res); err != nil {
		return locateError(data, err)
	}
	return nil
}

// locateError is err, an error of decoding data or of validate that does
// not say where it is, with the line:col and field of the value at fault
// when locate finds it.
func locateError(data []byte, err error) error {
	if off, lerr := locate(data); lerr != nil {
		return errors.New(position(data, off) + ": " + lerr.Error())
	}
	return err
}
