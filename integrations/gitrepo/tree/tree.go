// Package tree walks a repository's working tree once for the git-repo
// integration: it lists every regular file but .git, skips what
// .rampartignore excludes, hashes each file on every core, and builds the
// scan.Tree that every scanner shares.
package tree

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rampart-dev/rampart/integrations/gitrepo/scan"
)

// IgnoreFile is the name of the file, at the root of the tree, whose
// gitignore-style globs exclude paths from every scanner.
const IgnoreFile = ".rampartignore"

// Visit is called once per file with its content while the tree is hashed,
// so that a caller can look inside every file without reading it twice.
// It is called concurrently and must not keep content.
type Visit func(path string, content []byte)

// Walk lists and hashes the files under root. visit may be nil.
func Walk(ctx context.Context, root string, visit Visit) (*scan.Tree, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	ignore, err := readIgnore(root)
	if err != nil {
		return nil, err
	}
	var paths []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p != root {
			return nil // removed while walking
		}
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" || ignore.Match(rel, true) {
				return filepath.SkipDir
			}
			return nil
		}
		// Symlinks are not followed: they may point outside the tree.
		if !d.Type().IsRegular() || ignore.Match(rel, false) {
			return nil
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	slices.Sort(paths)
	files := make([]scan.File, len(paths))
	gone := make([]bool, len(paths))
	err = scan.ForEach(ctx, len(paths), func(i int) error {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(paths[i])))
		if errors.Is(err, fs.ErrNotExist) {
			// Removed since it was listed (a build's temporary file): it
			// is not part of the tree any more.
			gone[i] = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", paths[i], err)
		}
		h := sha256.Sum256(b)
		files[i] = scan.File{Path: paths[i], Hash: hex.EncodeToString(h[:]), Size: int64(len(b))}
		if visit != nil {
			visit(paths[i], b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	kept := files[:0]
	for i, f := range files {
		if !gone[i] {
			kept = append(kept, f)
		}
	}
	return &scan.Tree{Root: root, Files: kept, Read: Reader(root)}, nil
}

// Reader returns a scan.Tree Read function over the files under root that
// refuses paths leaving it.
func Reader(root string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		clean := path.Clean(p)
		if !fs.ValidPath(clean) {
			return nil, fmt.Errorf("read %s: path outside the tree", p)
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(clean)))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return b, nil
	}
}

func readIgnore(root string) (*Ignore, error) {
	b, err := os.ReadFile(filepath.Join(root, IgnoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &Ignore{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", IgnoreFile, err)
	}
	ig, err := ParseIgnore(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", IgnoreFile, err)
	}
	return ig, nil
}

// HasFile reports whether the tree holds path p.
func HasFile(t *scan.Tree, p string) bool {
	_, ok := slices.BinarySearchFunc(t.Files, p, func(f scan.File, p string) int { return strings.Compare(f.Path, p) })
	return ok
}
