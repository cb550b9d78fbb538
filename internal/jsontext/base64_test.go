package jsontext

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"testing"
)

// AppendBase64 appends what encoding/base64 appends, for random inputs of
// every length 0..200 and some long ones, after a prefix already in dst,
// and in pieces of multiples of 3 bytes.
func TestAppendBase64MatchesEncodingBase64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lengths := []int{1000, 4095, 4096, 4097, 65536 + 7, 1 << 20}
	for n := range 201 {
		lengths = append(lengths, n, n) // two random inputs of each
	}
	for _, n := range lengths {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		want := base64.StdEncoding.AppendEncode([]byte("pre"), src)
		if got := AppendBase64([]byte("pre"), src); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes %x: %q, encoding/base64 %q", n, src, got, want)
		}
		got := []byte("pre")
		for rest := src; len(rest) > 0; {
			k := min(len(rest), 3*(1+rng.IntN(30)))
			got = AppendBase64(got, rest[:k])
			rest = rest[k:]
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes in pieces: %q, encoding/base64 %q", n, got, want)
		}
	}
	for _, s := range []string{"", "\x00", "\xff", "\xff\xff", "\xff\xff\xff", "\x00\x00\x00\x00\x00\x00\x00\x00\x00", "\xff\xff\xff\xff\xff\xff\xff\xff\xff"} {
		if got, want := AppendBase64(nil, []byte(s)), base64.StdEncoding.EncodeToString([]byte(s)); string(got) != want {
			t.Errorf("%x: %q, encoding/base64 %q", s, got, want)
		}
	}
}

func BenchmarkAppendBase64(b *testing.B) {
	for _, n := range []int{12, 20, 40, 100, 1000, 100000} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i * 7)
		}
		dst := make([]byte, 0, base64.StdEncoding.EncodedLen(n))
		b.Run(fmt.Sprint(n, "/encoding-base64"), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				dst = base64.StdEncoding.AppendEncode(dst[:0], src)
			}
		})
		b.Run(fmt.Sprint(n, "/AppendBase64"), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				dst = AppendBase64(dst[:0], src)
			}
		})
	}
}
