package salvage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// TestRepeatedMemberInALargeSet: members of large collections are checked
// in batches; a repeat is still reported by name, at the offset right
// after the repeated member, as when each member was checked on its own.
func TestRepeatedMemberInALargeSet(t *testing.T) {
	for _, n := range []int{100, 5000} { // below and above batchFrom
		for _, at := range []int{1, n / 2, n - 1} {
			b := []byte("REDIS0010\xfe\x00\x02\x03big")
			b = append(b, 0x80)
			b = binary.BigEndian.AppendUint32(b, uint32(n))
			var wantOff int64
			for i := 0; i < n; i++ {
				m := fmt.Sprintf("m%05d", i)
				if i == at {
					m = "m00000" // repeats the first member
				}
				b = append(append(b, byte(len(m))), m...)
				if i == at {
					wantOff = int64(len(b))
				}
			}
			b = append(b, 0xFF)
			b = binary.LittleEndian.AppendUint64(b, rdb.CRC64(0, b))
			res, err := Scan(bytes.NewReader(b), int64(len(b)), Options{MaxProblems: -1})
			if err != nil {
				t.Fatal(err)
			}
			var got *Problem
			for i := range res.Problems {
				if res.Problems[i].Kind == KeyLost {
					got = &res.Problems[i]
				}
			}
			if got == nil || got.Offset != wantOff || !strings.Contains(got.What, `set member "m00000" appears twice`) {
				t.Errorf("n %d, repeat at %d: problems %v; want the repeat named at offset %d", n, at, res.Problems, wantOff)
			}
		}
	}
}
