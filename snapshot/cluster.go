package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rdbtool/rdbtool/s3src"
)

// ClusterOptions configure TakeCluster.
type ClusterOptions struct {
	Options
	// FromReplicas snapshots one healthy replica of each shard instead of
	// its master, to keep the load (the fork, the transfer) off the
	// masters. A shard without a healthy replica is an error.
	FromReplicas bool
	// Parallel is how many shards are snapshotted at once (default 4).
	Parallel int
	// OnOpen, when set, is called with each shard's Reader (shards
	// numbered from 0 in slot order) once its transfer starts, from that
	// shard's goroutine; Reader.Received gives progress.
	OnOpen func(shard int, r *Reader)
}

// Manifest describes a cluster snapshot: one RDB per shard, named as an
// ElastiCache export names its shards (NAME-0001.rdb, ...), in slot order.
type Manifest struct {
	Format       string    `json:"format"` // "rdbtool-cluster-snapshot/1"
	Source       string    `json:"source"`
	Time         time.Time `json:"time"`
	FromReplicas bool      `json:"from_replicas"`
	Shards       []Shard   `json:"shards"`
}

// ManifestFormat names the manifest's layout.
const ManifestFormat = "rdbtool-cluster-snapshot/1"

// Shard is one shard's entry in a Manifest.
type Shard struct {
	File              string    `json:"file"`
	NodeID            string    `json:"node_id"`
	Address           string    `json:"address"`
	Role              string    `json:"role"` // "master" or "replica"
	Slots             [][2]int  `json:"slots"`
	ServerVersion     string    `json:"server_version"`
	RDBVersion        int       `json:"rdb_version"`
	Bytes             int64     `json:"bytes"`
	SHA256            string    `json:"sha256"`
	Keys              int64     `json:"keys"`
	ReplicationID     string    `json:"replication_id"`
	ReplicationOffset int64     `json:"replication_offset"`
	Time              time.Time `json:"time"`
	Diskless          bool      `json:"diskless"`
	Checksum          string    `json:"checksum"`
}

// ClusterNames returns the shard names and the manifest name for a set
// written to out: a directory or prefix ending in "/" holds
// snapshot-0001.rdb, ... and snapshot.manifest.json; otherwise out (less
// any .rdb) is the set's NAME.
func ClusterNames(out string, shards int) (files []string, manifest string) {
	base := out
	if strings.HasSuffix(base, "/") {
		base += "snapshot"
	}
	base = strings.TrimSuffix(base, ".rdb")
	for i := 1; i <= shards; i++ {
		files = append(files, fmt.Sprintf("%s-%04d.rdb", base, i))
	}
	return files, base + ".manifest.json"
}

// node is one line of CLUSTER NODES.
type node struct {
	id, addr, master string
	flags            map[string]bool
	connected        bool
	slots            [][2]int
}

// clusterNodes asks the seed for CLUSTER NODES.
func clusterNodes(ctx context.Context, ep *endpoint, o Options) ([]node, error) {
	c, err := dial(ctx, ep, o.Timeout)
	if err != nil {
		return nil, err
	}
	defer c.nc.Close()
	if ep.password != "" {
		args := []string{"AUTH", ep.password}
		if ep.user != "" {
			args = []string{"AUTH", ep.user, ep.password}
		}
		if _, err := c.do(args...); err != nil {
			return nil, fmt.Errorf("%s: authentication failed: %v", ep.name, errText(err))
		}
	}
	text, err := c.do("CLUSTER", "NODES")
	if err != nil {
		if isPerm(err) {
			return nil, permissionError(ep, "CLUSTER NODES", err)
		}
		return nil, fmt.Errorf("%s: CLUSTER NODES (is it a cluster node?): %v", ep.name, errText(err))
	}
	seedHost, _, _ := net.SplitHostPort(ep.addr)
	return parseNodes(text, seedHost)
}

func parseNodes(text, seedHost string) ([]node, error) {
	var nodes []node
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES: malformed line %s", clip(line))
		}
		n := node{id: f[0], master: f[3], flags: map[string]bool{}, connected: f[7] == "connected"}
		addr, _, _ := strings.Cut(f[1], "@")
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("CLUSTER NODES: bad address in %s", clip(line))
		}
		if host == "" {
			host = seedHost
		}
		n.addr = net.JoinHostPort(host, port)
		for _, fl := range strings.Split(f[2], ",") {
			n.flags[fl] = true
		}
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				continue // a slot being migrated or imported
			}
			a, b, isRange := strings.Cut(s, "-")
			lo, err1 := strconv.Atoi(a)
			hi, err2 := lo, error(nil)
			if isRange {
				hi, err2 = strconv.Atoi(b)
			}
			if err1 != nil || err2 != nil || lo < 0 || hi > 16383 || lo > hi {
				return nil, fmt.Errorf("CLUSTER NODES: bad slot range %q", s)
			}
			n.slots = append(n.slots, [2]int{lo, hi})
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// target is one shard to snapshot.
type target struct {
	n     node
	role  string
	slots [][2]int
}

