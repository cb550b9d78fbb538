package rdb

import "github.com/rdbtool/rdbtool/rdb/compact"

// lzfDecompressAppend appends the n-byte decompression of src to dst.
func lzfDecompressAppend(dst, src []byte, n int) ([]byte, error) {
	if len(dst) == 0 {
		return compact.LZFDecompress(src, n, dst)
	}
	out, err := compact.LZFDecompress(src, n, nil)
	if err != nil {
		return dst, err
	}
	return append(dst, out...), nil
}
