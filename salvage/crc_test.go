package salvage

import (
	"math/rand/v2"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// TestLocateByteErrorBSGSMatchesWalk: the baby-step giant-step search finds
// the byte the one-step walk finds, for changes at the very end, the very
// start and in between of files past the size where it takes over, and
// finds nothing for a syndrome that no single byte explains.
func TestLocateByteErrorBSGSMatchesWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zeros := make([]byte, 1<<20)
	for _, n := range []int64{5 << 20, 9<<20 + 12345} {
		for _, pos := range []int64{n - 1, n - 2, 0, 1, n / 2, rng.Int64N(n), rng.Int64N(n)} {
			e := byte(1 + rng.IntN(255))
			// The syndrome is the checksum of the error pattern: e, then
			// the zero bytes after it.
			syn := crcT0[e]
			for left := n - 1 - pos; left > 0; {
				m := min(left, int64(len(zeros)))
				syn = rdb.CRC64(syn, zeros[:m])
				left -= m
			}
			gotPos, gotDiff, ok := locateByteErrorBSGS(syn, n)
			if !ok || gotPos != pos || gotDiff != e {
				t.Errorf("n %d: BSGS located (%d, %#x, %v), want (%d, %#x)", n, gotPos, gotDiff, ok, pos, e)
			}
			wPos, wDiff, wok := locateByteErrorWalk(syn, n)
			if !wok || wPos != pos || wDiff != e {
				t.Errorf("n %d: walk located (%d, %#x, %v), want (%d, %#x)", n, wPos, wDiff, wok, pos, e)
			}
		}
		syn := rng.Uint64()
		if pos, _, ok := locateByteErrorBSGS(syn, n); ok {
			if wPos, _, wok := locateByteErrorWalk(syn, n); !wok || wPos != pos {
				t.Errorf("n %d: random syndrome %x: BSGS says byte %d, walk says (%d, %v)", n, syn, pos, wPos, wok)
			}
		}
	}
}

func BenchmarkLocateByteError(b *testing.B) {
	const n = 100 << 20
	for i := 0; i < b.N; i++ {
		if _, _, ok := locateByteError(0x0123456789abcdef, n); ok {
			b.Log("a random syndrome matched")
		}
	}
}
