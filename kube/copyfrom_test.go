package kube

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
)

// entry is one member of a test tarball.
type entry struct {
	name string
	typ  byte
	body string
	link string
}

func file(name, body string) entry  { return entry{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) entry         { return entry{name: name, typ: tar.TypeDir} }
func symlink(name, to string) entry { return entry{name: name, typ: tar.TypeSymlink, link: to} }

// tarball writes entries as a tar stream, as tar in a container would.
func tarball(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tree lists what is under root: "path" for files (with their content), "path/" for
// directories, "path@" for anything else (a symlink would show so).
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return out
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		switch {
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		case d.IsDir():
			out[rel+"/"] = ""
		default:
			out[rel+"@"] = d.Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCleanArtifactPath(t *testing.T) {
	for to, want := range map[string]string{"hostname": "hostname", "a/b/": "a/b", "./x": "x", "a//b": "a/b", "node 1/etc": "node 1/etc"} {
		if got, err := CleanArtifactPath(to); err != nil || got != want {
			t.Errorf("CleanArtifactPath(%q) = %q, %v; want %q", to, got, err, want)
		}
	}
	for _, to := range []string{"", ".", "/etc/x", "..", "../x", "a/../../x", "a/../b", `..\x`, `\x`} {
		if got, err := CleanArtifactPath(to); err == nil {
			t.Errorf("CleanArtifactPath(%q) = %q, want an error", to, got)
		}
	}
}

func TestTarCommand(t *testing.T) {
	got, err := TarCommand("/host/etc/hostname/")
	if diff := cmp.Diff([]string{"tar", "cf", "-", "-C", "/host/etc", "--", "hostname"}, got); err != nil || diff != "" {
		t.Errorf("TarCommand: %v (-want +got):\n%s", err, diff)
	}
	for _, bad := range []string{"", "etc/hostname", "/", "/.."} {
		if _, err := TarCommand(bad); err == nil {
			t.Errorf("TarCommand(%q) has no error", bad)
		}
	}
}

// TestExtract feeds the extractor tarballs, honest and hostile, and checks what it
// wrote: nothing ever outside root/to, no symlink ever, the caps held.
func TestExtract(t *testing.T) {
	tests := []struct {
		name      string
		src, to   string
		opts      CopyFromOptions
		stream    []byte
		want      map[string]string // the tree under root
		wantNotes []string
		wantTrunc bool
		wantErr   string
	}{
		{
			name: "a file", src: "/etc/hostname", to: "hostname",
			stream: tarball(t, file("hostname", "node-1\n")),
			want:   map[string]string{"hostname": "node-1\n"},
		},
		{
			name: "a file renamed into a new directory", src: "/etc/hostname", to: "node 1/etc/hostname.txt",
			stream: tarball(t, file("./hostname", "node-1\n")),
			want:   map[string]string{"node 1/": "", "node 1/etc/": "", "node 1/etc/hostname.txt": "node-1\n"},
		},
		{
			name: "a directory", src: "/etc/app", to: "config",
			stream: tarball(t, dir("app/"), file("app/a.yaml", "a: 1\n"), dir("app/sub/"), file("app/sub/b", "b")),
			want:   map[string]string{"config/": "", "config/a.yaml": "a: 1\n", "config/sub/": "", "config/sub/b": "b"},
		},
		{
			name: "a directory whose entry comes after its files", src: "/etc/app", to: "app",
			stream: tarball(t, file("app/x/y", "y"), dir("app/x/"), dir("app/")),
			want:   map[string]string{"app/": "", "app/x/": "", "app/x/y": "y"},
		},
		{
			name: "path traversal is refused", src: "/etc/app", to: "app",
			stream: tarball(t, dir("app/"), file("../evil", "x"), file("app/../../evil2", "x"), file("/etc/evil3", "x"),
				file("other/evil4", "x"), file("app/ok", "ok")),
			want: map[string]string{"app/": "", "app/ok": "ok"},
			wantNotes: []string{`refused "../evil": its path is not inside app`, `refused "app/../../evil2": its path is not inside app`,
				`refused "/etc/evil3": its path is not inside app`, `refused "other/evil4": its path is not inside app`},
		},
		{
			name: "a symlink is never made, nor followed", src: "/etc/app", to: "app",
			stream: tarball(t, dir("app/"), symlink("app/link", "/etc"), file("app/link/passwd", "not through the link"),
				symlink("app/up", "../../../.."), file("app/up/evil", "x")),
			want: map[string]string{"app/": "", "app/link/": "", "app/link/passwd": "not through the link", "app/up/": "", "app/up/evil": "x"},
			wantNotes: []string{"skipped symlink /etc/app/link -> /etc (symlinks are not copied; copy the target's path)",
				"skipped symlink /etc/app/up -> ../../../.. (symlinks are not copied; copy the target's path)"},
		},
		{
			name: "the copied path is a symlink", src: "/etc/os-release", to: "os-release",
			stream:    tarball(t, symlink("os-release", "../usr/lib/os-release")),
			want:      map[string]string{},
			wantNotes: []string{"skipped symlink /etc/os-release -> ../usr/lib/os-release (symlinks are not copied; copy the target's path)"},
		},
		{
			name: "devices, FIFOs and hard links are skipped", src: "/dev", to: "dev",
			stream: tarball(t, dir("dev/"), entry{name: "dev/null", typ: tar.TypeChar}, entry{name: "dev/sda", typ: tar.TypeBlock},
				entry{name: "dev/fifo", typ: tar.TypeFifo}, file("dev/f", "f"), entry{name: "dev/hard", typ: tar.TypeLink, link: "dev/f"}),
			want: map[string]string{"dev/": "", "dev/f": "f"},
			wantNotes: []string{"skipped device /dev/null", "skipped device /dev/sda", "skipped FIFO /dev/fifo",
				"skipped hard link /dev/hard to dev/f (hard links are not copied)"},
		},
		{
			name: "the byte cap cuts a file and stops", src: "/d", to: "d", opts: CopyFromOptions{MaxBytes: 8},
			stream:    tarball(t, dir("d/"), file("d/a", "123456"), file("d/b", "abcdef"), file("d/c", "never")),
			want:      map[string]string{"d/": "", "d/a": "123456", "d/b": "ab"},
			wantNotes: []string{"stopped at the cap of 8 bytes: /d/b was cut at 2 of 6 bytes, and what follows was not copied"},
			wantTrunc: true,
		},
		{
			name: "the byte cap reached exactly stops before the next file", src: "/d", to: "d", opts: CopyFromOptions{MaxBytes: 6},
			stream:    tarball(t, dir("d/"), file("d/a", "123456"), file("d/empty", ""), file("d/b", "abcdef")),
			want:      map[string]string{"d/": "", "d/a": "123456", "d/empty": ""},
			wantNotes: []string{"stopped at the cap of 6 bytes: /d/b and what follows were not copied"},
			wantTrunc: true,
		},
		{
			name: "the entry cap stops", src: "/d", to: "d", opts: CopyFromOptions{MaxEntries: 3},
			stream:    tarball(t, dir("d/"), file("d/1", "1"), file("d/2", "2"), file("d/3", "3"), file("d/4", "4")),
			want:      map[string]string{"d/": "", "d/1": "1", "d/2": "2"},
			wantNotes: []string{"stopped after 3 entries (the limit): the rest was not copied"},
			wantTrunc: true,
		},
		{
			name: "a repeated entry does not overwrite", src: "/d", to: "d",
			stream: tarball(t, dir("d/"), file("d/a", "first"), file("d/a", "second"), dir("d/")),
			want:   map[string]string{"d/": "", "d/a": "first"},
		},
		{
			name: "an entry under a file is skipped", src: "/f", to: "f",
			stream: tarball(t, file("f", "file"), file("f/x", "x")),
			want:   map[string]string{"f": "file"},
		},
		{
			name: "an empty stream writes nothing", src: "/nope", to: "nope",
			stream: make([]byte, 1024),
			want:   map[string]string{},
		},
		{
			name: "a corrupt stream", src: "/f", to: "f",
			stream:  bytes.Repeat([]byte("garbage!"), 128),
			want:    map[string]string{},
			wantErr: "reading the tar stream from the container",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			root := filepath.Join(parent, "artifacts")
			x, err := newExtractor(root, tt.to, tt.src, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			err = x.extract(bytes.NewReader(tt.stream))
			if got := errString(err); !strings.Contains(got, tt.wantErr) || (tt.wantErr == "") != (err == nil) {
				t.Errorf("error %q, want %q", got, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, tree(t, root)); diff != "" {
				t.Errorf("written (-want +got):\n%s", diff)
			}
			for p := range tree(t, parent) {
				if !strings.HasPrefix(p, "artifacts/") {
					t.Errorf("%s was written outside the artifact directory", p)
				}
			}
			for _, n := range tt.wantNotes {
				if !contains(x.notes, n) {
					t.Errorf("no note %q in %q", n, x.notes)
				}
			}
			if x.truncated != tt.wantTrunc {
				t.Errorf("truncated = %v, want %v", x.truncated, tt.wantTrunc)
			}
			for _, f := range x.files {
				b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(b)
				if f.Size != int64(len(b)) || f.SHA256 != hex.EncodeToString(sum[:]) || string(f.Head) != string(b) {
					t.Errorf("%s: size %d sha %s head %q; the file has %d bytes, sha %x", f.Path, f.Size, f.SHA256, f.Head, len(b), sum)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestExtractRefusesAnExistingDestination(t *testing.T) {
	for _, stream := range [][]byte{tarball(t, file("hostname", "new")), tarball(t, dir("hostname/"), file("hostname/x", "new"))} {
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "hostname"), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		x, err := newExtractor(root, "hostname", "/etc/hostname", CopyFromOptions{})
		if err != nil {
			t.Fatal(err)
		}
		err = x.extract(bytes.NewReader(stream))
		if !strings.Contains(errString(err), "the artifact hostname exists already") {
			t.Errorf("error %v, want that the artifact exists", err)
		}
		if b, _ := os.ReadFile(filepath.Join(root, "hostname")); string(b) != "old" {
			t.Errorf("the existing file was changed to %q", b)
		}
	}
	// An existing symlink at the destination is not followed either.
	root, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(root, "hostname")); err != nil {
		t.Fatal(err)
	}
	x, _ := newExtractor(root, "hostname", "/etc/hostname", CopyFromOptions{})
	if err := x.extract(bytes.NewReader(tarball(t, file("hostname", "new")))); err == nil {
		t.Error("no error writing onto a symlink")
	}
	if _, err := os.Lstat(filepath.Join(outside, "target")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the symlink was followed: %v", err)
	}
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestExtractHugeFileStopsReading gives a header that announces 1 TiB and an endless body:
// the extractor must stop soon after the cap, buffering nothing.
func TestExtractHugeFileStopsReading(t *testing.T) {
	var head bytes.Buffer
	w := tar.NewWriter(&head)
	if err := w.WriteHeader(&tar.Header{Name: "core", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	r := &countingReader{r: io.MultiReader(&head, endless{})}
	root := t.TempDir()
	const maxBytes = 1 << 20
	x, _ := newExtractor(root, "core", "/var/core", CopyFromOptions{MaxBytes: maxBytes})
	if err := x.extract(r); err != nil {
		t.Fatal(err)
	}
	if !x.stopped || !x.truncated || len(x.files) != 1 || x.files[0].Size != maxBytes || !x.files[0].Truncated {
		t.Errorf("stopped %v truncated %v files %+v", x.stopped, x.truncated, x.files)
	}
	if r.n > maxBytes+64<<10 {
		t.Errorf("read %d bytes of the stream for a cap of %d", r.n, maxBytes)
	}
}

// endless is an endless stream of 'x'.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestExtractBusyboxTar extracts what busybox's tar (the one of the local cluster's
// images) writes, when the machine has busybox.
func TestExtractBusyboxTar(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox on this machine")
	}
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "etc", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(src, "etc", "a"), []byte("a\n"), 0o600))
	must(os.WriteFile(filepath.Join(src, "etc", "sub", "-rf"), []byte("dash"), 0o644))
	must(os.Symlink("/etc/passwd", filepath.Join(src, "etc", "passwd")))
	for _, tc := range []struct{ path, to string }{{"etc", "copy"}, {"etc/sub/-rf", "dash"}} {
		cmd, err := TarCommand(filepath.Join(src, tc.path))
		must(err)
		out, err := exec.Command(bb, cmd...).Output()
		must(err)
		root := t.TempDir()
		x, err := newExtractor(root, tc.to, filepath.Join(src, tc.path), CopyFromOptions{})
		must(err)
		must(x.extract(bytes.NewReader(out)))
		got := tree(t, root)
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		want := map[string][]string{"copy": {"copy/", "copy/a", "copy/sub/", "copy/sub/-rf"}, "dash": {"dash"}}[tc.to]
		if diff := cmp.Diff(want, keys); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.path, diff)
		}
	}
}

// TestCopyFromOverSPDY runs CopyFrom against the fake kubelet of exec_test.go.
func TestCopyFromOverSPDY(t *testing.T) {
	success := metav1.Status{Status: metav1.StatusSuccess}
	exitCode := func(code string) metav1.Status {
		return metav1.Status{Status: metav1.StatusFailure, Reason: remotecommand.NonZeroExitCodeReason,
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: remotecommand.ExitCodeCauseType, Message: code}}}}
	}
	noTar := `Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "9a": ` +
		`OCI runtime exec failed: exec failed: unable to start container process: exec: "tar": executable file not found in $PATH: unknown`
	big := tarball(t, file("core", strings.Repeat("x", 8<<20)))
	tests := []struct {
		name      string
		src       string
		opts      CopyFromOptions
		stdout    string
		stderr    string
		status    metav1.Status
		want      map[string]string
		wantErr   error
		wantText  string
		wantExit  int
		wantTrunc bool
	}{
		{name: "a file", src: "/host/etc/hostname", stdout: string(tarball(t, file("hostname", "node-1\n"))), status: success,
			want: map[string]string{"out": "node-1\n"}},
		{name: "no tar in the container", src: "/etc/hostname",
			status: metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Message: noTar},
			want:   map[string]string{}, wantErr: ErrNoTar, wantText: "executable file not found", wantExit: -1},
		{name: "the path does not exist", src: "/nope", stdout: string(make([]byte, 1024)),
			stderr: "tar: nope: No such file or directory\ntar: error exit delayed from previous errors\n", status: exitCode("1"),
			want: map[string]string{}, wantErr: ErrNoSuchPath, wantText: "/nope", wantExit: 1},
		{name: "tar fails otherwise", src: "/root/secret", stdout: string(make([]byte, 1024)),
			stderr: "tar: secret: Permission denied\n", status: exitCode("2"),
			want: map[string]string{}, wantText: "tar exited with code 2: tar: secret: Permission denied", wantExit: 2},
		{name: "the cap stops the stream", src: "/var/core", opts: CopyFromOptions{MaxBytes: 1 << 20}, stdout: string(big), status: success,
			want: map[string]string{"out": strings.Repeat("x", 1<<20)}, wantExit: -1, wantTrunc: true},
		{name: "only a symlink", src: "/etc/os-release", stdout: string(tarball(t, symlink("os-release", "../usr/lib/os-release"))),
			status: success, want: map[string]string{}, wantErr: ErrNothingCopied, wantText: "symlinks are not copied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotCommand []string
			c := serverClients(t, spdyExecServer(t, func(cmd []string, _ string) (string, string, metav1.Status) {
				gotCommand = cmd
				return tt.stdout, tt.stderr, tt.status
			}))
			root := filepath.Join(t.TempDir(), "artifacts")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res := CopyFrom(ctx, c, "ns", "web", "app", tt.src, root, "out", tt.opts)
			if tt.wantErr != nil && !errors.Is(res.Err, tt.wantErr) || tt.wantErr == nil && tt.wantText == "" && res.Err != nil {
				t.Errorf("Err = %v, want %v", res.Err, tt.wantErr)
			}
			if !strings.Contains(errString(res.Err), tt.wantText) {
				t.Errorf("Err = %v, want it to say %q", res.Err, tt.wantText)
			}
			if res.ExitCode != tt.wantExit || res.Truncated != tt.wantTrunc {
				t.Errorf("exit code %d truncated %v, want %d %v", res.ExitCode, res.Truncated, tt.wantExit, tt.wantTrunc)
			}
			if diff := cmp.Diff(tt.want, tree(t, root)); diff != "" {
				t.Errorf("written (-want +got):\n%s", diff)
			}
			want, _ := TarCommand(tt.src)
			if diff := cmp.Diff(want, gotCommand); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCopyFromBadInput(t *testing.T) {
	c := serverClients(t, spdyExecServer(t, func([]string, string) (string, string, metav1.Status) {
		t.Error("no request expected")
		return "", "", metav1.Status{}
	}))
	tests := []struct {
		name, pod, src, root, to, want string
		c                              *Clients
	}{
		{"no clients", "p", "/x", "/tmp", "x", "copy: no cluster connection", nil},
		{"no pod", "", "/x", "/tmp", "x", "copy: no pod", c},
		{"relative source", "p", "x", "/tmp", "x", `the path to copy must be absolute, not "x"`, c},
		{"root", "p", "/", "/tmp", "x", "the path to copy cannot be /", c},
		{"destination leaves", "p", "/x", "/tmp", "../x", `the destination "../x" must be a relative path`, c},
		{"no destination directory", "p", "/x", "", "x", "copy: no destination directory", c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := CopyFrom(context.Background(), tt.c, "ns", tt.pod, "app", tt.src, tt.root, tt.to, CopyFromOptions{})
			if !strings.Contains(errString(res.Err), tt.want) || res.ExitCode != -1 {
				t.Errorf("Err = %v exit %d, want %q and -1", res.Err, res.ExitCode, tt.want)
			}
		})
	}
}

func TestCopyFromCancelled(t *testing.T) {
	c := serverClients(t, spdyExecServer(t, func([]string, string) (string, string, metav1.Status) {
		time.Sleep(200 * time.Millisecond)
		return "", "", metav1.Status{Status: metav1.StatusSuccess}
	}))
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("the step's timeout of 1s expired"))
	res := CopyFrom(ctx, c, "ns", "web", "app", "/etc/hostname", t.TempDir(), "h", CopyFromOptions{})
	if !strings.Contains(errString(res.Err), "the step's timeout of 1s expired") {
		t.Errorf("Err = %v, want the context's cause", res.Err)
	}
}
