package restore

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// KeySlot returns the Redis Cluster hash slot of key (CRC16 of the key, or
// of its {hash tag}, modulo 16384).
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

// slotMap maps slots to master addresses.
type slotMap struct {
	mu    sync.RWMutex
	owner [16384]string
	addrs []string
}

func (m *slotMap) get(slot int) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.owner[slot]
}

func (m *slotMap) masters() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]string(nil), m.addrs...)
}

// load reads CLUSTER SLOTS through c.
func (m *slotMap) load(c *conn) error {
	r, err := c.do("CLUSTER", "SLOTS")
	if err != nil {
		return err
	}
	if err := r.err(); err != nil {
		return fmt.Errorf("CLUSTER SLOTS on %s: %v (is it a cluster node? leave out --cluster for a standalone server)", c.addr, err)
	}
	seedHost, _, _ := net.SplitHostPort(c.addr)
	var owner [16384]string
	seen := map[string]bool{}
	var addrs []string
	for _, rg := range r.arr {
		if len(rg.arr) < 3 || len(rg.arr[2].arr) < 2 {
			continue
		}
		lo, hi := int(rg.arr[0].n), int(rg.arr[1].n)
		host := string(rg.arr[2].arr[0].str)
		if host == "" || host == "?" {
			host = seedHost
		}
		addr := net.JoinHostPort(host, strconv.FormatInt(rg.arr[2].arr[1].n, 10))
		for s := lo; s <= hi && s < 16384; s++ {
			if s >= 0 {
				owner[s] = addr
			}
		}
		if !seen[addr] {
			seen[addr] = true
			addrs = append(addrs, addr)
		}
	}
	for s, a := range owner {
		if a == "" {
			return fmt.Errorf("cluster at %s: slot %d is not served by any node", c.addr, s)
		}
	}
	m.mu.Lock()
	m.owner, m.addrs = owner, addrs
	m.mu.Unlock()
	return nil
}