// pickTargets chooses the node of each shard, in slot order.
func pickTargets(nodes []node, fromReplicas bool) ([]target, error) {
	var ts []target
	covered := 0
	for _, m := range nodes {
		if !m.flags["master"] || len(m.slots) == 0 {
			continue
		}
		if m.flags["fail"] || m.flags["fail?"] {
			return nil, fmt.Errorf("master %s (%s) is failing: the cluster is not healthy enough for a complete snapshot", m.id, m.addr)
		}
		for _, s := range m.slots {
			covered += s[1] - s[0] + 1
		}
		sort.Slice(m.slots, func(i, j int) bool { return m.slots[i][0] < m.slots[j][0] })
		t := target{n: m, role: "master", slots: m.slots}
		if fromReplicas {
			found := false
			for _, r := range nodes {
				if r.master == m.id && (r.flags["slave"] || r.flags["replica"]) && !r.flags["fail"] && !r.flags["fail?"] && !r.flags["noaddr"] && r.connected {
					t.n, t.role, found = r, "replica", true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("the shard of master %s (%s) has no healthy replica: snapshot its master (without --from-replicas) or repair it", m.id, m.addr)
			}
		}
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("CLUSTER NODES lists no master with slots")
	}
	if covered != 16384 {
		return nil, fmt.Errorf("the masters serve %d of the 16384 slots: a snapshot would miss keys", covered)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].slots[0][0] < ts[j].slots[0][0] })
	return ts, nil
}

// TakeCluster snapshots every shard of the cluster that seedURL belongs
// to, concurrently, into a shard set named after out (see ClusterNames),
// then writes the manifest. Either the whole set is written, or none of
// it: shards already saved are removed when another fails.
func TakeCluster(ctx context.Context, seedURL, out string, o ClusterOptions) (*Manifest, error) {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	seed, err := parseURL(seedURL, &o.Options)
	if err != nil {
		return nil, err
	}
	nodes, err := clusterNodes(ctx, seed, o.Options)
	if err != nil {
		return nil, err
	}
	targets, err := pickTargets(nodes, o.FromReplicas)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", seed.name, err)
	}
	files, manifestName := ClusterNames(out, len(targets))
	m := &Manifest{Format: ManifestFormat, Source: seed.name, Time: time.Now().UTC(), FromReplicas: o.FromReplicas,
		Shards: make([]Shard, len(targets))}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	saved := make([]bool, len(targets))
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			ep := *seed
			ep.addr = t.n.addr
			if ep.tls != nil && !ep.sni {
				// Verify each node by its own address, not the seed's.
				ep.tls = ep.tls.Clone()
				ep.tls.ServerName, _, _ = net.SplitHostPort(t.n.addr)
			}
			ep.name = "redis://" + t.n.addr
			if ep.tls != nil {
				ep.name = "rediss://" + t.n.addr
			}
			info, err := takeTo(ctx, &ep, files[i], o.Options, func(r *Reader) {
				if o.OnOpen != nil {
					o.OnOpen(i, r)
				}
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("shard %d (%s %s): %w", i+1, t.role, t.n.addr, err)
					cancel(firstErr)
				}
				return
			}
			saved[i] = true
			m.Shards[i] = Shard{File: files[i], NodeID: t.n.id, Address: t.n.addr, Role: t.role, Slots: t.slots,
				ServerVersion: info.ServerVersion, RDBVersion: info.RDBVersion, Bytes: info.Bytes, SHA256: info.SHA256,
				Keys: info.Keys, ReplicationID: info.ReplID, ReplicationOffset: info.ReplOffset, Time: info.Time,
				Diskless: info.Diskless, Checksum: info.Checksum.String()}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = writeManifest(ctx, m, manifestName)
	}
	if firstErr != nil {
		for i, ok := range saved {
			if ok {
				if err := remove(context.WithoutCancel(ctx), files[i]); err != nil {
					firstErr = fmt.Errorf("%w; removing the shard already saved as %s failed: %v", firstErr, files[i], err)
				}
			}
		}
		return nil, firstErr
	}
	return m, nil
}

func takeTo(ctx context.Context, ep *endpoint, out string, o Options, onOpen func(*Reader)) (Info, error) {
	r, err := openEndpoint(ctx, ep, o)
	if err != nil {
		return Info{}, err
	}
	defer r.Close()
	onOpen(r)
	err = Save(ctx, r, out)
	return r.Info(), err
}

func writeManifest(ctx context.Context, m *Manifest, name string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if s3src.IsURL(name) {
		w, err := s3src.Create(ctx, name)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			w.CloseWithError(err)
			return err
		}
		return w.Close()
	}
	return saveFile(bytes.NewReader(b), name)
}
