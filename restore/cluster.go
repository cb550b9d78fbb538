package restore

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
)

// KeySlot returns the Redis Cluster hash slot of key (CRC16 of the key, or
// of its {hash tag}, modulo 16384). go-redis routes the commands itself,
// but exports no slot function: temporary and probe keys need one to be
// made in a given slot.
func KeySlot(key []byte) int {
	if i := bytes.IndexByte(key, '{'); i >= 0 {
		if j := bytes.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) & 16383)
}

var crc16tab [256]uint16

func init() {
	for i := 0; i < 256; i++ {
		c := uint16(i) << 8
		for j := 0; j < 8; j++ {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		crc16tab[i] = c
	}
}

func crc16(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c<<8 ^ crc16tab[byte(c>>8)^x]
	}
	return c
}

var (
	slotTagsOnce sync.Once
	slotTags     [16384]string
)

// slotTag returns a short string whose slot is slot: "{tag}..." keys land
// in that slot, which temporary keys need to sit beside the key they
// become.
func slotTag(slot int) string {
	slotTagsOnce.Do(func() {
		left := 16384
		var buf []byte
		for n := 0; left > 0; n++ {
			buf = strconv.AppendInt(append(buf[:0], "rt"...), int64(n), 36)
			s := int(crc16(buf) & 16383)
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
	return []byte(fmt.Sprintf("{%s}rdbtool:restore:tmp:%d:%d", slotTag(KeySlot(key)), src, off))
}
