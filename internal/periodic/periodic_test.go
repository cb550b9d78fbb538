package periodic

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestEveryStopsForGood: ticks happen, and none after stop returns.
func TestEveryStopsForGood(t *testing.T) {
	var n atomic.Int64
	stop := Every(time.Millisecond, func() { n.Add(1) })
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stop()
	got := n.Load()
	if got < 3 {
		t.Fatalf("%d ticks in 5 s", got)
	}
	time.Sleep(20 * time.Millisecond)
	if after := n.Load(); after != got {
		t.Errorf("%d ticks after stop returned", after-got)
	}
}
