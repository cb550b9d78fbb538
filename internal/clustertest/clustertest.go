// Package clustertest starts a private three-master Redis Cluster on
// loopback for a test: three redis-server processes (see redistest) with
// --cluster-enabled yes, slots assigned with CLUSTER ADDSLOTSRANGE and the
// nodes joined with CLUSTER MEET, ready once every node reports
// cluster_state:ok and sees all three masters. The servers stop when the
// test ends.
package clustertest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/redistest"
)

// Cluster is a running three-master cluster.
type Cluster struct {
	Nodes []*redistest.Server
}

// Ranges are the slot ranges of the three masters.
var Ranges = [3][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}

// Start starts the cluster. Extra arguments go to every redis-server.
func Start(t testing.TB, args ...string) *Cluster {
	t.Helper()
	c := &Cluster{}
	for i := 0; i < 3; i++ {
		a := append([]string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"}, args...)
		c.Nodes = append(c.Nodes, redistest.Start(t, "", a...))
	}
	for i, n := range c.Nodes {
		if _, err := n.Do("CLUSTER", "ADDSLOTSRANGE", Ranges[i][0], Ranges[i][1]); err != nil {
			t.Fatalf("node %d: CLUSTER ADDSLOTSRANGE: %v", i, err)
		}
	}
	for _, n := range c.Nodes[1:] {
		host, port, _ := net.SplitHostPort(n.Addr)
		if _, err := c.Nodes[0].Do("CLUSTER", "MEET", host, port); err != nil {
			t.Fatalf("CLUSTER MEET %s: %v", n.Addr, err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok := true
		for _, n := range c.Nodes {
			info, err := n.Do("CLUSTER", "INFO")
			s, _ := info.([]byte)
			if err != nil || !strings.Contains(string(s), "cluster_state:ok") || !strings.Contains(string(s), "cluster_known_nodes:3") {
				ok = false
				break
			}
			slots, err := n.Do("CLUSTER", "SLOTS")
			if l, _ := slots.([]any); err != nil || len(l) != 3 {
				ok = false
				break
			}
		}
		if ok {
			return c
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, n := range c.Nodes {
				info, _ := n.Do("CLUSTER", "INFO")
				fmt.Fprintf(&b, "node %d %s:\n%s\n", i, n.Addr, info)
			}
			t.Fatalf("cluster not ready within 60 s:\n%s", b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Addr)
	}
	return out
}

// NodeFor returns the node that owns slot.
func (c *Cluster) NodeFor(slot int) *redistest.Server {
	for i, r := range Ranges {
		if slot >= r[0] && slot <= r[1] {
			return c.Nodes[i]
		}
	}
	return nil
}
