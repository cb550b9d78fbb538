package diff_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/diff"
	"github.com/rdbtool/rdbtool/rdb"
)

func listKey(key string, items []string) genKey {
	return genKey{key: key, typ: rdb.TypeList, elems: func(add func(rdb.Element) error) error {
		for _, it := range items {
			if err := add(rdb.Element{Member: []byte(it)}); err != nil {
				return err
			}
		}
		return nil
	}}
}

func seq(format string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf(format, i))
	}
	return out
}

// collectionPair makes the A and B sides of TestStreamedDetails.
func collectionPair() (a, b []genKey) {
	add := func(ka, kb genKey) { a, b = append(a, ka), append(b, kb) }
	base := seq("e%d", 0, 2000)
	add(listKey("l:trim", base), listKey("l:trim", append(append([]string{}, base[100:]...), seq("t%d", 0, 5)...)))
	edit := append([]string{}, base...)
	edit[10], edit[500], edit[1999] = "X10", "X500", "X1999"
	add(listKey("l:edit", base), listKey("l:edit", append(edit, "p1", "p2", "p3")))
	add(listKey("l:push", base), listKey("l:push", append(seq("h%d", 0, 7), base...)))
	add(listKey("l:unrelated", seq("a%d", 0, 1000)), listKey("l:unrelated", seq("b%d", 0, 990)))

	set := func(key string, members []string) genKey {
		return genKey{key: key, typ: rdb.TypeSet, elems: func(add func(rdb.Element) error) error {
			for _, m := range members {
				if err := add(rdb.Element{Member: []byte(m)}); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	sa := seq("m%04d", 0, 3000)
	sb := append(append([]string{}, sa[20:]...), seq("n%04d", 0, 15)...)
	add(set("s:big", sa), set("s:big", sb))
	add(set("s:small", []string{"x", "y", "z"}), set("s:small", []string{"x", "w"}))

	zset := func(key string, n int, score func(i int) float64, skip func(i int) bool, extra int) genKey {
		return genKey{key: key, typ: rdb.TypeZSet, elems: func(add func(rdb.Element) error) error {
			for i := 0; i < n; i++ {
				if skip(i) {
					continue
				}
				if err := add(rdb.Element{Member: []byte(fmt.Sprintf("z%04d", i)), Score: score(i)}); err != nil {
					return err
				}
			}
			for i := 0; i < extra; i++ {
				if err := add(rdb.Element{Member: []byte(fmt.Sprintf("new%d", i)), Score: float64(-i)}); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	add(zset("z:big", 3000, func(i int) float64 { return float64(i) / 3 }, func(int) bool { return false }, 0),
		zset("z:big", 3000, func(i int) float64 {
			if i%250 == 1 { // 12 rescored
				return float64(i) + 0.5
			}
			return float64(i) / 3
		}, func(i int) bool { return i%600 == 7 }, 9)) // 5 removed, 9 added

	future := time.Now().Add(240 * time.Hour).UnixMilli()
	hash := func(key string, n int, mut bool) genKey {
		return genKey{key: key, typ: rdb.TypeHash, ttls: true, elems: func(add func(rdb.Element) error) error {
			for i := 0; i < n; i++ {
				e := rdb.Element{Member: []byte(fmt.Sprintf("f%04d", i)), Value: []byte(fmt.Sprintf("v%d", i))}
				if i%10 == 3 {
					e.ExpireAt = future + int64(i)
				}
				if mut {
					switch {
					case i%270 == 5: // 12 changed
						e.Value = append(e.Value, '!')
					case i%750 == 9: // 4 removed
						continue
					case i%400 == 3: // 8 field TTLs changed
						e.ExpireAt += 60_000
					}
				}
				if err := add(e); err != nil {
					return err
				}
			}
			if mut {
				for i := 0; i < 6; i++ {
					if err := add(rdb.Element{Member: []byte(fmt.Sprintf("g%d", i)), Value: []byte("new")}); err != nil {
						return err
					}
				}
			}
			return nil
		}}
	}
	add(hash("h:big", 3000, false), hash("h:big", 3000, true))
	add(hash("h:small", 4, false), hash("h:small", 4, true))
	return a, b
}

// TestStreamedDetails: collections compared element by element from the
// values files (and in hash partitions) get exactly the details they get
// when compared in memory.
func TestStreamedDetails(t *testing.T) {
	dir := t.TempDir()
	ka, kb := collectionPair()
	pa, pb := writeRDB(t, dir, "a.rdb", ka), writeRDB(t, dir, "b.rdb", kb)
	render := func(opts diff.Options) (string, map[string]*diff.Details) {
		res, got := run(t, diff.FileInput(pa), diff.FileInput(pb), opts)
		if res.Summary.Counts.ValueChanged != int64(len(ka)) || res.Summary.Counts.Total() != int64(len(ka)) {
			t.Fatalf("counts %+v, want %d value changes", res.Summary.Counts, len(ka))
		}
		var sb strings.Builder
		ds := map[string]*diff.Details{}
		err := res.Each(func(kd *diff.KeyDiff) error {
			b, err := json.Marshal(kd)
			sb.Write(b)
			sb.WriteByte('\n')
			ds[string(kd.Key)] = kd.Details
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ka) {
			t.Fatalf("%d keys differ, want %d", len(got), len(ka))
		}
		return sb.String(), ds
	}
	inMem, ds := render(diff.Options{})
	// Every value streamed, one partition per element at most.
	restore := diff.SetInMemoryShare(1 << 40)
	streamed, _ := render(diff.Options{MemLimit: 1 << 20})
	restore()
	// Streamed, in partitions of about 8 KiB.
	restore = diff.SetInMemoryShare(128)
	parted, _ := render(diff.Options{MemLimit: 1 << 20})
	restore()
	if streamed != inMem {
		t.Errorf("streamed details differ from in-memory ones:\n%s\nvs\n%s", streamed, inMem)
	}
	if parted != inMem {
		t.Errorf("partitioned details differ from in-memory ones:\n%s\nvs\n%s", parted, inMem)
	}

	// And the details are right.
	items := func(it *diff.Items) string {
		if it == nil {
			return "-"
		}
		var s []string
		for _, x := range it.Items {
			v := string(x.Member)
			if x.Index != nil {
				v = fmt.Sprintf("%d=%s%s%s", *x.Index, x.Value, x.Old, x.New)
			}
			s = append(s, v)
		}
		return fmt.Sprintf("%d:%s", it.Count, strings.Join(s, ","))
	}
	d := ds["l:trim"]
	if d.List == nil || *d.List != (diff.ListEnds{HeadRemoved: 100, TailAdded: 5}) || items(d.Removed) != "100:0=e0,1=e1,2=e2,3=e3,4=e4,5=e5,6=e6,7=e7,8=e8,9=e9" || items(d.Added) != "5:1900=t0,1901=t1,1902=t2,1903=t3,1904=t4" {
		t.Errorf("l:trim: %+v %s %s", d.List, items(d.Removed), items(d.Added))
	}
	d = ds["l:edit"]
	if d.List != nil || items(d.Changed) != "3:10=e10X10,500=e500X500,1999=e1999X1999" || items(d.Added) != "3:2000=p1,2001=p2,2002=p3" || d.Removed != nil {
		t.Errorf("l:edit: %+v %s %s", d.List, items(d.Changed), items(d.Added))
	}
	d = ds["l:push"]
	if d.List == nil || *d.List != (diff.ListEnds{HeadAdded: 7}) || items(d.Added) != "7:0=h0,1=h1,2=h2,3=h3,4=h4,5=h5,6=h6" {
		t.Errorf("l:push: %+v %s", d.List, items(d.Added))
	}
	d = ds["l:unrelated"]
	if d.List != nil || d.Changed.Count != 990 || d.Removed.Count != 10 || d.OldLen != 1000 || d.NewLen != 990 {
		t.Errorf("l:unrelated: %+v", d)
	}
	d = ds["s:big"]
	if items(d.Removed) != "20:m0000,m0001,m0002,m0003,m0004,m0005,m0006,m0007,m0008,m0009" || items(d.Added) != "15:n0000,n0001,n0002,n0003,n0004,n0005,n0006,n0007,n0008,n0009" || d.OldLen != 3000 || d.NewLen != 2995 {
		t.Errorf("s:big: %+v", d)
	}
	d = ds["z:big"]
	if d.Changed.Count != 12 || d.Removed.Count != 5 || d.Added.Count != 9 || string(d.Changed.Items[0].Member) != "z0001" || *d.Changed.Items[0].NewScore != 1.5 || *d.Changed.Items[0].OldScore != diff.Score(1.0/3) {
		t.Errorf("z:big: %+v", d)
	}
	d = ds["h:big"]
	if items(d.Changed) != "12:f0005,f0275,f0545,f0815,f1085,f1355,f1625,f1895,f2165,f2435" || items(d.Removed) != "4:f0009,f0759,f1509,f2259" || d.Added.Count != 6 || d.FieldTTL.Count != 8 ||
		string(d.Changed.Items[0].Old) != "v5" || string(d.Changed.Items[0].New) != "v5!" || *d.FieldTTL.Items[0].NewExpireAt-*d.FieldTTL.Items[0].OldExpireAt != 60_000 {
		t.Errorf("h:big: %s %s %+v %+v", items(d.Changed), items(d.Removed), d.Added, d.FieldTTL)
	}
}

// TestHugeHashBoundedMemory: a changed hash of a million fields is
// compared within a small budget (holding either side whole would take
// several times the budget), and the details are right.
func TestHugeHashBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes two 40 MB files")
	}
	const n = 1_000_000
	dir := t.TempDir()
	hash := func(mut bool) genKey {
		return genKey{key: "huge", typ: rdb.TypeHash, count: n, elems: func(add func(rdb.Element) error) error {
			for i := 0; i < n; i++ {
				e := rdb.Element{Member: []byte(fmt.Sprintf("field:%07d", i)), Value: []byte(fmt.Sprintf("value-%d", i))}
				if mut {
					switch i {
					case 17, 500_000, 999_999:
						e.Value = []byte("changed")
					case 3, 777_777:
						e.Member = []byte(fmt.Sprintf("renamed:%07d", i)) // one removed, one added
					}
				}
				if err := add(e); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	small := genKey{key: "small", str: "same"}
	pa := writeRDB(t, dir, "a.rdb", []genKey{hash(false), small})
	pb := writeRDB(t, dir, "b.rdb", []genKey{hash(true), small})

	const budget = 16 << 20
	runtime.GC()
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				done <- peak
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	res, err := diff.Compare(context.Background(), diff.FileInput(pa), diff.FileInput(pb), diff.Options{MemLimit: budget})
	close(stop)
	peak := <-done
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	// The fields alone are 15 MB a side, and in memory (slices, a map)
	// about 200 MB.
	t.Logf("peak heap %.1f MiB with a %d MiB budget", float64(peak)/(1<<20), budget>>20)
	if peak > budget {
		t.Errorf("peak heap %.1f MiB, over the %d MiB budget", float64(peak)/(1<<20), budget>>20)
	}
	var kds []*diff.KeyDiff
	if err := res.Each(func(kd *diff.KeyDiff) error { kds = append(kds, kd); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(kds) != 1 || string(kds[0].Key) != "huge" || kds[0].Kind != diff.ValueChanged || kds[0].Details == nil {
		t.Fatalf("differences: %+v", kds)
	}
	d := kds[0].Details
	b, _ := json.Marshal(d)
	want := `{"old_len":1000000,"new_len":1000000,` +
		`"added":{"count":2,"items":[{"member_b64":"cmVuYW1lZDowMDAwMDAz","value_b64":"dmFsdWUtMw=="},{"member_b64":"cmVuYW1lZDowNzc3Nzc3","value_b64":"dmFsdWUtNzc3Nzc3"}]},` +
		`"removed":{"count":2,"items":[{"member_b64":"ZmllbGQ6MDAwMDAwMw==","value_b64":"dmFsdWUtMw=="},{"member_b64":"ZmllbGQ6MDc3Nzc3Nw==","value_b64":"dmFsdWUtNzc3Nzc3"}]},` +
		`"changed":{"count":3,"items":[{"member_b64":"ZmllbGQ6MDAwMDAxNw==","old_b64":"dmFsdWUtMTc=","new_b64":"Y2hhbmdlZA=="},{"member_b64":"ZmllbGQ6MDUwMDAwMA==","old_b64":"dmFsdWUtNTAwMDAw","new_b64":"Y2hhbmdlZA=="},{"member_b64":"ZmllbGQ6MDk5OTk5OQ==","old_b64":"dmFsdWUtOTk5OTk5","new_b64":"Y2hhbmdlZA=="}]}}`
	if string(b) != want {
		t.Errorf("details\n%s\nwant\n%s", b, want)
	}
}
