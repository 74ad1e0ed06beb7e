package report

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedactPatterns(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	tests := []struct{ name, in, want string }{
		{"authorization header runs to the end of its line", "> Authorization: Bearer ab\"cd ef\n> Accept: */*", "> Authorization: ***\n> Accept: */*"},
		{"authorization in JSON runs to its closing quote", `{"Authorization": "Bearer ab\"cd", "x": 1}`, `{"Authorization": "***", "x": 1}`},
		{"authorization in a quoted string stops at an escaped line break", `"> Authorization: Basic dTpw\r\n> Accept: */*"`, `"> Authorization: ***\r\n> Accept: */*"`},
		{"authorization as escaped JSON", `"{\"authorization\":\"Bearer a\\\"b\",\"x\":1}"`, `"{\"authorization\":\"***\",\"x\":1}"`},
		{"proxy authorization", "Proxy-Authorization: Basic dTpw", "Proxy-Authorization: ***"},
		{"authorization in prose is kept", "authorization failed for user", "authorization failed for user"},
		{"bearer token", "token=Bearer abcdefgh12345678", "token=Bearer ***"},
		{"bearer prose is kept", "invalid bearer token", "invalid bearer token"},
		{"JWT", "id_token=" + jwt + "&x=1", "id_token=***&x=1"},
		{"PEM private key", "a\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA\n-----END EC PRIVATE KEY-----\nb", "a\n***\nb"},
		{"PEM private key in a quoted string", `"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"`, `"***\n"`},
		{"PEM private key cut", "x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNza", "x ***"},
		{"PEM certificate is kept", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
		{"base64 PEM private key", "tls.key: " + base64.StdEncoding.EncodeToString([]byte("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n")), "tls.key: ***"},
		{"base64 PEM certificate is kept", "tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t", "tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"},
	}
	red := NewRedactor()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := red.String(tt.in)
			if got != tt.want {
				t.Errorf("String(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
			if again := red.String(got); again != got {
				t.Errorf("not idempotent: %q", again)
			}
		})
	}
}

func TestRedactorForms(t *testing.T) {
	const v = "s3cr\"et\\pa ss"
	red := NewRedactor(v, "line-one-x\nline-two-y\n", `{"token":"tok-0123456789"}`)
	b64 := base64.StdEncoding.EncodeToString([]byte("prefix " + v + " suffix"))
	tests := []struct{ name, in, want string }{
		{"raw", "pw " + v + ".", "pw ***."},
		{"Go-quoted", "pw " + strconv.Quote(v), `pw "***"`},
		{"ASCII-quoted", strconv.QuoteToASCII("é" + v), `"\u00e9***"`},
		{"XML", "pw s3cr&#34;et\\pa ss", "pw ***"},
		{"each line", "a line-two-y b", "a *** b"},
		{"lines together", "line-one-x\nline-two-y", "***"},
		{"inside longer base64", b64, "cHJlZml4IH***Mgc3VmZml4"},
		{"URL base64", base64.URLEncoding.EncodeToString([]byte(v)), "***"},
		{"a string in a JSON value", "using tok-0123456789 now", "using *** now"},
		{"adjacent matches are one", v + v, "***"},
		{"overlapping matches are one", "line-one-xline-two-y", "***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := red.String(tt.in); got != tt.want {
				t.Errorf("String(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
	if got := red.String("short ones stay: abc"); got != "short ones stay: abc" {
		t.Errorf("changed %q", got)
	}
}

func TestRedactorCut(t *testing.T) {
	red := NewRedactor("hunter2-password")
	for in, want := range map[string]string{
		"pw=hunter2-pa": "pw=***",
		"pw=hun":        "pw=hun", // less than MinSecretLength of it
		"pw=nothing":    "pw=nothing",
	} {
		if got := red.Cut(in); got != want {
			t.Errorf("Cut(%q) = %q, want %q", in, got, want)
		}
	}
	r := &Result{Steps: []StepResult{{Stdout: "out: hunter2-pass", StdoutTruncated: true, Stderr: "err: hunter2-pass",
		Assertions: []Assertion{{Values: []Value{{Expr: "stdout", Value: `"out: hunter2-pas… (12 more characters)`}}}}}}}
	red.Result(r)
	s := r.Steps[0]
	if s.Stdout != "out: ***" || s.Stderr != "err: hunter2-pass" || s.Assertions[0].Values[0].Value != `"out: ***… (12 more characters)` {
		t.Errorf("cut output or value not redacted (or uncut output changed): %q %q %q", s.Stdout, s.Stderr, s.Assertions[0].Values[0].Value)
	}
}

func TestMaskEnv(t *testing.T) {
	in := strings.Join([]string{
		"HOME=/root",
		"DB_PASSWORD=hunter2",
		"APP_TOKEN=abc",
		"KEY=-----BEGIN KEY-----",
		"MIIE",
		"-----END KEY-----",
		"PATH=/bin",
		`declare -x DB_PASSWORD="quoted"`,
		"XDB_PASSWORD=not-this-one",
		"",
	}, "\n")
	got, values := MaskEnv(in, []string{"DB_PASSWORD", "KEY"}, []string{"APP_"})
	want := strings.Join([]string{
		"HOME=/root",
		"DB_PASSWORD=***",
		"APP_TOKEN=***",
		"KEY=***",
		"***",
		"***",
		"PATH=/bin",
		`declare -x DB_PASSWORD=***`,
		"XDB_PASSWORD=not-this-one",
		"",
	}, "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MaskEnv (-want +got):\n%s", diff)
	}
	for _, v := range []string{"hunter2", "abc", "-----BEGIN KEY-----", "MIIE", `"quoted"`, "quoted"} {
		found := false
		for _, x := range values {
			found = found || x == v
		}
		if !found {
			t.Errorf("values %q lack %q", values, v)
		}
	}
	if got, values := MaskEnv(in, nil, nil); got != in || values != nil {
		t.Errorf("without names MaskEnv changed the text")
	}
}
