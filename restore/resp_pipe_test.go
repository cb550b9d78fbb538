package restore

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestRESPExportPipe: `rdbtool dump --format resp` output (export.RESPWriter)
// fed to redis-cli --pipe recreates what the corpus says the server held.
func TestRESPExportPipe(t *testing.T) {
	redistest.LookPath(t, "redis-cli")
	s := redistest.Start(t, "")
	host, port, _ := strings.Cut(s.Addr, ":")
	for _, f := range corpustest.Files(t) {
		if f.Scenario() != "main" || f.Server() == "redis-7.4.1" || f.Server() == "redis-8.6.3" {
			continue // 7.4+ field TTLs need HPEXPIREAT, which the 7.0 test server lacks
		}
		t.Run(f.Name, func(t *testing.T) {
			s.Do("FLUSHALL")
			s.Do("FUNCTION", "FLUSH")
			cmd := exec.Command("redis-cli", "-h", host, "-p", port, "--pipe")
			in, _ := cmd.StdinPipe()
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			fh, err := os.Open(f.RDB)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			o := export.DefaultRESPOptions()
			o.MaxElements = 30
			w := export.NewRESPWriter(in, o)
			r := rdb.NewReader(fh)
			for {
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Kind == rdb.KindKey && rec.Type == rdb.TypeModule {
					continue
				}
				if err := w.WriteRecord(r, rec); err != nil {
					t.Fatal(err)
				}
			}
			w.Flush()
			in.Close()
			if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "errors: 0") {
				t.Fatalf("redis-cli --pipe: %v\n%s", err, out.String())
			}
			redistest.CompareServer(t, s, corpustest.Expected(t, f), redistest.CompareOptions{CheckTTL: true})
		})
	}
}
