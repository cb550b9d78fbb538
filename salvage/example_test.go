package salvage_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/salvage"
)

// Salvage a file with 32 zeroed bytes in the middle: every key proved
// intact is copied into a new, valid file, and the Result says what was
// lost. Salvage is cautious: keys next to the damage, and keys read after
// it until a record proves where records start again, are reported lost
// rather than trusted.
func ExampleSalvage() {
	f, err := os.Open("testdata/damaged-7.0.15.rdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	res, written, err := salvage.Salvage(f, fi.Size(), &out, salvage.Options{Name: f.Name()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("clean:", res.Clean())
	fmt.Println("checksum mismatch:", res.ChecksumMismatch)
	fmt.Printf("recovered %d keys; lost by name: %d; damaged bytes: %d\n", res.Keys, res.LostCount, res.DamagedBytes)
	for _, k := range res.Lost[:2] {
		fmt.Printf("lost: db %d %q at offset %d\n", k.DB, k.Key, k.Offset)
	}
	fmt.Println(res.Hidden)

	// The salvaged file reads cleanly, checksum included.
	r := rdb.NewReader(bytes.NewReader(out.Bytes()))
	keys := int64(0)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if rec.Kind == rdb.KindKey {
			keys++
		}
	}
	fmt.Println("keys in the salvaged file:", keys, keys == written.Keys)
	// Output:
	// clean: false
	// checksum mismatch: true
	// recovered 1719 keys; lost by name: 287; damaged bytes: 175
	// lost: db 0 "key:1139" at offset 19859
	// lost: db 0 "key:142" at offset 19880
	// 1 keys were wholly inside the damaged bytes (exact: the databases' declared key counts less the keys read)
	// keys in the salvaged file: 1719 true
}
