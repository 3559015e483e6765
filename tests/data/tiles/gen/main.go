// Command gen writes the known-answer tiles of tests/data/tiles with the tile functions of
// golang.org/x/mod/sumdb/tlog (BSD-3-Clause, see ../LICENSE), an implementation independent
// of provenance-ledger's. Input: a file of 32-byte leaf hashes (stdin) and the checkpoint sizes
// (arguments, increasing). Output, under ./expected: every hash tile published at those sizes
// (tlog.NewTiles, at the width of each size; a partial tile whose full tile exists is dropped,
// as C2SP allows), with the path of C2SP tlog-tiles (Go's tile/8/L/N becomes tile/L/N); and
// ./proofs.json: tree hashes, inclusion proofs (tlog.ProveRecord) and consistency proofs
// (tlog.ProveTree) read back through tlog.TileHashReader from those tiles.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

type store struct{ hashes []tlog.Hash }

func (s *store) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = s.hashes[x]
	}
	return out, nil
}

type tiles struct {
	data map[string][]byte
}

func (t *tiles) Height() int { return 8 }
func (t *tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, x := range ts {
		// Go asks for the narrowest tile holding a hash; a C2SP log serves full tiles and
		// the partial tiles of its checkpoints, whose first W hashes are that tile.
		var d []byte
		for w := 256; w >= x.W && d == nil; w-- {
			d = t.data[c2sp(tlog.Tile{H: 8, L: x.L, N: x.N, W: w})]
		}
		if d == nil {
			return nil, fmt.Errorf("missing tile %s", c2sp(x))
		}
		out[i] = d[:x.W*32]
	}
	return out, nil
}
func (t *tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func c2sp(t tlog.Tile) string { return strings.Replace(t.Path(), "tile/8/", "tile/", 1) }

type proof struct {
	Kind  string   `json:"kind"`
	Index int64    `json:"index"`
	Old   int64    `json:"old"`
	Size  int64    `json:"size"`
	Proof []string `json:"proof"`
}

func hexes(hs []tlog.Hash) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, hex.EncodeToString(h[:]))
	}
	return out
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	raw, err := io.ReadAll(os.Stdin)
	must(err)
	s := &store{}
	for i := 0; i+32 <= len(raw); i += 32 {
		var h tlog.Hash
		copy(h[:], raw[i:i+32])
		more, err := tlog.StoredHashesForRecordHash(int64(i/32), h, s)
		must(err)
		s.hashes = append(s.hashes, more...)
	}
	published := &tiles{map[string][]byte{}}
	full := map[string]bool{}
	old := int64(0)
	var sizes []int64
	for _, a := range os.Args[1:] {
		n, err := strconv.ParseInt(a, 10, 64)
		must(err)
		sizes = append(sizes, n)
		last := map[string]tlog.Tile{}
		for _, t := range tlog.NewTiles(8, old, n) {
			key := fmt.Sprintf("%d/%d", t.L, t.N)
			if w, ok := last[key]; !ok || t.W > w.W {
				last[key] = t
			}
		}
		for _, t := range last {
			d, err := tlog.ReadTileData(t, s)
			must(err)
			published.data[c2sp(t)] = d
			if t.W == 256 {
				full[c2sp(t)] = true
			}
		}
		old = n
	}
	for p := range published.data {
		if i := strings.Index(p, ".p/"); i >= 0 && full[p[:i]] {
			delete(published.data, p)
		}
	}
	for p, d := range published.data {
		f := filepath.Join("expected", p)
		must(os.MkdirAll(filepath.Dir(f), 0o755))
		must(os.WriteFile(f, d, 0o644))
	}
	var proofs []proof
	roots := map[string]string{}
	for _, n := range sizes {
		r := tlog.TileHashReader(tlog.Tree{N: n, Hash: must2(tlog.TreeHash(n, s))}, published)
		root, err := tlog.TreeHash(n, r)
		must(err)
		roots[strconv.FormatInt(n, 10)] = hex.EncodeToString(root[:])
		seen := map[int64]bool{}
		for _, i := range []int64{0, 1, n / 2, n - 2, n - 1} {
			if i < 0 || i >= n || seen[i] {
				continue
			}
			seen[i] = true
			p, err := tlog.ProveRecord(n, i, r)
			must(err)
			proofs = append(proofs, proof{"inclusion", i, 0, n, hexes(p)})
		}
		for _, m := range sizes {
			if m > 0 && m < n {
				p, err := tlog.ProveTree(n, m, r)
				must(err)
				proofs = append(proofs, proof{"consistency", 0, m, n, hexes(p)})
			}
		}
	}
	out, err := json.MarshalIndent(map[string]any{"sizes": sizes, "roots": roots, "proofs": proofs}, "", " ")
	must(err)
	must(os.WriteFile("proofs.json", append(out, '\n'), 0o644))
}

func must2(h tlog.Hash, err error) tlog.Hash {
	must(err)
	return h
}
