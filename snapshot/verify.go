package snapshot

import (
	"io"
	"strconv"

	"github.com/rdbtool/rdbtool/internal/display"
	"github.com/rdbtool/rdbtool/rdb"
)

// verifyResult is what the verifier learned from the RDB.
type verifyResult struct {
	end           int64 // offset just past the checksum: the RDB's length
	dialect       string
	version       int
	serverVersion string
	keys          int64
	checksum      rdb.ChecksumStatus
	replID        string
	replOffset    int64
}

// verify reads an RDB from src with rdb.Reader, records only (values are
// skipped, which still checksums them), then drains src so that the
// writer never blocks. It fails on any framing error or checksum mismatch.
func verify(src io.Reader, opts []rdb.Option) (verifyResult, error) {
	var v verifyResult
	r := rdb.NewReader(src, opts...)
	var redisVer, valkeyVer string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return v, err
		}
		switch rec.Kind {
		case rdb.KindKey:
			v.keys++
		case rdb.KindAux:
			switch string(rec.AuxKey) {
			case "redis-ver":
				redisVer = string(rec.AuxValue)
			case "valkey-ver":
				valkeyVer = string(rec.AuxValue)
			case "repl-id":
				v.replID = string(rec.AuxValue)
			case "repl-offset":
				v.replOffset, _ = strconv.ParseInt(string(rec.AuxValue), 10, 64)
			}
		}
	}
	v.end = r.Offset()
	v.version = r.Version()
	v.dialect = r.Dialect().String()
	v.checksum, _ = r.Checksum()
	v.serverVersion = display.Quote(redisVer)
	if valkeyVer != "" {
		v.serverVersion = "valkey-" + display.Quote(valkeyVer)
	}
	io.Copy(io.Discard, src) // anything after the RDB is counted by the caller
	return v, nil
}
