package restore

import (
	"github.com/rdbtool/rdbtool/rdb"
)

// rawPayload returns the DUMP payload of the reader's current value as the
// file stores it, for a target that loads the file's own RDB version
// (version): the stored type byte and value, nothing decoded or
// re-encoded, then the version and CRC-64. The payload is the caller's to
// keep.
func rawPayload(r *rdb.Reader, version int) ([]byte, error) {
	body, err := r.RawValue()
	if err != nil {
		return nil, err
	}
	// 10 bytes for the trailer; body is only valid until the next read.
	return rdb.AppendDumpTrailer(append(make([]byte, 0, len(body)+10), body...), version), nil
}
