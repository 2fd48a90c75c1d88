package githubfake

import (
	"crypto/sha1" //nolint:gosec // git names objects by SHA-1; this is naming, not security
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"
)

// gitRepo is a repository's default branch as git objects, hashed the
// way git hashes them so that SHAs change exactly when content does.
type gitRepo struct {
	commit string
	tree   string
	// entries is the recursive listing of the root tree.
	entries []treeEntry
	blobs   map[string][]byte
}

type treeEntry struct {
	Path, Mode, Type, SHA string
	Size                  int
}

func gitHash(kind string, body []byte) (string, []byte) {
	h := sha1.New() //nolint:gosec // see the import
	fmt.Fprintf(h, "%s %d\x00", kind, len(body))
	h.Write(body)
	sum := h.Sum(nil)
	return hex.EncodeToString(sum), sum
}

// buildGit hashes files into blobs, trees and one commit.
func buildGit(files map[string]string) *gitRepo {
	g := &gitRepo{blobs: map[string][]byte{}}
	if files == nil {
		return g
	}
	type node struct {
		files map[string]string // name → blob sha
		dirs  map[string]*node
	}
	newNode := func() *node { return &node{files: map[string]string{}, dirs: map[string]*node{}} }
	root := newNode()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		sha, _ := gitHash("blob", []byte(files[p]))
		g.blobs[sha] = []byte(files[p])
		n := root
		parts := strings.Split(p, "/")
		for _, d := range parts[:len(parts)-1] {
			if n.dirs[d] == nil {
				n.dirs[d] = newNode()
			}
			n = n.dirs[d]
		}
		n.files[parts[len(parts)-1]] = sha
	}
	var hashTree func(n *node, prefix string) (string, []byte)
	hashTree = func(n *node, prefix string) (string, []byte) {
		type ent struct {
			name, mode string
			raw        []byte
		}
		var ents []ent
		for name, sha := range n.files {
			raw, _ := hex.DecodeString(sha)
			ents = append(ents, ent{name, "100644", raw})
			p := path.Join(prefix, name)
			g.entries = append(g.entries, treeEntry{Path: p, Mode: "100644", Type: "blob", SHA: sha, Size: len(files[p])})
		}
		for name, d := range n.dirs {
			sha, raw := hashTree(d, path.Join(prefix, name))
			ents = append(ents, ent{name, "40000", raw})
			g.entries = append(g.entries, treeEntry{Path: path.Join(prefix, name), Mode: "040000", Type: "tree", SHA: sha})
		}
		// git sorts tree entries by name, directories as if they ended in "/".
		key := func(e ent) string {
			if e.mode == "40000" {
				return e.name + "/"
			}
			return e.name
		}
		slices.SortFunc(ents, func(a, b ent) int { return strings.Compare(key(a), key(b)) })
		var body []byte
		for _, e := range ents {
			body = append(body, e.mode+" "+e.name+"\x00"...)
			body = append(body, e.raw...)
		}
		return gitHash("tree", body)
	}
	g.tree, _ = hashTree(root, "")
	slices.SortFunc(g.entries, func(a, b treeEntry) int { return strings.Compare(a.Path, b.Path) })
	commit := fmt.Sprintf("tree %s\nauthor Fake <fake@example.com> 1700000000 +0000\ncommitter Fake <fake@example.com> 1700000000 +0000\n\nstate\n", g.tree)
	g.commit, _ = gitHash("commit", []byte(commit))
	return g
}
