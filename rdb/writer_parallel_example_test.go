package rdb_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"

	"github.com/rdbtool/rdbtool/rdb"
)

// Transcode a file on every core, a large set included: ReadParallel
// hands the set to the workers in parts (Split), each encoded by the
// worker's KeyEncoder (CopyPart), and the sink writes the parts in order
// (WriteEncodedPart), checking the members' repeats across parts. The
// bytes are those a one-goroutine copy writes.
func ExampleKeyEncoder_CopyPart() {
	target := rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}}
	// The input: an aux field and a set of 50,000 members (600 KB).
	var in bytes.Buffer
	src, err := rdb.NewWriter(&in, target)
	if err != nil {
		log.Fatal(err)
	}
	src.WriteAux([]byte("redis-ver"), []byte("7.0.15"))
	set, err := src.BeginSet(rdb.KeyHeader{Key: []byte("members")}, 50_000)
	if err != nil {
		log.Fatal(err)
	}
	for i := range 50_000 {
		set.Add(rdb.Element{Member: fmt.Appendf(nil, "member:%d", i)})
	}
	if err := set.Close(); err != nil {
		log.Fatal(err)
	}
	if err := src.Close(); err != nil {
		log.Fatal(err)
	}

	var out bytes.Buffer
	w, err := rdb.NewWriter(&out, target)
	if err != nil {
		log.Fatal(err)
	}
	const workers = 2
	encs := make([]*rdb.KeyEncoder, workers+1) // by Worker.ID
	for i := range encs {
		encs[i] = w.NewKeyEncoder()
	}
	type result struct {
		part *rdb.EncodedPart
		key  *rdb.EncodedKey
	}
	parts := 0
	r := rdb.NewReader(bytes.NewReader(in.Bytes()))
	err = rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: workers, BufferSize: 64 << 10}, rdb.ParallelHandler[result]{
		Split: w.SplitsValue,
		Work: func(wk *rdb.Worker, rec *rdb.Record, out *result) error {
			switch {
			case rec.Kind != rdb.KindKey:
				return nil // aux fields: the Writer writes its own
			case wk.Inline() && wk.Part() != nil && wk.Part().Index > 0:
				return w.CopyRest(wk.Reader, rec) // every earlier part is written
			case wk.Inline():
				return w.CopyKey(wk.Reader, rec)
			case wk.Part() != nil:
				p := encs[wk.ID].CopyPart(wk, rec)
				out.part = &p
				return nil
			}
			k, err := encs[wk.ID].CopyKey(wk.Reader, rec)
			k.Bytes, k.Key = wk.Keep(k.Bytes), wk.Keep(k.Key)
			out.key = &k
			return err
		},
		Sink: func(res *result) error {
			switch {
			case res.part != nil:
				parts++
				return w.WriteEncodedPart(res.part)
			case res.key != nil:
				return w.WriteEncoded(*res.key)
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	// The same file copied on one goroutine.
	var want bytes.Buffer
	one, err := rdb.NewWriter(&want, target)
	if err != nil {
		log.Fatal(err)
	}
	r = rdb.NewReader(bytes.NewReader(in.Bytes()))
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err == nil && rec.Kind == rdb.KindKey {
			err = one.CopyKey(r, rec)
		}
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := one.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("in parts:", parts > 1, "- same bytes:", bytes.Equal(out.Bytes(), want.Bytes()))
	// Output:
	// in parts: true - same bytes: true
}
