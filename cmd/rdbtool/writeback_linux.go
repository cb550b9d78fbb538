package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to begin writing n bytes of f from off
// to disk, without waiting (sync_file_range with SYNC_FILE_RANGE_WRITE).
// It is advice: an error is ignored (the fsync before the file is put in
// place reports any).
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
