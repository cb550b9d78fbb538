//go:build !amd64

package rdb

const crcHasCLMUL = false

func crc64Fold(crc uint64, p []byte, k *[8]uint64) (lo, hi uint64) {
	panic("rdb: crc64Fold without PCLMULQDQ")
}
