package kube

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// CleanArtifactPath checks the destination of a copy, a path relative to the artifact
// directory with / as the separator, and returns it cleaned: it must not be empty, ".",
// absolute, or hold a .. element.
func CleanArtifactPath(to string) (string, error) {
	bad := to == "" || path.IsAbs(to) || strings.HasPrefix(to, `\`) || filepath.VolumeName(to) != ""
	for _, elem := range strings.FieldsFunc(to, func(r rune) bool { return r == '/' || r == '\\' }) {
		bad = bad || elem == ".."
	}
	clean := path.Clean(to)
	if bad || clean == "." || !filepath.IsLocal(filepath.FromSlash(clean)) {
		//lint:ignore ST1005 the message ends with the path element "..", not with punctuation
		return "", fmt.Errorf("the destination %q must be a relative path inside the artifact directory, without ..", to)
	}
	return clean, nil
}

// maxCopyNotes caps the notes of a copy; the last one says how many more there were.
const maxCopyNotes = 100

// extractor writes the tar stream of one copy under root/to, safely: see CopyFrom.
type extractor struct {
	root       string // the directory the copy goes into (an OS path)
	to         string // where the copied path goes under root: relative, clean, / separated
	base       string // the member tar archives: the base name of the source
	srcDir     string // the directory of the source in the container
	maxBytes   int64
	maxEntries int

	written   int64 // bytes of file content written
	entries   int
	claimed   bool // root/to was created by this copy
	omitted   int  // notes not kept
	files     []CopiedFile
	dirs      int
	notes     []string
	stopped   bool // a cap stopped the copy before the end of the stream
	truncated bool
}

// newExtractor checks the destination and the source of a copy.
func newExtractor(root, to, srcPath string, o CopyFromOptions) (*extractor, error) {
	dir, base, err := splitSource(srcPath)
	if err != nil {
		return nil, err
	}
	if root == "" {
		return nil, errors.New("copy: no destination directory")
	}
	clean, err := CleanArtifactPath(to)
	if err != nil {
		return nil, err
	}
	x := &extractor{root: root, to: clean, base: base, srcDir: dir, maxBytes: o.MaxBytes, maxEntries: o.MaxEntries}
	if x.maxBytes <= 0 {
		x.maxBytes = DefaultCopyMaxBytes
	}
	if x.maxEntries <= 0 {
		x.maxEntries = DefaultCopyMaxEntries
	}
	return x, nil
}

// note records why an entry was not copied.
func (x *extractor) note(format string, args ...any) {
	if len(x.notes) < maxCopyNotes {
		x.notes = append(x.notes, fmt.Sprintf(format, args...))
		return
	}
	x.omitted++
}

// stop ends the copy at a cap.
func (x *extractor) stop(format string, args ...any) {
	x.stopped, x.truncated = true, true
	x.note(format, args...)
}

// extract reads the tar stream r to its end, or until a cap or a local error stops it.
func (x *extractor) extract(r io.Reader) error {
	defer func() {
		if x.omitted > 0 {
			x.notes = append(x.notes, fmt.Sprintf("... and %d more", x.omitted))
		}
	}()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the tar stream from the container: %w", err)
		}
		x.entries++
		if x.entries > x.maxEntries {
			x.stop("stopped after %d entries (the limit): the rest was not copied", x.maxEntries)
			return nil
		}
		rel, ok := x.member(hdr.Name)
		if !ok {
			x.note("refused %q: its path is not inside %s", hdr.Name, x.base)
			continue
		}
		dest := path.Join(x.to, rel)
		if !filepath.IsLocal(filepath.FromSlash(dest)) {
			x.note("refused %q: its path leaves the destination", hdr.Name)
			continue
		}
		source := path.Join(x.srcDir, x.base, rel)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := x.mkdir(dest, rel == ""); err != nil {
				return err
			}
		case tar.TypeReg, tar.TypeGNUSparse:
			if err := x.file(tr, hdr, dest, source, rel == ""); err != nil || x.stopped {
				return err
			}
		case tar.TypeSymlink:
			x.note("skipped symlink %s -> %s (symlinks are not copied; copy the target's path)", source, hdr.Linkname)
		case tar.TypeLink:
			x.note("skipped hard link %s to %s (hard links are not copied)", source, hdr.Linkname)
		case tar.TypeChar, tar.TypeBlock:
			x.note("skipped device %s", source)
		case tar.TypeFifo:
			x.note("skipped FIFO %s", source)
		default:
			x.note("skipped %s: tar entry type %q", source, hdr.Typeflag)
		}
	}
}

// member maps the name of a tar entry to its path under the copy's destination: "" for
// the copied path itself, "sub/file" for what a directory holds. Names that are absolute,
// that climb with .., or that are not the archived member or inside it are refused.
func (x *extractor) member(name string) (string, bool) {
	clean := path.Clean(name)
	switch {
	case path.IsAbs(name), clean == "..", strings.HasPrefix(clean, "../"):
		return "", false
	case clean == x.base:
		return "", true
	case strings.HasPrefix(clean, x.base+"/"):
		return clean[len(x.base)+1:], true
	}
	return "", false
}

// target returns the OS path of dest under root.
func (x *extractor) target(dest string) string {
	return filepath.Join(x.root, filepath.FromSlash(dest))
}

// claim creates root/to's parents and, for a directory, root/to itself, the first time
// the copy writes anything. The destination must not exist: a copy never overwrites, and
// so never writes through anything it did not create.
func (x *extractor) claim(isDir bool) error {
	if x.claimed {
		return nil
	}
	top := x.target(x.to)
	if err := os.MkdirAll(filepath.Dir(top), 0o755); err != nil {
		return fmt.Errorf("creating the artifact directory: %w", err)
	}
	if isDir {
		if err := os.Mkdir(top, 0o755); err != nil {
			return x.exists(err)
		}
		x.dirs++
	}
	x.claimed = true
	return nil
}

// exists explains a failure to create the destination.
func (x *extractor) exists(err error) error {
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("the artifact %s exists already (an earlier step wrote it): a copy never overwrites; give this one another `to`", x.to)
	}
	return fmt.Errorf("creating the artifact %s: %w", x.to, err)
}

// mkdir creates a directory of the copy.
func (x *extractor) mkdir(dest string, top bool) error {
	if top {
		return x.claim(true)
	}
	if err := x.claim(true); err != nil {
		return err
	}
	t := x.target(dest)
	err := os.MkdirAll(filepath.Dir(t), 0o755)
	if err == nil {
		err = os.Mkdir(t, 0o755)
	}
	if err != nil {
		if fi, lerr := os.Lstat(t); lerr == nil && fi.IsDir() {
			return nil // made earlier as a parent, or a repeated entry
		}
		x.note("skipped directory %s: %v", dest, err)
		return nil
	}
	x.dirs++
	return nil
}

// file writes a regular file of the copy, at most what is left of the byte cap.
func (x *extractor) file(r io.Reader, hdr *tar.Header, dest, source string, top bool) error {
	room := x.maxBytes - x.written
	if room <= 0 && hdr.Size > 0 {
		x.stop("stopped at the cap of %d bytes: %s and what follows were not copied", x.maxBytes, source)
		return nil
	}
	if top {
		if err := x.claim(false); err != nil {
			return err
		}
	} else if err := x.claim(true); err != nil {
		return err
	}
	t := x.target(dest)
	if !top {
		if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
			x.note("skipped %s: %v", source, err)
			return nil
		}
	}
	// O_EXCL: never overwrite, never follow a symlink.
	f, err := os.OpenFile(t, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if top {
			return x.exists(err)
		}
		x.note("skipped %s: %v", source, err)
		return nil
	}
	n, truncated := hdr.Size, false
	if n > room {
		n, truncated = room, true
	}
	sum := sha256.New()
	head := &headBuffer{max: CopyHeadBytes}
	copied, err := io.CopyN(io.MultiWriter(f, sum, head), r, n)
	x.written += copied
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing %s: %w", dest, cerr)
	}
	x.files = append(x.files, CopiedFile{Path: dest, Source: source, Size: copied, Truncated: truncated || err != nil,
		SHA256: hex.EncodeToString(sum.Sum(nil)), Head: head.buf})
	if err != nil {
		x.truncated = true
		return fmt.Errorf("copying %s: %w", source, err)
	}
	if truncated {
		x.stop("stopped at the cap of %d bytes: %s was cut at %d of %d bytes, and what follows was not copied",
			x.maxBytes, source, copied, hdr.Size)
	}
	return nil
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	max int
	buf []byte
}

// Write implements io.Writer.
func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
