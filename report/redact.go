package report

import (
	"encoding/base64"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// Redacted replaces every secret that Redact finds.
const Redacted = "***"

// MinSecretLength is the shortest secret value that Redact replaces.
// Shorter values ("1", "no", "abc") occur everywhere in output, so
// replacing them would destroy the report without hiding anything a
// credential is made of; they are left as they are.
const MinSecretLength = 4

var (
	// authorizationRE finds the value of an Authorization header, as a
	// header line ("Authorization: Basic dXNlcg==") or as a JSON or YAML
	// member ("authorization": "Bearer x"). The value runs to the end of
	// the line or to a closing quote.
	authorizationRE = regexp.MustCompile(`(?i)(\bauthorization"?\s*[:=]\s*"?)[^"\r\n]+`)
	// bearerRE finds a bearer token anywhere: "Bearer eyJhbGciOi...". A
	// token is at least 8 characters, so that prose such as "invalid bearer
	// token" keeps its meaning.
	bearerRE = regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*`)
)

// Redact removes secrets from r in place, before any renderer sees it (the
// CLI calls it; renderers do not). It replaces with Redacted, in every
// string of the result (output, errors, commands, API calls, assertion
// values, variables, captured sets, cleanup errors and leftovers, ...):
//   - each value of secrets at least MinSecretLength bytes long, and its
//     standard base64 form (as a Secret's data shows in an object dump);
//     longer secrets are replaced first, so one that contains another goes
//     whole;
//   - the token of every "Bearer TOKEN" (TOKEN at least 8 characters);
//   - the value of every Authorization header.
//
// Map keys (variable names) are kept. Redact is idempotent.
func Redact(r *Result, secrets []string) {
	if r == nil {
		return
	}
	redactValue(reflect.ValueOf(r).Elem(), newRedactor(secrets))
}

// newRedactor builds the string function that Redact applies everywhere.
func newRedactor(secrets []string) func(string) string {
	seen := map[string]bool{}
	var values []string
	for _, s := range secrets {
		for _, v := range []string{s, base64.StdEncoding.EncodeToString([]byte(s))} {
			if len(s) >= MinSecretLength && !seen[v] {
				seen[v] = true
				values = append(values, v)
			}
		}
	}
	// Longest first, then alphabetical, so that the result does not depend
	// on the order of secrets.
	sort.Slice(values, func(i, j int) bool {
		if len(values[i]) != len(values[j]) {
			return len(values[i]) > len(values[j])
		}
		return values[i] < values[j]
	})
	pairs := make([]string, 0, 2*len(values))
	for _, v := range values {
		pairs = append(pairs, v, Redacted)
	}
	replacer := strings.NewReplacer(pairs...)
	return func(s string) string {
		if s == "" {
			return s
		}
		s = replacer.Replace(s)
		s = authorizationRE.ReplaceAllString(s, "${1}"+Redacted)
		return bearerRE.ReplaceAllString(s, "${1}"+Redacted)
	}
}

// redactValue applies f to every settable string reachable from v.
func redactValue(v reflect.Value, f func(string) string) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(f(v.String()))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			redactValue(v.Elem(), f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i), f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i), f)
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Elem().Kind() != reflect.String {
			return
		}
		iter := v.MapRange()
		type kv struct{ k, v reflect.Value }
		var updates []kv
		for iter.Next() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.SetString(f(iter.Value().String()))
			updates = append(updates, kv{iter.Key(), val})
		}
		for _, u := range updates {
			v.SetMapIndex(u.k, u.v)
		}
	}
}
