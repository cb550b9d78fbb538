package rdb_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

// Read every string key of a file with Next and ReadString.
func ExampleReader_ReadString() {
	f, err := os.Open("../testdata/corpus/redis-7.0.15/lfu.rdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r := rdb.NewReader(f)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if rec.Kind == rdb.KindAux && string(rec.AuxKey) == "redis-ver" {
			fmt.Printf("written by Redis %s, RDB version %d\n", rec.AuxValue, r.Version())
		}
		if rec.Kind != rdb.KindKey || rec.Type != rdb.TypeString || string(rec.Key) != "s1:s:int" {
			continue // Next skips values that are not read
		}
		v, err := r.ReadString()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s = %s (encoding %s, LFU counter %d)\n", rec.Key, v, rec.Encoding, rec.Freq)
	}
	st, _ := r.Checksum()
	fmt.Println("checksum", st)
	// Output:
	// written by Redis 7.0.15, RDB version 10
	// s1:s:int = 12345 (encoding int, LFU counter 7)
	// checksum verified
}

// Count the elements of every collection with Elements.
func ExampleReader_Elements() {
	f, err := os.Open("../testdata/corpus-thirdparty/rdb/listpack.rdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r := rdb.NewReader(f)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if rec.Kind != rdb.KindKey {
			continue
		}
		n := 0
		var first rdb.Element
		for e, err := range r.Elements() {
			if err != nil {
				log.Fatal(err)
			}
			if n == 0 {
				first = e
				first.Member = append([]byte(nil), e.Member...) // valid only until the next element
			}
			n++
		}
		fmt.Printf("%s %s (%s): %d elements, first %q\n", rec.Type, rec.Key, rec.Encoding, n, first.Member)
	}
	// Output:
	// list l (quicklist): 9 elements, first "1"
	// zset z (listpack): 12 elements, first "11"
	// hash h (listpack): 11 elements, first "1"
}

// Read a stream's entries, then its consumer groups.
func ExampleReader_NextStreamEntry() {
	f, err := os.Open("../testdata/corpus-thirdparty/rdb/stream_listoacks_3.rdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r := rdb.NewReader(f)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if rec.Kind != rdb.KindKey || rec.Type != rdb.TypeStream {
			continue
		}
		for {
			e, err := r.NextStreamEntry()
			if err == io.EOF {
				break
			}
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("%s %s:", rec.Key, e.ID)
			for i := 0; i+1 < len(e.Fields); i += 2 {
				fmt.Printf(" %s=%s", e.Fields[i], e.Fields[i+1])
			}
			fmt.Println()
		}
		info, err := r.Stream()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("length %d, last ID %s\n", info.Length, info.LastID)
		for _, g := range info.Groups {
			fmt.Printf("group %s: %d pending, %d consumers\n", g.Name, len(g.Pending), len(g.Consumers))
		}
	}
	// Output:
	// mystream 1704557973866-0: name=Sara surname=OConnor
	// length 1, last ID 1704557973866-0
	// group consumer-group-name: 1 pending, 1 consumers
}

// Decode a DUMP payload (what the DUMP command returns).
func ExampleNewDumpReader() {
	// DUMP of an intset {1, 2, 3} from Redis 7.0 (RDB 10).
	payload, _ := hex.DecodeString("0b0e02000000030000000100020003000a00a5025ce26d6e4d1b")
	r, err := rdb.NewDumpReader(payload)
	if err != nil {
		log.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil {
		log.Fatal(err)
	}
	v, err := r.ReadValue()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Type, rec.Encoding, len(v.Items))
	for _, it := range v.Items {
		fmt.Printf("%s\n", it)
	}
	if _, err := r.Next(); err == io.EOF {
		fmt.Println("end of payload")
	}
	// Output:
	// set intset 3
	// 1
	// 2
	// 3
	// end of payload
}

// Write a file from scratch: aux fields, a database, then keys of three
// types. Values take the encoding the target server would choose.
func ExampleWriter() {
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 11}}) // Redis 7.2
	if err != nil {
		log.Fatal(err)
	}
	w.WriteDefaultAux("", 1700000000, 0)
	w.SelectDB(0)
	w.WriteString(rdb.KeyHeader{Key: []byte("greeting"), ExpireAt: 4102444800000}, []byte("hello"))
	list, _ := w.BeginList(rdb.KeyHeader{Key: []byte("queue")}, 3)
	for _, job := range []string{"a", "b", "c"} {
		list.Add(rdb.Element{Member: []byte(job)})
	}
	list.Close()
	// A hash whose field count is not known up front: -1 (it is spooled).
	hash, _ := w.BeginHash(rdb.KeyHeader{Key: []byte("user:1")}, -1)
	hash.Add(rdb.Element{Member: []byte("name"), Value: []byte("Ada")})
	hash.Add(rdb.Element{Member: []byte("visits"), Value: []byte("42")})
	if err := hash.Close(); err != nil {
		log.Fatal(err)
	}
	// Close writes the end-of-file opcode and checksum; it reports any
	// error of the writes before.
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	r := rdb.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if rec.Kind == rdb.KindKey {
			n, _ := r.ReadShape(rdb.ShapeOptions{})
			fmt.Printf("%s %s (%s), %d elements, expires %d\n", rec.Type, rec.Key, rec.Encoding, n.Elements, rec.ExpireAt)
		}
	}
	fmt.Println(w.Stats().Keys, "keys")
	// Output:
	// string greeting (embstr), 1 elements, expires 4102444800000
	// list queue (listpack), 3 elements, expires 0
	// hash user:1 (listpack), 2 elements, expires 0
	// 3 keys
}

