package scrub

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempFile is an output being written: a hidden temporary file in the final
// file's directory, renamed into place by commit, removed by discard.
type tempFile struct {
	f      *os.File
	path   string // the temporary file
	final  string
	closed bool
	done   bool // committed or discarded
}

// createTemp creates the temporary file for final, with permissions perm
// (less the umask, as for any new file).
func createTemp(final string, perm fs.FileMode) (*tempFile, error) {
	dir := filepath.Dir(final)
	var (
		f   *os.File
		err error
	)
	for range 100 {
		name := filepath.Join(dir, "."+filepath.Base(final)+"."+strings.ToLower(rand.Text()[:10])+".tmp")
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		if info, serr := os.Stat(dir); serr != nil || !info.IsDir() {
			return nil, fmt.Errorf("%s: cannot write it: %w: %s; create it first", final, ErrNoFolder, dir)
		}
		return nil, fmt.Errorf("%s: cannot write it: %w: check that %s is writable", final, pathErr(err), dir)
	}
	return &tempFile{f: f, path: f.Name(), final: final}, nil
}

// close flushes the file to disk and closes it.
func (t *tempFile) close() error {
	err := t.f.Sync()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	t.closed = true
	if err != nil {
		return fmt.Errorf("%s: cannot write it: %w", t.final, pathErr(err))
	}
	return nil
}

// commit moves the finished file to its final name. Without force it never
// replaces an existing file, even one that appeared while scrubbing.
func (t *tempFile) commit(force bool) error {
	if force {
		if err := os.Rename(t.path, t.final); err != nil {
			return fmt.Errorf("%s: cannot write it: %w", t.final, errors.Unwrap(err))
		}
		t.done = true
		return nil
	}
	err := os.Link(t.path, t.final)
	switch {
	case err == nil:
		t.discard()
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s: %w: choose another output, or have existing files overwritten", t.final, ErrExists)
	}
	// No hard links on this file system: check, then rename.
	if _, serr := os.Lstat(t.final); serr == nil {
		return fmt.Errorf("%s: %w: choose another output, or have existing files overwritten", t.final, ErrExists)
	}
	if err := os.Rename(t.path, t.final); err != nil {
		return fmt.Errorf("%s: cannot write it: %w", t.final, errors.Unwrap(err))
	}
	t.done = true
	return nil
}

// discard removes the temporary file, unless it was committed.
func (t *tempFile) discard() {
	if t.done {
		return
	}
	t.done = true
	if !t.closed {
		_ = t.f.Close()
		t.closed = true
	}
	_ = os.Remove(t.path)
}
