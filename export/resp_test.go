package export_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/rdb"
)

// parseRESP splits a RESP stream of arrays of bulk strings into commands.
func parseRESP(t *testing.T, b []byte) [][]string {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(b))
	var out [][]string
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return out
		}
		if err != nil || line[0] != '*' {
			t.Fatalf("bad RESP at %q: %v", line, err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		var cmd []string
		for i := 0; i < n; i++ {
			h, _ := br.ReadString('\n')
			l, _ := strconv.Atoi(strings.TrimSpace(h[1:]))
			p := make([]byte, l+2)
			io.ReadFull(br, p)
			cmd = append(cmd, string(p[:l]))
		}
		out = append(out, cmd)
	}
}

func TestRESPWriter(t *testing.T) {
	var file bytes.Buffer
	w, _ := rdb.NewWriter(&file, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 12}})
	future := time.Now().Add(time.Hour).UnixMilli()
	past := time.Now().Add(-time.Hour).UnixMilli()
	w.SelectDB(0)
	w.WriteString(rdb.KeyHeader{Key: []byte("s"), ExpireAt: future}, []byte("v"))
	w.WriteString(rdb.KeyHeader{Key: []byte("gone"), ExpireAt: past}, []byte("v"))
	cw, _ := w.BeginList(rdb.KeyHeader{Key: []byte("l")}, 25)
	for i := 0; i < 25; i++ {
		cw.Add(rdb.Element{Member: []byte(fmt.Sprint(i))})
	}
	cw.Close()
	w.SelectDB(3)
	zw, _ := w.BeginZSet(rdb.KeyHeader{Key: []byte("z")}, 2)
	zw.Add(rdb.Element{Member: []byte("a"), Score: 0.1})
	zw.Add(rdb.Element{Member: []byte("b"), Score: -1e300})
	zw.Close()
	hw, _ := w.BeginHashWithFieldTTLs(rdb.KeyHeader{Key: []byte("h")}, 3)
	hw.Add(rdb.Element{Member: []byte("f1"), Value: []byte("1")})
	hw.Add(rdb.Element{Member: []byte("f2"), Value: []byte("2"), ExpireAt: future})
	hw.Add(rdb.Element{Member: []byte("f3"), Value: []byte("3"), ExpireAt: past})
	hw.Close()
	w.Close()

	var out bytes.Buffer
	o := export.DefaultRESPOptions()
	o.MaxElements = 10
	rw := export.NewRESPWriter(&out, o)
	r := rdb.NewReader(bytes.NewReader(file.Bytes()))
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.WriteRecord(r, rec); err != nil {
			t.Fatal(err)
		}
	}
	rw.Flush()
	got := parseRESP(t, out.Bytes())
	var lines []string
	for _, c := range got {
		lines = append(lines, strings.Join(c, " "))
	}
	want := []string{
		"SET s v", "PEXPIREAT s " + fmt.Sprint(future),
		"RPUSH l 0 1 2 3 4 5 6 7 8 9", "RPUSH l 10 11 12 13 14 15 16 17 18 19", "RPUSH l 20 21 22 23 24",
		"SELECT 3",
		"ZADD z -1e+300 b 0.1 a",
		"HSET h f2 2 f1 1", "HPEXPIREAT h " + fmt.Sprint(future) + " FIELDS 1 f2",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if st := rw.Stats(); st.SkippedExpired != 1 || st.ExpiredFields != 1 || st.Keys != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestAppendScore(t *testing.T) {
	for _, f := range []float64{0.1, 1, -0, 1e300, 3.141592653589793, 1.0000000000000002} {
		b := export.AppendScore(nil, f)
		g, err := strconv.ParseFloat(string(b), 64)
		if err != nil || g != f {
			t.Errorf("%v -> %s -> %v", f, b, g)
		}
	}
}