// Transcode a Redis 8.6 snapshot for Redis 7.0 with rdb.Copy. The Policy
// says what may be left out where RDB 10 has no room for it; WriterStats
// counts it.
func ExampleCopy() {
	f, err := os.Open("../testdata/corpus/redis-8.6.3/main.rdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	target, _ := rdb.ParseTarget("redis-7.0")
	var out bytes.Buffer
	w, err := rdb.NewWriter(&out, rdb.WriterOptions{
		Target: target,
		Policy: rdb.DropFieldTTLs | rdb.DowngradeStreams | rdb.DropKeyMeta,
		Now:    func() time.Time { return time.Unix(1700000000, 0) }, // for expired field TTLs
	})
	if err != nil {
		log.Fatal(err)
	}
	// SkipModules: the target server has no module to load module keys.
	if err := rdb.Copy(w, rdb.NewReader(f), rdb.CopyOptions{SkipModules: true}); err != nil {
		log.Fatal(err)
	}
	st := w.Stats()
	fmt.Printf("%v: %d keys, %d field TTLs dropped, %d streams downgraded\n", target, st.Keys, st.DroppedFieldTTLs, st.DowngradedStreams)

	r := rdb.NewReader(bytes.NewReader(out.Bytes()))
	rec, _ := r.Next()
	fmt.Printf("RDB %d, %s=%s\n", r.Version(), rec.AuxKey, rec.AuxValue)
	// Output:
	// RDB 10: 101 keys, 97 field TTLs dropped, 7 streams downgraded
	// RDB 10, redis-ver=7.0.15
}

// Make a DUMP payload for RESTORE from a value held in memory, and decode
// it again as a server would.
func ExampleEncodeDump() {
	v := &rdb.Value{Type: rdb.TypeZSet, ZSet: []rdb.ScoredMember{{Member: []byte("alice"), Score: 3}, {Member: []byte("bob"), Score: 1.5}}}
	target, _ := rdb.ParseTarget("redis-7.0")
	payload, err := rdb.EncodeDump(v, rdb.WriterOptions{Target: target})
	if err != nil {
		log.Fatal(err)
	}
	// payload is the argument of RESTORE key ttl payload on Redis 7.0.
	r, err := rdb.NewDumpReader(payload)
	if err != nil {
		log.Fatal(err)
	}
	rec, _ := r.Next()
	back, _ := r.ReadValue()
	fmt.Println(len(payload), "bytes:", rec.Type, rec.Encoding)
	for _, z := range back.ZSet {
		fmt.Printf("%s %g\n", z.Member, z.Score)
	}
	// Output:
	// 38 bytes: zset listpack
	// bob 1.5
	// alice 3
}

// Take a key's value as the file stores it, with no decoding: with the
// version and checksum appended it is the DUMP payload that a server of
// the file's RDB version accepts.
func ExampleReader_RawValue() {
	f, err := os.Open("../testdata/corpus/redis-7.0.15/lfu.rdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r := rdb.NewReader(f)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if rec.Kind != rdb.KindKey || string(rec.Key) != "s1:s:int" {
			continue
		}
		raw, err := r.RawValue()
		if err != nil {
			log.Fatal(err)
		}
		payload := rdb.AppendDumpTrailer(bytes.Clone(raw), r.Version())
		fmt.Printf("%x\n", payload)
		d, _ := rdb.NewDumpReader(payload)
		d.Next()
		s, _ := d.ReadString()
		fmt.Printf("%s\n", s)
	}
	// Output:
	// 00c139300a009d94ea2793fc08b9
	// 12345
}

// Find the longest list in one pass, counting elements without decoding
// them (ReadShape), then go back to that list alone (ReopenAt) and read
// its elements: a Reader given the file as its ReaderAt can return to any
// record it passed.
func ExampleReader_ReopenAt() {
	f, err := os.Open("../testdata/corpus/redis-7.0.15/main.rdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r := rdb.NewReader(f, rdb.WithReaderAt(f))
	var longest struct {
		offset   int64
		db       int
		elements uint64
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if rec.Kind != rdb.KindKey || rec.Type != rdb.TypeList {
			continue
		}
		s, err := r.ReadShape(rdb.ShapeOptions{})
		if err != nil {
			log.Fatal(err)
		}
		if s.Elements > longest.elements {
			longest.offset, longest.db, longest.elements = rec.Offset, rec.DB, s.Elements
		}
	}
	again, err := r.ReopenAt(longest.offset, longest.db)
	if err != nil {
		log.Fatal(err)
	}
	rec, err := again.Next()
	if err != nil {
		log.Fatal(err)
	}
	n, largest := 0, 0
	for e, err := range again.Elements() {
		if err != nil {
			log.Fatal(err)
		}
		n, largest = n+1, max(largest, len(e.Member))
	}
	fmt.Printf("%s (db %d): %d elements, the longest %d bytes\n", rec.Key, rec.DB, n, largest)
	// Output:
	// s1:list:large (db 0): 702 elements, the longest 38 bytes
}
