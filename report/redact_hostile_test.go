package report

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// hostileSecrets are values a Secret may hold that once got through:
// quotes, backslashes, line breaks and non-ASCII text, a PEM private key,
// a JSON credential. hostileToken is a bearer token the run never learns:
// it must go by its shape alone.
type hostileSecrets struct {
	password, pemKey, jsonCred, credToken string
	bearer, jwt                           string
}

func newHostileSecrets(t *testing.T) hostileSecrets {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	token := "tok-" + base64.RawURLEncoding.EncodeToString([]byte("a json credential token"))
	return hostileSecrets{
		password:  "p@ss\"w0rd\\with\nline-two ünïcødé ✓ <&>",
		pemKey:    pemKey,
		jsonCred:  `{"token":"` + token + `","user":"svc \"bot\""}`,
		credToken: token,
		bearer:    "gh0_bearer-T0ken.value~" + strings.Repeat("x", 12),
		jwt:       "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJob3N0aWxlIn0.c2lnbmF0dXJlLWhvc3RpbGU",
	}
}

// known are the values the run learned (a Secret it read).
func (h hostileSecrets) known() []string { return []string{h.password, h.pemKey, h.jsonCred} }

// leakForms lists every form in which a value must not appear: raw,
// Go-quoted, JSON-escaped, XML-escaped, base64 (standard and URL, with and
// without padding), and the same for each line of at least
// MinSecretLength bytes (PEM armour lines aside) and each string of a JSON
// value. It is computed here, apart from the Redactor's own list.
func leakForms(values ...string) map[string]string {
	out := map[string]string{}
	var add func(what, v string, split bool)
	add = func(what, v string, split bool) {
		if len(v) < MinSecretLength {
			return
		}
		q := strconv.Quote(v)
		j, _ := json.Marshal(v)
		var x bytes.Buffer
		_ = xml.EscapeText(&x, []byte(v))
		for name, f := range map[string]string{
			"raw": v, "quoted": q[1 : len(q)-1], "json": string(j[1 : len(j)-1]), "xml": x.String(),
			"base64": base64.StdEncoding.EncodeToString([]byte(v)), "base64url": base64.URLEncoding.EncodeToString([]byte(v)),
			"base64 raw": base64.RawStdEncoding.EncodeToString([]byte(v)),
		} {
			if len(f) >= MinSecretLength {
				out[f] = what + " " + name
			}
		}
		if !split {
			return
		}
		for i, line := range strings.Split(v, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "-----") {
				add(what+" line "+strconv.Itoa(i+1), line, false)
			}
		}
		var m map[string]any
		if json.Unmarshal([]byte(v), &m) == nil {
			for k, e := range m {
				if s, ok := e.(string); ok && len(s) >= 8 {
					add(what+" ."+k, s, false)
				}
			}
		}
	}
	for i, v := range values {
		add("secret "+strconv.Itoa(i+1), v, true)
	}
	return out
}

// checkNoLeak fails for each form of a secret found in out.
func checkNoLeak(t *testing.T, where string, out []byte, forms map[string]string) {
	t.Helper()
	for f, what := range forms {
		if bytes.Contains(out, []byte(f)) {
			t.Errorf("%s holds %s: %q", where, what, f)
		}
	}
}

