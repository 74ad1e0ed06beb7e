//go:build yamlls

package yamlls_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// serverScript is the pinned yaml-language-server, installed by
// make schema-lsp (npm ci in this directory).
const serverScript = "node_modules/yaml-language-server/bin/yaml-language-server"

// answerLimit bounds each wait for the server, so that a server that
// never answers fails the test instead of hanging it. It is no
// assertion on speed: a healthy server answers in well under a second.
const answerLimit = 2 * time.Minute

// message is a JSON-RPC message of the language server protocol.
type message struct {
	JSONRPC string           `json:"jsonrpc"`
	ID      *json.RawMessage `json:"id,omitempty"`
	Method  string           `json:"method,omitempty"`
	Params  json.RawMessage  `json:"params,omitempty"`
	Result  json.RawMessage  `json:"result,omitempty"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

type position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type diagnostic struct {
	Range struct {
		Start position `json:"start"`
	} `json:"range"`
	Severity int    `json:"severity"`
	Message  string `json:"message"`
}

// server is a yaml-language-server process and the client side of its
// protocol: requests wait for their response; the diagnostics it
// publishes are queued per document.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	in   io.WriteCloser
	wmu  sync.Mutex
	done chan struct{} // closed when the server's output ends

	mu      sync.Mutex
	next    int
	pending map[int]chan message
	diags   map[string]chan []diagnostic
	stderr  bytes.Buffer
}

// settings are the editor's: validation, hover and completion on (the
// defaults), and no fetching of the public schema store (the schema comes
// from each file's modeline). The YAML version is left at the server's
// default, 1.2.
var settings = map[string]any{"yaml": map[string]any{
	"validate": true, "hover": true, "completion": true,
	"format":      map[string]any{"enable": false},
	"schemaStore": map[string]any{"enable": false},
}}

func start(t *testing.T) *server {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: make schema-lsp installs it and yaml-language-server (%v)", err)
	}
	if _, err := os.Stat(serverScript); err != nil {
		t.Fatalf("yaml-language-server is not installed in hack/yamlls: run make schema-lsp (%v)", err)
	}
	s := &server{t: t, done: make(chan struct{}), pending: map[int]chan message{}, diags: map[string]chan []diagnostic{}}
	s.cmd = exec.Command(node, serverScript, "--stdio")
	s.cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.stderr}
	if s.in, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go s.read(bufio.NewReader(out))
	t.Cleanup(s.stop)

	root, _ := filepath.Abs("../..")
	s.call("initialize", map[string]any{
		"processId": os.Getpid(),
		"rootUri":   fileURI(root),
		"capabilities": map[string]any{"textDocument": map[string]any{
			"completion":         map[string]any{"completionItem": map[string]any{"snippetSupport": false}},
			"hover":              map[string]any{"contentFormat": []string{"plaintext", "markdown"}},
			"publishDiagnostics": map[string]any{},
		}},
	}, nil)
	s.notify("initialized", map[string]any{})
	s.notify("workspace/didChangeConfiguration", map[string]any{"settings": settings})
	return s
}

// stop asks the server to shut down and exit, and kills it if it does not.
func (s *server) stop() {
	select {
	case <-s.done:
	default:
		id := s.send("shutdown", nil)
		select {
		case <-s.response(id):
		case <-s.done:
		case <-time.After(answerLimit):
		}
		s.notify("exit", nil)
	}
	_ = s.in.Close()
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(answerLimit):
		_ = s.cmd.Process.Kill()
		<-exited
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (s *server) write(m message) {
	m.JSONRPC = "2.0"
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // only the test's own values are marshalled
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// A write to a server that has exited fails; the wait that follows
	// reports it with the server's stderr.
	_, _ = fmt.Fprintf(s.in, "Content-Length: %d\r\n\r\n%s", len(b), b)
}

func raw(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (s *server) notify(method string, params any) {
	s.write(message{Method: method, Params: raw(params)})
}

// send sends a request and returns its id.
func (s *server) send(method string, params any) int {
	s.mu.Lock()
	s.next++
	id := s.next
	s.pending[id] = make(chan message, 1)
	s.mu.Unlock()
	rid := json.RawMessage(strconv.Itoa(id))
	s.write(message{ID: &rid, Method: method, Params: raw(params)})
	return id
}

func (s *server) response(id int) chan message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending[id]
}

// call sends a request and decodes its result into result (unless nil).
func (s *server) call(method string, params any, result any) {
	s.t.Helper()
	id := s.send(method, params)
	var m message
	select {
	case m = <-s.response(id):
	case <-s.done:
		s.t.Fatalf("yaml-language-server exited during %s:\n%s", method, s.errors())
	case <-time.After(answerLimit):
		s.t.Fatalf("yaml-language-server did not answer %s within %s:\n%s", method, answerLimit, s.errors())
	}
	if m.Error != nil {
		s.t.Fatalf("%s: error %d: %s", method, m.Error.Code, m.Error.Message)
	}
	if result != nil {
		if err := json.Unmarshal(m.Result, result); err != nil {
			s.t.Fatalf("%s: %v in %s", method, err, m.Result)
		}
	}
}

func (s *server) errors() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

func (s *server) diagnosticsOf(uri string) chan []diagnostic {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.diags[uri]
	if !ok {
		ch = make(chan []diagnostic, 16)
		s.diags[uri] = ch
	}
	return ch
}

// read handles what the server sends: responses, diagnostics, and its
// requests to the client, each answered.
func (s *server) read(r *bufio.Reader) {
	defer close(s.done)
	for {
		m, err := readMessage(r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.mu.Lock()
				fmt.Fprintf(&s.stderr, "test client: %v\n", err)
				s.mu.Unlock()
			}
			return
		}
		switch {
		case m.ID != nil && m.Method != "":
			s.answer(m)
		case m.ID != nil:
			id, err := strconv.Atoi(string(*m.ID))
			if err != nil {
				continue
			}
			if ch := s.response(id); ch != nil {
				ch <- m
			}
		case m.Method == "textDocument/publishDiagnostics":
			var p struct {
				URI         string       `json:"uri"`
				Diagnostics []diagnostic `json:"diagnostics"`
			}
			if json.Unmarshal(m.Params, &p) == nil {
				s.diagnosticsOf(p.URI) <- p.Diagnostics
			}
		}
	}
}

// answer replies to a request of the server: the settings it asks for,
// and an empty success to anything else (registering capabilities,
// progress).
func (s *server) answer(m message) {
	var result any
	if m.Method == "workspace/configuration" {
		var p struct {
			Items []struct {
				Section string `json:"section"`
			} `json:"items"`
		}
		_ = json.Unmarshal(m.Params, &p)
		out := make([]any, len(p.Items))
		for i, it := range p.Items {
			out[i] = lookup(settings, it.Section)
		}
		result = out
	}
	b := raw(result)
	if b == nil {
		b = json.RawMessage("null")
	}
	s.write(message{ID: m.ID, Result: b})
}

// lookup finds a dotted section (yaml.schemaStore) in the settings.
func lookup(v any, section string) any {
	if section == "" {
		return v
	}
	for _, k := range strings.Split(section, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func readMessage(r *bufio.Reader) (message, error) {
	length := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return message{}, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			if length, err = strconv.Atoi(v); err != nil {
				return message{}, fmt.Errorf("bad header %q", line)
			}
		}
	}
	if length < 0 || length > 64<<20 {
		return message{}, fmt.Errorf("bad Content-Length %d", length)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return message{}, err
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return message{}, fmt.Errorf("%v in %s", err, body)
	}
	return m, nil
}

func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// open opens a document with the given text (the file need not exist:
// only its directory matters, for the modeline's relative schema path)
// and returns its URI.
func (s *server) open(path, text string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		s.t.Fatal(err)
	}
	uri := fileURI(abs)
	s.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "yaml", "version": 1, "text": text}})
	return uri
}

// diagnostics waits for the diagnostics the server publishes for uri.
func (s *server) diagnostics(uri string) []diagnostic {
	s.t.Helper()
	select {
	case d := <-s.diagnosticsOf(uri):
		return d
	case <-s.done:
		s.t.Fatalf("yaml-language-server exited before validating %s:\n%s", uri, s.errors())
	case <-time.After(answerLimit):
		s.t.Fatalf("yaml-language-server published no diagnostics for %s within %s:\n%s", uri, answerLimit, s.errors())
	}
	return nil
}

// TestYAMLLanguageServer drives the pinned yaml-language-server with the
// generated schema as an editor does, through each file's modeline.
func TestYAMLLanguageServer(t *testing.T) {
	s := start(t)

	t.Run("examples", func(t *testing.T) {
		s.t = t
		files, _ := filepath.Glob("../../examples/*.yaml")
		if len(files) < 6 {
			t.Fatalf("found %d examples", len(files))
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range s.diagnostics(s.open(f, string(data))) {
				t.Errorf("%s:%d:%d: %s", f, d.Range.Start.Line+1, d.Range.Start.Character+1, d.Message)
			}
		}
	})

	t.Run("typos", func(t *testing.T) {
		s.t = t
		const file = "testdata/typos.yaml"
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want := wanted(string(data))
		if len(want) < 8 {
			t.Fatalf("%s marks %d lines, want the typos of the issue at least", file, len(want))
		}
		got := map[int][]string{}
		for _, d := range s.diagnostics(s.open(file, string(data))) {
			t.Logf("%s:%d:%d: %s", file, d.Range.Start.Line+1, d.Range.Start.Character+1, d.Message)
			got[d.Range.Start.Line+1] = append(got[d.Range.Start.Line+1], d.Message)
		}
		for line, msgs := range got {
			if _, ok := want[line]; !ok {
				t.Errorf("%s:%d: unexpected diagnostics %q", file, line, msgs)
			}
		}
		for _, line := range sortedKeys(want) {
			msgs := got[line]
			ok := len(msgs) == len(want[line])
			for _, w := range want[line] {
				ok = ok && slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, w) })
			}
			if !ok {
				t.Errorf("%s:%d: diagnostics %q, want %d saying %q", file, line, msgs, len(want[line]), want[line])
			}
		}
		// runbook validate flags the same lines: the schema and the loader
		// agree (on booleans too: True is one for both).
		_, err = runbook.Load(file, runbook.LoadOptions{Kinds: steps.Registry})
		var list runbook.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("the loader accepted %s: %v", file, err)
		}
		flagged := map[int]bool{}
		for _, e := range list {
			flagged[e.Line] = true
			if _, ok := want[e.Line]; !ok {
				t.Errorf("the loader flags an unmarked line: %v", e)
			}
		}
		for _, line := range sortedKeys(want) {
			if !flagged[line] {
				t.Errorf("%s:%d: the editor flags it, the loader does not", file, line)
			}
		}
	})

	t.Run("completion and hover", func(t *testing.T) {
		s.t = t
		lines := []string{
			"# yaml-language-server: $schema=../../../schemas/runbook.schema.json",
			"apiVersion: ",
			"kind: ",
			"metadata:",
			"  name: completion",
			"spec:",
			"  cleanup: ",
			"  steps:",
			"  - debug:",
			"      pod: web",
			"      image: busybox:1.36",
			"      waitFor: ",
			"      profile: ",
			"      imagePullPolicy: ",
			"    continueOnError: ",
			"  - copy:",
			"      pod: web",
			"      waitFor: ",
		}
		uri := s.open("testdata/completion.yaml", strings.Join(lines, "\n")+"\n")
		s.diagnostics(uri) // validated: the schema is loaded
		at := func(key string, nth int) position {
			for i, l := range lines {
				if strings.TrimSpace(l) == key+":" {
					if nth == 0 {
						return position{Line: i, Character: len(l)}
					}
					nth--
				}
			}
			t.Fatalf("no line %q", key)
			return position{}
		}
		for _, tc := range []struct {
			key  string
			nth  int
			want []string
		}{
			{"apiVersion", 0, []string{"runbook/v1alpha1"}},
			{"kind", 0, []string{"Runbook"}},
			{"cleanup", 0, []string{"always", "never", "onSuccess"}},
			{"waitFor", 0, []string{"Running", "Terminated"}},
			{"profile", 0, []string{"baseline", "general", "legacy", "netadmin", "restricted", "sysadmin"}},
			{"imagePullPolicy", 0, []string{"Always", "IfNotPresent", "Never"}},
			{"waitFor", 1, []string{"None", "Ready", "Running"}},
			// A boolean offers true and false: the enums above would show
			// them if they were typed as booleans.
			{"continueOnError", 0, []string{"false", "true"}},
		} {
			var res json.RawMessage
			s.call("textDocument/completion", map[string]any{
				"textDocument": map[string]any{"uri": uri}, "position": at(tc.key, tc.nth)}, &res)
			if got := labels(t, res); !slices.Equal(got, tc.want) {
				t.Errorf("completing %s: (#%d) offers %q, want %q", tc.key, tc.nth+1, got, tc.want)
			}
		}
		for _, tc := range []struct{ key, want string }{
			{"cleanup", "Cleanup is always (default), onSuccess or never."},
			{"waitFor", "waitFor is Terminated (default: wait for the command to end"},
			{"continueOnError", "continueOnError lets the run go on after this step fails."},
		} {
			p := at(tc.key, 0)
			p.Character = strings.Index(lines[p.Line], tc.key) + 1
			var res struct {
				Contents json.RawMessage `json:"contents"`
			}
			s.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": p}, &res)
			if !strings.Contains(string(res.Contents), tc.want) {
				t.Errorf("hover over %s shows %s, want %q", tc.key, res.Contents, tc.want)
			}
		}
	})
}

// wanted reads the "# want: TEXT" marks of a file: line number to the
// texts of the diagnostics the line must get, one each ("A & B": two).
func wanted(text string) map[int][]string {
	mark := regexp.MustCompile(`#\s*want:\s*(.+?)\s*$`)
	out := map[int][]string{}
	for i, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if m := mark.FindStringSubmatch(l); m != nil {
			out[i+1] = strings.Split(m[1], " & ")
		}
	}
	return out
}

func sortedKeys(m map[int][]string) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// labels are the sorted labels of a completion result (a list, or a
// CompletionList).
func labels(t *testing.T, res json.RawMessage) []string {
	t.Helper()
	type item struct {
		Label string `json:"label"`
	}
	var items []item
	if err := json.Unmarshal(res, &items); err != nil {
		var list struct {
			Items []item `json:"items"`
		}
		if err := json.Unmarshal(res, &list); err != nil {
			t.Fatalf("completion result %s: %v", res, err)
		}
		items = list.Items
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Label
	}
	slices.Sort(out)
	return out
}
