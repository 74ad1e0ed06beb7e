package serve

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// MaxTokenBytes bounds a token file.
const MaxTokenBytes = 4096

// TokenFile is the bearer token of a file, read again when the file
// changes: the kubelet swaps a Secret volume's files when the Secret is
// rotated, and the receiver must take the new token without a restart.
// The file is checked (one stat) at most once a second; while it cannot be
// read or holds no valid token, the last good token stays in force.
type TokenFile struct {
	path string
	log  func(format string, args ...any)

	mu      sync.Mutex
	digest  [sha256.Size]byte
	size    int64
	modTime time.Time
	checked time.Time
}

// NewTokenFile reads the token of path (readToken's rules). logf, when
// not nil, is told when the token is read again or cannot be.
func NewTokenFile(path string, logf func(format string, args ...any)) (*TokenFile, error) {
	t := &TokenFile{path: path, log: logf}
	if t.log == nil {
		t.log = func(string, ...any) {}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	token, err := readToken(path)
	if err != nil {
		return nil, err
	}
	t.digest, t.size, t.modTime = sha256.Sum256([]byte(token)), fi.Size(), fi.ModTime()
	return t, nil
}

// Digest is the SHA-256 of the token in force at now, the file read again
// first when its size or modification time changed.
func (t *TokenFile) Digest(now time.Time) [sha256.Size]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.checked) < time.Second {
		return t.digest
	}
	t.checked = now
	fi, err := os.Stat(t.path)
	if err != nil {
		t.log("the token file %s: %v; the last token read stays in force", t.path, err)
		return t.digest
	}
	if fi.Size() == t.size && fi.ModTime().Equal(t.modTime) {
		return t.digest
	}
	token, err := readToken(t.path)
	if err != nil {
		t.log("the token file %s changed but %v; the last token read stays in force", t.path, err)
		return t.digest
	}
	t.digest, t.size, t.modTime = sha256.Sum256([]byte(token)), fi.Size(), fi.ModTime()
	t.log("the token file %s changed: the new token is in force", t.path)
	return t.digest
}

// readToken reads a bearer token: the file's content without its final
// line break, at most MaxTokenBytes, not empty and without white space.
// Errors never hold the content.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxTokenBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > MaxTokenBytes {
		return "", fmt.Errorf("the token is over %d bytes", MaxTokenBytes)
	}
	token := strings.TrimRight(string(b), "\r\n")
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", errors.New("the token is empty or holds white space")
	}
	return token, nil
}
