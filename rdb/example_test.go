package rdb_test

import (
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"

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
