package rdb

import "bytes"

// KeySlot is the Redis Cluster hash slot of a key, as slot-info records
// and a cluster's routing use it: CRC16 (XMODEM) of the key, or of the
// part between the first '{' and the next '}' when that part is not
// empty, modulo 16384.
func KeySlot(key []byte) int {
	if i := bytes.IndexByte(key, '{'); i >= 0 {
		if j := bytes.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) & (ClusterSlots - 1))
}

// ClusterSlots is the number of hash slots of a Redis Cluster.
const ClusterSlots = 16384

var crc16tab = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for j := 0; j < 8; j++ {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crc16(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c<<8 ^ crc16tab[byte(c>>8)^x]
	}
	return c
}
