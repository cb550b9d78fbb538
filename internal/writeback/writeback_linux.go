package writeback

import (
	"os"

	"golang.org/x/sys/unix"
)

// Start asks the kernel to begin writing n bytes of f from off to disk,
// without waiting (sync_file_range with SYNC_FILE_RANGE_WRITE). It is
// advice: an error is ignored, and the writer's fsync reports any.
func Start(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
