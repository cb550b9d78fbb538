package rdb_test

import (
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestKeySlotCorpus checks KeySlot against the slots a real cluster node
// reported for its keys (CLUSTER KEYSLOT, recorded in expected.jsonl).
func TestKeySlotCorpus(t *testing.T) {
	n := 0
	for _, f := range corpustest.Files(t) {
		if f.Name != "redis-7.4.1/cluster" {
			continue
		}
		for _, e := range corpustest.Expected(t, f) {
			if e.Slot != nil {
				n++
				if got := rdb.KeySlot(e.KeyB64); got != *e.Slot {
					t.Errorf("key %q: slot %d, server says %d", e.KeyB64, got, *e.Slot)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no slots in the corpus")
	}
}

func TestKeySlotHashTag(t *testing.T) {
	for _, c := range []struct {
		key, same string
	}{
		{"{user1000}.following", "user1000"},
		{"foo{}{bar}", "foo{}{bar}"}, // an empty tag: the whole key
		{"foo{{bar}}zap", "{bar"},
		{"foo{bar}{zap}", "bar"},
	} {
		if a, b := rdb.KeySlot([]byte(c.key)), rdb.KeySlot([]byte(c.same)); a != b {
			t.Errorf("KeySlot(%q) = %d, want KeySlot(%q) = %d", c.key, a, c.same, b)
		}
	}
	// The reference value of the CRC16 variant Redis Cluster uses.
	if got := rdb.CRC16([]byte("123456789")); got != 0x31C3 {
		t.Errorf("crc16(123456789) = %#x, want 0x31c3", got)
	}
}
