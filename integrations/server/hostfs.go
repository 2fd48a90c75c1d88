package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// hostFS reads a host's files under a root directory the way the host
// itself would see them: symbolic links are resolved as though root were
// "/", so an absolute link (/var/run -> /run) stays inside root instead of
// reaching the machine Rampart runs on. Every access goes through os.Root,
// which refuses anything that would leave it.
type hostFS struct {
	root *os.Root
}

var (
	_ fs.StatFS     = (*hostFS)(nil)
	_ fs.ReadLinkFS = (*hostFS)(nil)
)

// maxLinks bounds symlink hops in one path, as the kernel's ELOOP does.
const maxLinks = 40

func (h *hostFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := h.root.Open(name)
	if err == nil {
		return f, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// os.Root refuses absolute links outright; resolve them inside root.
	resolved, rerr := h.resolve(name)
	if rerr != nil {
		return nil, rerr
	}
	if resolved == name {
		return nil, err
	}
	if f, err = h.root.Open(resolved); err != nil {
		return nil, err
	}
	return f, nil
}

func (h *hostFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	fi, err := h.root.Stat(name)
	if err == nil {
		return fi, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	resolved, rerr := h.resolve(name)
	if rerr != nil {
		return nil, rerr
	}
	if resolved == name {
		return nil, err
	}
	return h.root.Stat(resolved)
}

// Lstat describes name itself, a link or not, after resolving the links
// of its parent directories.
func (h *hostFS) Lstat(name string) (fs.FileInfo, error) {
	if fs.ValidPath(name) {
		fi, err := h.root.Lstat(name)
		if err == nil {
			return fi, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	dir, base, err := h.splitResolved("lstat", name)
	if err != nil {
		return nil, err
	}
	return h.root.Lstat(path.Join(dir, base))
}

func (h *hostFS) ReadLink(name string) (string, error) {
	if fs.ValidPath(name) {
		target, err := h.root.Readlink(name)
		if err == nil {
			return target, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	dir, base, err := h.splitResolved("readlink", name)
	if err != nil {
		return "", err
	}
	return h.root.Readlink(path.Join(dir, base))
}

func (h *hostFS) splitResolved(op, name string) (dir, base string, err error) {
	if !fs.ValidPath(name) || name == "." {
		return "", "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	dir, base = path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return ".", base, nil
	}
	dir, err = h.resolve(dir)
	return dir, base, err
}

// resolve returns name with every symbolic link replaced by its target,
// absolute targets taken relative to root and ".." stopping at root.
func (h *hostFS) resolve(name string) (string, error) {
	if name == "." {
		return name, nil
	}
	parts := strings.Split(name, "/")
	done := "."
	hops := 0
	for i := 0; i < len(parts); i++ {
		next := path.Join(done, parts[i])
		fi, err := h.root.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if hops++; hops > maxLinks {
			return "", &fs.PathError{Op: "open", Path: name, Err: errors.New("too many levels of symbolic links")}
		}
		target, err := h.root.Readlink(next)
		if err != nil {
			return "", err
		}
		base := path.Join("/", done, target)
		if path.IsAbs(target) {
			base = path.Clean(target)
		}
		full := strings.TrimPrefix(path.Join(append([]string{base}, parts[i+1:]...)...), "/")
		if full == "" {
			full = "."
		}
		parts, done, i = strings.Split(full, "/"), ".", -1
		if full == "." {
			parts = nil
		}
	}
	return done, nil
}

// rel turns a host path ("/etc/ssh/sshd_config") into a name in the
// root's file system ("etc/ssh/sshd_config").
func rel(hostPath string) string {
	p := strings.TrimPrefix(path.Clean("/"+hostPath), "/")
	if p == "" {
		return "."
	}
	return p
}

// abs turns a name in the root's file system into a host path.
func abs(name string) string { return path.Clean("/" + name) }

// readFile reads a host path. A missing file is (nil, false, nil); any
// other failure, such as a link leaving root or a permission error, is an
// error, so that a check never mistakes "could not read" for "absent".
func readFile(fsys fs.FS, hostPath string) ([]byte, bool, error) {
	b, err := fs.ReadFile(fsys, rel(hostPath))
	switch {
	case err == nil:
		return b, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("read %s: %w", hostPath, err)
}

// exists reports whether a host path exists, following links.
func exists(fsys fs.FS, hostPath string) (bool, error) {
	_, err := fs.Stat(fsys, rel(hostPath))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("stat %s: %w", hostPath, err)
}

// glob expands a host path pattern into host paths, in lexical order.
func glob(fsys fs.FS, pattern string) ([]string, error) {
	names, err := fs.Glob(fsys, rel(pattern))
	if err != nil {
		return nil, fmt.Errorf("glob %s: %w", pattern, err)
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = abs(n)
	}
	return out, nil
}