// hostilePayload holds every secret in every form a step may have printed.
func hostilePayload(h hostileSecrets) string {
	var b strings.Builder
	for _, v := range h.known() {
		q := strconv.Quote(v)
		j, _ := json.Marshal(v)
		jj, _ := json.Marshal(string(j))
		b.WriteString("raw: " + v + "\n")
		b.WriteString("quoted: " + q + "\n")
		b.WriteString("ascii: " + strconv.QuoteToASCII(v) + "\n")
		b.WriteString(`json: {"v":` + string(j) + "}\n")
		b.WriteString("json twice: " + string(jj) + "\n")
		b.WriteString("base64: " + base64.StdEncoding.EncodeToString([]byte(v)) + "\n")
		b.WriteString("base64url: " + base64.URLEncoding.EncodeToString([]byte(v)) + "\n")
		b.WriteString("embedded base64: " + base64.StdEncoding.EncodeToString([]byte("x="+v+"\n")) + "\n")
		b.WriteString("env: PASSWORD=" + v + "\n")
		for _, line := range strings.Split(v, "\n") {
			b.WriteString("line alone: " + line + "\n")
			b.WriteString("line base64: " + base64.StdEncoding.EncodeToString([]byte(line)) + "\n")
		}
	}
	b.WriteString("> Authorization: Bearer " + h.bearer + "\n")
	b.WriteString(`{"headers":{"Authorization":"Bearer ` + h.bearer + `\"quoted\" tail"}}` + "\n")
	b.WriteString("curl -H 'authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+h.bearer)) + "'\n")
	b.WriteString("token: Bearer " + h.bearer + "\n")
	b.WriteString("jwt " + h.jwt + " seen\n")
	b.WriteString("just the token " + h.credToken + "\n")
	return b.String()
}

// hostileResult is a failed run whose every string holds every secret,
// output cut in the middle of one, and values shortened in the middle of
// one, as the executor leaves them before redaction.
func hostileSecretResult(h hostileSecrets) *Result {
	payload := hostilePayload(h)
	r := &Result{}
	fill(reflect.ValueOf(r).Elem(), payload)
	r.SchemaVersion, r.Verdict = SchemaVersion, VerdictFailed
	r.Cleanup.Policy = "always"
	r.Cleanup.Deletions[0].Outcome = OutcomeFailed
	step := StepResult{}
	fill(reflect.ValueOf(&step).Elem(), payload)
	step.Index, step.Phase, step.Kind, step.Status = 1, PhaseSteps, "exec", StatusFailed
	step.Targets = nil
	step.ExitCode = intp(1)
	step.Assertions = []Assertion{{
		Expr: `stdout contains "nope"`, Message: payload, Error: payload,
		Values: []Value{
			{Expr: "stdout", Value: strconv.Quote(payload)},
			{Expr: "steps.secret.object", Value: jsonOf(map[string]any{"data": map[string]any{"password": base64.StdEncoding.EncodeToString([]byte(h.password))}, "stringData": map[string]any{"key": h.pemKey, "cred": h.jsonCred}})},
			{Expr: "cut", Value: strconv.Quote("PASSWORD=" + h.password)[:14] + "… (40 more characters)"},
		},
	}}
	step.Set = map[string]string{"password": h.password, "key": h.pemKey, "cred": h.jsonCred}
	step.Artifacts = []Artifact{{Path: "env.txt", Size: 1, SHA256: "00", Text: true, Content: payload}}
	cut := step
	cut.Index, cut.Status = 2, StatusPassed
	cut.Assertions = nil
	cut.Stdout = "head\n" + h.pemKey[:len(h.pemKey)/2]
	cut.Stderr = "PASSWORD=" + h.password[:9]
	cut.StdoutTruncated, cut.StderrTruncated = true, true
	fan := step
	fan.Index = 3
	fan.Targets = []StepResult{step, cut}
	r.Steps = []StepResult{step, cut, fan}
	r.Vars = map[string]string{"password": h.password, "cred": h.jsonCred}
	return r
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// fill sets every string reachable from v to s, and gives every slice one
// element.
func fill(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Struct:
		if v.Type().String() == "time.Time" {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), s)
			}
		}
	case reflect.Slice:
		if v.Type().Elem() == reflect.TypeOf(StepResult{}) {
			return
		}
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, s)
		v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), e))
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.String {
			v.Set(reflect.MakeMap(v.Type()))
			v.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), reflect.ValueOf(s).Convert(v.Type().Elem()))
		}
	}
}

// TestRedactHostileSecretsEveryFormat builds a result full of hostile
// secrets, in every field and every encoding, redacts it and renders it in
// every format: no secret survives in any form, nor does the bearer token
// or JWT the run never learned. Without redaction, every format leaks (so
// the check can fail).
func TestRedactHostileSecretsEveryFormat(t *testing.T) {
	h := newHostileSecrets(t)
	forms := leakForms(h.known()...)
	for f, what := range leakForms(h.bearer, h.jwt) {
		if !strings.Contains(what, "line") {
			forms[f] = "the unknown token's " + what
		}
	}
	for _, name := range Formats() {
		render, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			r := hostileSecretResult(h)
			var raw bytes.Buffer
			if err := render(&raw, r); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(raw.Bytes(), []byte(h.credToken)) {
				t.Fatalf("the unredacted %s output does not hold the secrets: the check proves nothing", name)
			}
			NewRedactor(h.known()...).Result(r)
			var out bytes.Buffer
			if err := render(&out, r); err != nil {
				t.Fatal(err)
			}
			checkNoLeak(t, name, out.Bytes(), forms)
			if !bytes.Contains(out.Bytes(), []byte(Redacted)) {
				t.Errorf("%s output shows no %s at all", name, Redacted)
			}
		})
	}
}

// TestRedactorLearnsWhileItGoes checks that a value added after a first
// redaction is redacted from then on, and that redaction is idempotent.
func TestRedactorLearnsWhileItGoes(t *testing.T) {
	h := newHostileSecrets(t)
	red := NewRedactor()
	line := "PASSWORD=" + strconv.Quote(h.password)
	if got := red.String(line); got != line {
		t.Errorf("nothing known yet, String changed %q to %q", line, got)
	}
	red.Add(h.password)
	got := red.String(line)
	checkNoLeak(t, "the line", []byte(got), leakForms(h.password))
	if again := red.String(got); again != got {
		t.Errorf("not idempotent: %q then %q", got, again)
	}
	if red.Len() != 1 {
		t.Errorf("Len = %d, want 1", red.Len())
	}
}

// TestRedactorEC checks another kind of PEM key, known and unknown.
func TestRedactorEC(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	k := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	for _, red := range []*Redactor{NewRedactor(), NewRedactor(k)} {
		text := "key:\n" + k + "b64: " + base64.StdEncoding.EncodeToString([]byte(k)) + "\nquoted: " + strconv.Quote(k)
		got := red.String(text)
		checkNoLeak(t, "the text", []byte(got), leakForms(k))
		if !strings.HasPrefix(got, "key:\n") {
			t.Errorf("redacted too much: %q", got)
		}
	}
}
