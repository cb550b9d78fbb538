package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	hdtparser "github.com/hdt3213/rdb/parser"

	"github.com/rdbtool/rdbtool/rdb"
)

// childResult is what a child prints on stdout, one JSON object.
type childResult struct {
	Seconds float64 `json:"seconds"`
	Keys    int64   `json:"keys"`
	Note    string  `json:"note,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// cmdChild runs one in-process reader over one file and reports its time.
// It is run by "rdbbench run" as a separate process so that the parent can
// read its peak RSS.
func cmdChild(args []string) error {
	fs := flag.NewFlagSet(childCmd, flag.ContinueOnError)
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile here")
	outDir := fs.String("out-dir", os.TempDir(), "where a tool that writes a file writes it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: __child [--cpuprofile F] [--out-dir D] TOOL FILE")
	}
	tool, file := fs.Arg(0), fs.Arg(1)
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			pf.Close()
		}()
	}
	var res childResult
	start := time.Now()
	var err error
	switch tool {
	case toolHeaders:
		res.Keys, res.Note, err = walkOurs(file, false)
	case toolFull:
		res.Keys, res.Note, err = walkOurs(file, true)
	case toolFrameLZF:
		res.Keys, res.Note, err = walkFrameLZF(file)
	case toolVerifyCopy:
		var out *os.File
		if out, err = os.CreateTemp(*outDir, "verify-copy-*.rdb"); err == nil {
			defer os.Remove(out.Name()) // after the time is taken
			res.Keys, res.Note, err = verifyCopy(file, out)
		}
	case toolHDT:
		res.Keys, err = walkHDT(file)
	default:
		err = fmt.Errorf("unknown child tool %q", tool)
	}
	res.Seconds = time.Since(start).Seconds()
	if err != nil {
		res.Error = err.Error()
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// walkOurs reads every record of file with rdbtool's reader, CRC on; for
// each key it skips the value (headers pass) or decodes every element.
func walkOurs(file string, full bool) (keys int64, note string, err error) {
	return walkKeys(file, func(r *rdb.Reader, _ *rdb.Record) error {
		if full {
			return r.VerifyValue()
		}
		return r.Skip()
	})
}

// walkFrameLZF is the single-core reader analyze's parallel target is set
// against: every record framed, and every LZF-compressed string value,
// compact blob and quicklist node decompressed (ReadString for strings,
// ReadShape with Deep for the rest, which also walks the decompressed
// blobs), CRC on.
func walkFrameLZF(file string) (keys int64, note string, err error) {
	var s rdb.Shape
	deep := rdb.ShapeOptions{Deep: true}
	return walkKeys(file, func(r *rdb.Reader, rec *rdb.Record) error {
		if rec.Type == rdb.TypeString {
			_, err := r.ReadString()
			return err
		}
		return r.ReadShapeInto(&s, &deep)
	})
}

// walkKeys reads every record of file with rdbtool's reader, CRC on, and
// hands each key's value to value, which must consume it. It returns the
// keys read and the checksum's status.
func walkKeys(file string, value func(*rdb.Reader, *rdb.Record) error) (keys int64, note string, err error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	r := rdb.NewReader(f, rdb.WithName(filepath.Base(file)))
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return keys, "", err
		}
		if rec.Kind != rdb.KindKey {
			continue
		}
		keys++
		if err := value(r, rec); err != nil {
			return keys, "", err
		}
	}
	st, _ := r.Checksum()
	return keys, "checksum " + st.String(), nil
}

// walkHDT parses file with github.com/hdt3213/rdb and a no-op callback.
func walkHDT(file string) (keys int64, err error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	// The decoder wraps its input in a bufio.Reader of its own; give it a
	// large one so it is not held back by 4 KiB reads.
	dec := hdtparser.NewDecoder(bufio.NewReaderSize(f, 256<<10))
	err = dec.Parse(func(o hdtparser.RedisObject) bool {
		keys++
		return true
	})
	return keys, err
}
