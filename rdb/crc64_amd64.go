package rdb

import "golang.org/x/sys/cpu"

// crcHasCLMUL: PEXTRQ is SSE4.1.
var crcHasCLMUL = cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSE41

//go:noescape
func crc64Fold(crc uint64, p []byte, k *[8]uint64) (lo, hi uint64)
