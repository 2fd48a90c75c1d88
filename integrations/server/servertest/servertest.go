// Package servertest writes Linux host file systems for the server
// integration to read: a hardened Debian host on which every check passes
// and a weak one on which every check fails, plus the means to lay out any
// fixture root with the file modes and symbolic links git cannot hold. The
// benchmark writes thousands of roots with it, the demo a good and a bad
// one; it imports only the standard library.
package servertest

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Profile names a ready-made host.
type Profile string

// The profiles.
const (
	// Hardened is a Debian 12 host on which every server check passes:
	// sshd with keys only and no root login, unattended-upgrades, no
	// pending reboot, nftables dropping by default, auditd with rules,
	// AIDE, root alone at UID 0, /etc/shadow 0640, host keys 0600.
	Hardened Profile = "hardened"
	// Weak is a Debian 12 host on which every server check fails.
	Weak Profile = "weak"
)

// Profiles lists the profiles.
func Profiles() []Profile { return []Profile{Hardened, Weak} }

//go:embed roots
var roots embed.FS

// Write lays out the profile's host file system under dir, creating dir
// if needed. Files are owned by the calling user: run as root, the
// ownership checks see root; otherwise they see that user (tests map it).
func Write(dir string, p Profile) error {
	sub, err := fs.Sub(roots, "roots/"+string(p))
	if err != nil {
		return fmt.Errorf("profile %q: %w", p, err)
	}
	if _, err := fs.Stat(sub, "root"); err != nil {
		return fmt.Errorf("unknown profile %q (want one of hardened, weak)", p)
	}
	return Materialize(dir, sub)
}

// Materialize copies src's "root" directory into dir and then runs src's
// "setup.txt", if any: one command per line, paths relative to dir,
//
//	chmod 0640 etc/shadow
//	mkdir etc/ssh/sshd_config.d
//	symlink /lib/systemd/system/nftables.service etc/systemd/system/multi-user.target.wants/nftables.service
//	remove etc/ssh/sshd_config
//
// with "#" comments. A src without "root" only runs its setup, so that a
// case can adjust a profile written before.
func Materialize(dir string, src fs.FS) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create root %s: %w", dir, err)
	}
	if _, err := fs.Stat(src, "root"); err == nil {
		if err := copyTree(dir, src); err != nil {
			return err
		}
	}
	setup, err := fs.ReadFile(src, "setup.txt")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("read setup.txt: %w", err)
	}
	return runSetup(dir, setup)
}

func copyTree(dir string, src fs.FS) error {
	return fs.WalkDir(src, "root", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(name, "root"), "/")
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if d.IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", dst, err)
			}
			return nil
		}
		b, err := fs.ReadFile(src, name)
		if err != nil {
			return fmt.Errorf("read fixture %s: %w", name, err)
		}
		// Remove first: an earlier profile may have left a link or a
		// read-only file at this path.
		if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("replace %s: %w", dst, err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
		return nil
	})
}

func runSetup(dir string, setup []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(setup))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if err := setupCommand(dir, f); err != nil {
			return fmt.Errorf("setup.txt:%d: %s: %w", n, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read setup.txt: %w", err)
	}
	return nil
}

func setupCommand(dir string, f []string) error {
	path := func(p string) (string, error) {
		if filepath.IsAbs(p) || strings.Contains(p, "..") {
			return "", fmt.Errorf("path %q must be relative and stay in the root", p)
		}
		return filepath.Join(dir, filepath.FromSlash(p)), nil
	}
	switch {
	case len(f) == 3 && f[0] == "chmod":
		mode, err := strconv.ParseUint(f[1], 8, 32)
		if err != nil {
			return fmt.Errorf("mode %q is not octal", f[1])
		}
		p, err := path(f[2])
		if err != nil {
			return err
		}
		return os.Chmod(p, fs.FileMode(mode))
	case len(f) == 2 && f[0] == "mkdir":
		p, err := path(f[1])
		if err != nil {
			return err
		}
		return os.MkdirAll(p, 0o755)
	case len(f) == 3 && f[0] == "symlink":
		p, err := path(f[2])
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return os.Symlink(f[1], p)
	case len(f) == 2 && f[0] == "remove":
		p, err := path(f[1])
		if err != nil {
			return err
		}
		return os.RemoveAll(p)
	}
	return errors.New("unknown command (want chmod MODE PATH, mkdir PATH, symlink TARGET PATH or remove PATH)")
}
