package restore

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/rdbtool/rdbtool/rdb"
)

var (
	slotTagsOnce sync.Once
	slotTags     [rdb.ClusterSlots]string
)

// slotTag returns a short string whose slot is slot: "{tag}..." keys land
// in that slot, which temporary keys need to sit beside the key they
// become.
func slotTag(slot int) string {
	slotTagsOnce.Do(func() {
		left := rdb.ClusterSlots
		var buf []byte
		for n := 0; left > 0; n++ {
			buf = strconv.AppendInt(append(buf[:0], "rt"...), int64(n), 36)
			s := rdb.KeySlot(buf) // no braces: the whole name
			if slotTags[s] == "" {
				slotTags[s] = string(buf)
				left--
			}
		}
	})
	return slotTags[slot]
}

// tempKey names the temporary key a value is built under before RENAME:
// in the key's slot, and fixed for a given source position so that a
// resumed run reuses (and first deletes) what an interrupted one left.
func tempKey(key []byte, src int, off int64) []byte {
	return []byte(fmt.Sprintf("{%s}rdbtool:restore:tmp:%d:%d", slotTag(rdb.KeySlot(key)), src, off))
}
