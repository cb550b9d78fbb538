package salvage

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// liveKeys counts, per database, the keys of an RDB file that a server
// keeps when it loads it (keys already expired are dropped).
func liveKeys(t testing.TB, data []byte) map[int]int64 {
	r := rdb.NewReader(bytes.NewReader(data))
	now := time.Now().UnixMilli()
	out := map[int]int64{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("salvaged file: %v", err)
		}
		if rec.Kind == rdb.KindKey && (rec.ExpireAt == 0 || rec.ExpireAt > now+60000) {
			out[rec.DB]++
		}
	}
}

// loadInRedis starts a private redis-server on the file and checks that it
// loads every key.
func loadInRedis(t *testing.T, path string, data []byte) {
	t.Helper()
	want := liveKeys(t, data)
	srv := redistest.Start(t, path)
	for db, n := range want {
		if _, err := srv.Do("SELECT", db); err != nil {
			t.Fatalf("SELECT %d: %v", db, err)
		}
		got, err := srv.Do("DBSIZE")
		if err != nil {
			t.Fatal(err)
		}
		// Keys within a minute of expiring may go either way.
		if g := got.(int64); g != n {
			t.Errorf("db %d: server loaded %d keys, file holds %d live ones", db, g, n)
		}
	}
	srv.Stop()
}

// TestSalvagedFileLoadsInRedis damages corpus files written by the
// installed server's version and checks that redis-server loads the
// salvaged file with every key in it.
func TestSalvagedFileLoadsInRedis(t *testing.T) {
	root := filepath.Join("..", "testdata", "corpus", "redis-7.0.15")
	rng := rand.New(rand.NewSource(7))
	for _, name := range []string{"main.rdb", "nocompress.rdb", "lfu.rdb"} {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, dmg := range damages {
			bad, _, _ := dmg.apply(rng, data)
			out, res := salvageBytes(t, bad, Options{})
			if out == nil {
				t.Errorf("%s %s: nothing salvaged", name, dmg.name)
				continue
			}
			p := filepath.Join(t.TempDir(), "salvaged.rdb")
			if err := os.WriteFile(p, out, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s %s: %d keys salvaged, %d problems", name, dmg.name, res.Keys, res.ProblemCount)
			loadInRedis(t, p, out)
		}
	}
}
