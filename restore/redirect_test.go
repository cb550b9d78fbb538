package restore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/clustertest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestRestoreClusterRedirects: while a restore runs, one slot moves to
// another master (its keys then get MOVED from the node the restore
// started with) and another is left migrating (its new keys get ASK).
// Every key still arrives, each where the cluster wants it.
func TestRestoreClusterRedirects(t *testing.T) {
	c := clustertest.Start(t)
	const n = 4000
	file := makeRDB(t, n, 0, 0)
	// Two late keys whose slots no earlier key uses (so those slots are
	// still empty when they change hands).
	early := map[int]bool{}
	for i := 0; i < n-200; i++ {
		early[rdb.KeySlot([]byte(fmt.Sprintf("str:%06d", i)))] = true
		if i%10 == 0 {
			early[rdb.KeySlot([]byte(fmt.Sprintf("list:%06d", i)))] = true
			early[rdb.KeySlot([]byte(fmt.Sprintf("hash:%06d", i)))] = true
		}
	}
	var keys []string
	var slots []int
	for i := n - 150; i < n && len(keys) < 2; i++ {
		k := fmt.Sprintf("str:%06d", i)
		s := rdb.KeySlot([]byte(k))
		if !early[s] && (len(slots) == 0 || slots[0] != s) {
			keys, slots = append(keys, k), append(slots, s)
		}
	}
	if len(keys) < 2 {
		t.Fatal("no late keys in unused slots")
	}
	ids := make([]string, 3)
	for i, nd := range c.Nodes {
		id, err := nd.Do("CLUSTER", "MYID")
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = string(redistest.AsBytes(id))
	}
	owner := func(slot int) int {
		for i, r := range clustertest.Ranges {
			if slot >= r[0] && slot <= r[1] {
				return i
			}
		}
		return -1
	}
	must := func(i int, args ...any) {
		t.Helper()
		if _, err := c.Nodes[i].Do(args...); err != nil {
			t.Fatalf("node %d %v: %v", i, args, err)
		}
	}
	moved, movedFrom := slots[0], owner(slots[0])
	movedTo := (movedFrom + 1) % 3
	asked, askFrom := slots[1], owner(slots[1])
	askTo := (askFrom + 1) % 3

	done := make(chan struct{})
	var rep *Report
	var err error
	go func() {
		defer close(done)
		rep, err = Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + c.Addrs()[0], Cluster: true,
			Rate: 2500, Workers: 2, Pipeline: 32, Verify: true})
	}()
	// Once writing has begun, the restore's slot map is the old one.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var held int64
		for _, nd := range c.Nodes {
			held += dbsize(t, nd)
		}
		if held >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restore wrote nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// MOVED: the slot goes to another master, as redis-cli --cluster
	// reshard does it for an empty slot.
	must(movedTo, "CLUSTER", "SETSLOT", moved, "IMPORTING", ids[movedFrom])
	must(movedFrom, "CLUSTER", "SETSLOT", moved, "MIGRATING", ids[movedTo])
	must(movedTo, "CLUSTER", "SETSLOT", moved, "NODE", ids[movedTo])
	must(movedFrom, "CLUSTER", "SETSLOT", moved, "NODE", ids[movedTo])
	must(3-movedFrom-movedTo, "CLUSTER", "SETSLOT", moved, "NODE", ids[movedTo])
	// ASK: the slot is migrating; new keys belong to the importing node.
	must(askTo, "CLUSTER", "SETSLOT", asked, "IMPORTING", ids[askFrom])
	must(askFrom, "CLUSTER", "SETSLOT", asked, "MIGRATING", ids[askTo])
	select {
	case <-done:
		t.Fatal("the restore ended before the slots changed hands: raise n")
	default:
	}
	<-done
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if want := int64(n + n/5); rep.Written != want || rep.Verify == nil || rep.Verify.Matched != want {
		t.Errorf("written %d, verified %+v, want %d", rep.Written, rep.Verify, want)
	}
	for i, k := range keys {
		to := []int{movedTo, askTo}[i]
		if i == 1 {
			must(to, "ASKING")
		}
		if v, _ := c.Nodes[to].Do("EXISTS", k); v != int64(1) {
			t.Errorf("%s (slot %d) is not on node %d", k, slots[i], to)
		}
	}
	t.Logf("slot %d moved from node %d to %d, slot %d migrating from node %d to %d", moved, movedFrom, movedTo, asked, askFrom, askTo)
}
