package restore

// The sync path: an empty standalone target receives the whole snapshot
// the way a replica receives its master's data. This process poses as a
// master: the target is told REPLICAOF this process, connects back, asks
// for a full resynchronisation (PSYNC), and is sent an RDB stream written
// on the fly with rdb.Writer for the target's RDB version from the
// sources (filters, database mapping, expired keys left out). The target
// loads it with its own loader, as fast as it loads a file at startup,
// then REPLICAOF NO ONE makes it a master again.
//
// It is taken only when nothing else can differ from the key-by-key path:
// a standalone target found empty by this run (a full sync replaces the
// whole dataset), no checkpoint, no rate limit, values not forced to
// commands, no TLS (the target would have to reach us over TLS too). If
// the target does not connect back, refuses REPLICAOF, or fails to load
// the stream, the target is detached again and, with MethodAuto, the
// key-by-key path runs instead.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rdbtool/rdbtool/internal/periodic"
	"github.com/rdbtool/rdbtool/rdb"
)

// Method chooses how a standalone target receives the keys.
type Method int

const (
	// MethodKeys writes key by key (RESTORE, SET/MSET, commands).
	MethodKeys Method = iota
	// MethodAuto uses a replication full sync when the target allows it
	// (see Options.Method), else key by key.
	MethodAuto
	// MethodSync uses a replication full sync or fails.
	MethodSync
)

// syncEligible says whether this run may restore by a full sync, and if
// not, why.
func (e *engine) syncEligible() (bool, string) {
	switch {
	case e.cluster:
		return false, "a cluster's nodes cannot be made replicas of this process"
	case e.ep.TLS != nil:
		return false, "the target is reached over TLS"
	case e.ep.Network != "tcp":
		return false, "the target is reached over a unix socket (it connects back to this process over TCP)"
	case e.o.Checkpoint != "":
		return false, "a checkpoint was asked for"
	case e.o.Conflict != Refuse || !e.emptyAtRun:
		return false, "a full sync replaces the whole dataset: the target must be empty (no --replace or --skip-existing)"
	case e.o.Mode != Auto:
		return false, "values are to be sent as commands"
	case e.o.Rate > 0:
		return false, "a rate limit was asked for"
	}
	return true, ""
}

// errSyncNotTaken: the target could not be restored by a sync and was
// left as it was (empty, a master); the key-by-key path may run.
var errSyncNotTaken = errors.New("full sync not possible")

// syncRestore restores the sources by a full sync. An error wrapping
// errSyncNotTaken means the target was left as it was.
func (e *engine) syncRestore(sources []Input) error {
	ctx := e.ctx
	c := e.client(e.ep.DB)
	listen := e.o.SyncListen
	if listen == "" {
		// The address this host has on the way to the target, which the
		// target can therefore reach.
		conn, err := net.DialTimeout("tcp", e.ep.Addr, 5*time.Second)
		if err != nil {
			return fmt.Errorf("%w: %v", errSyncNotTaken, err)
		}
		host, _, _ := net.SplitHostPort(conn.LocalAddr().String())
		conn.Close()
		listen = net.JoinHostPort(host, "0")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("%w: listening on %s for the target: %v", errSyncNotTaken, listen, err)
	}
	defer ln.Close()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	targetHost, _, _ := net.SplitHostPort(e.ep.Addr)

	// A server that fails to load a replication stream exits, while an
	// incomplete transfer is merely retried. So a stream is only ever
	// completed once the sources' checksums have been verified: a damaged
	// source ends it short. The target may load it as it arrives (diskless,
	// the target being empty) when every source is a local file whose
	// checksum a first pass has verified; otherwise it must receive the
	// whole stream before loading (diskless loading off for the restore).
	// The old setting is put back.
	load := "disabled"
	if e.sourcesVerified(sources) {
		load = "on-empty-db"
	}
	if m, err := c.ConfigGet(ctx, "repl-diskless-load").Result(); err == nil {
		if old := m["repl-diskless-load"]; old != "" && old != load {
			if err := c.ConfigSet(ctx, "repl-diskless-load", load).Err(); err != nil {
				if load == "disabled" {
					return fmt.Errorf("%w: the target loads replication streams as they arrive (repl-diskless-load %s) and CONFIG SET failed: %v", errSyncNotTaken, old, err)
				}
			} else {
				defer c.ConfigSet(context.Background(), "repl-diskless-load", old)
			}
		}
	}

	served := make(chan error, 1) // the stream was sent (nil) or failed
	again := make(chan struct{}, 1)
	stats := &syncStats{}
	if e.o.Progress != nil {
		defer e.syncProgress(stats)()
	}
	go e.serveReplica(ln, targetHost, sources, stats, served, again)

	if err := c.Do(ctx, "REPLICAOF", host, port).Err(); err != nil {
		return fmt.Errorf("%w: REPLICAOF %s %s: %v", errSyncNotTaken, host, port, err)
	}
	detach := func() error {
		return c.Do(context.Background(), "REPLICAOF", "NO", "ONE").Err()
	}
	fail := func(err error) error {
		if derr := detach(); derr != nil {
			return fmt.Errorf("%v; REPLICAOF NO ONE also failed: %v: the target is still a replica of %s", err, derr, ln.Addr())
		}
		// A failed full sync leaves the target's dataset empty.
		return fmt.Errorf("%w: %v", errSyncNotTaken, err)
	}
	select {
	case err := <-served:
		if err != nil {
			return fail(err)
		}
	case <-time.After(syncConnectTimeout):
		if stats.connected.Load() {
			err := <-served
			if err != nil {
				return fail(err)
			}
			break
		}
		return fail(fmt.Errorf("the target did not connect back to %s within %v (is this address reachable from it? see --sync-listen)", ln.Addr(), syncConnectTimeout))
	case <-ctx.Done():
		return fail(context.Cause(ctx))
	}
	// Wait until the target has loaded what it was sent.
	lastOK := time.Now()
	for {
		select {
		case <-again:
			return fail(errors.New("the target could not take the stream and asked for it again (see its log)"))
		case <-ctx.Done():
			return fail(context.Cause(ctx))
		case <-time.After(20 * time.Millisecond):
		}
		is, err := c.Info(ctx, "replication").Result()
		if err != nil {
			if _, reply := redisErr(err); !reply && time.Since(lastOK) > syncConnectTimeout {
				return fmt.Errorf("the target stopped answering while loading the stream (%v): see its log", err)
			}
			continue
		}
		lastOK = time.Now()
		info := parseInfo(is)
		if info["master_link_status"] == "up" && info["master_sync_in_progress"] == "0" {
			break
		}
	}
	if err := detach(); err != nil {
		return fmt.Errorf("the target loaded the snapshot, but REPLICAOF NO ONE failed: %v: it is still a replica of %s (which has gone)", err, ln.Addr())
	}
	e.written.Add(stats.keys)
	e.bySync.Add(stats.keys)
	e.bytes.Add(stats.bytes.Load())
	// Function libraries go by FUNCTION LOAD: one the target cannot load
	// is then reported, where in the stream it would stop the server.
	for _, f := range stats.functions {
		e.loadFunction(f.src, f.rec)
	}
	return nil
}

// sourcesVerified checks the CRC-64 trailer of every source against its
// bytes (a checksum pass, without parsing) when all are local files, read
// twice at little cost; false otherwise or when one has no checksum.
func (e *engine) sourcesVerified(sources []Input) bool {
	for _, in := range sources {
		if fi, err := os.Stat(in.Name); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	for _, in := range sources {
		src, _, err := in.Open(e.ctx)
		if err != nil {
			return false
		}
		ok := checksumOK(src)
		src.Close()
		if !ok {
			return false
		}
	}
	return true
}

// checksumOK reports whether r is an RDB file of version 5 or later whose
// last 8 bytes are the non-zero CRC-64 of the bytes before them.
func checksumOK(r io.Reader) bool {
	buf := make([]byte, 1<<20+8)
	var crc uint64
	held := 0 // bytes at the start of buf not yet summed: the last 8 seen
	first := true
	for {
		n, err := io.ReadFull(r, buf[held:])
		n += held
		if first {
			first = false
			if n < 9+8 || !validHeader(buf[:9]) {
				return false
			}
		}
		if n > 8 {
			crc = rdb.CRC64(crc, buf[:n-8])
			copy(buf, buf[n-8:n])
			held = 8
		} else {
			held = n
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			want := binary.LittleEndian.Uint64(buf[:8])
			return held == 8 && want != 0 && want == crc
		}
		if err != nil {
			return false
		}
	}
}

// validHeader: "REDIS" and a version of 5 or more (files with a checksum),
// or "VALKEY".
func validHeader(h []byte) bool {
	if string(h[:6]) == "VALKEY" {
		return true
	}
	v, err := strconv.Atoi(string(h[5:9]))
	return string(h[:5]) == "REDIS" && err == nil && v >= 5
}

// syncProgress prints a progress line every second until the returned
// function is called.
func (e *engine) syncProgress(st *syncStats) func() {
	start := time.Now()
	return periodic.Every(time.Second, func() {
		fmt.Fprintf(e.o.Progress, "restore: full sync: %d keys, %d MiB streamed to the target, %.0fs\n",
			e.keysRead.Load(), st.bytes.Load()>>20, time.Since(start).Seconds())
	})
}

// syncConnectTimeout bounds the wait for the target to connect back.
var syncConnectTimeout = 10 * time.Second

type syncStats struct {
	connected atomic.Bool
	keys      int64
	bytes     atomic.Int64   // of the stream, so far
	functions []syncFunction // to load once the keys are in
}

type syncFunction struct {
	src string
	rec *rdb.Record
}

// errModuleKey ends a sync stream at a module value: a target without the
// module would stop at it, and RESTORE refuses it cleanly per key.
var errModuleKey = errors.New("module values are restored key by key (by RESTORE)")

// serveReplica answers the target's replication handshake on ln and sends
// the stream, reporting on served once the stream is sent or has failed,
// and on again if the target then asks for a second sync.
func (e *engine) serveReplica(ln net.Listener, targetHost string, sources []Input, st *syncStats, served chan<- error, again chan<- struct{}) {
	sent := false
	for {
		conn, err := ln.Accept()
		if err != nil {
			if !sent {
				served <- err
			}
			return
		}
		if h, _, _ := net.SplitHostPort(conn.RemoteAddr().String()); !sameHost(h, targetHost) {
			conn.Close() // not the target
			continue
		}
		st.connected.Store(true)
		if sent {
			again <- struct{}{}
			conn.Close()
			return
		}
		go func() {
			err := e.replicaConn(conn, sources, st)
			served <- err
		}()
		sent = true
	}
}

// sameHost reports whether a connection from the address ip comes from
// target (a name or an address): any loopback address stands for any
// other, and a name stands for what it resolves to.
func sameHost(ip, target string) bool {
	if ip == target || isLoopback(ip) && isLoopback(target) {
		return true
	}
	addrs, err := net.LookupHost(target)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a == ip || isLoopback(ip) && isLoopback(a) {
			return true
		}
	}
	return false
}

func isLoopback(h string) bool {
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback() || h == "localhost"
}

// replicaConn speaks the master's side of the handshake to one replica
// connection, then sends the RDB stream with an EOF mark. The connection
// stays open (acknowledgements are read and dropped) until the target lets
// go of it.
func (e *engine) replicaConn(conn net.Conn, sources []Input, st *syncStats) error {
	br := bufio.NewReader(conn)
	bw := bufio.NewWriterSize(conn, 1<<20)
	for {
		conn.SetReadDeadline(time.Now().Add(syncConnectTimeout))
		args, err := readCommand(br)
		if err != nil {
			conn.Close()
			return fmt.Errorf("replication handshake: %v", err)
		}
		if len(args) == 0 {
			continue
		}
		switch strings.ToUpper(args[0]) {
		case "PING":
			bw.WriteString("+PONG\r\n")
		case "PSYNC", "SYNC":
			conn.SetReadDeadline(time.Time{})
			go io.Copy(io.Discard, br) // REPLCONF ACK ...
			mark := randomHex(40)
			fmt.Fprintf(bw, "+FULLRESYNC %s 0\r\n$EOF:%s\r\n", randomHex(40), mark)
			cw := &countingWriter{w: bw, n: &st.bytes}
			if err := e.writeSyncStream(cw, sources, st); err != nil {
				conn.Close()
				return err
			}
			bw.WriteString(mark)
			if err := bw.Flush(); err != nil {
				conn.Close()
				return fmt.Errorf("sending the stream to the target: %v", err)
			}
			return nil
		default: // AUTH, REPLCONF ...
			bw.WriteString("+OK\r\n")
		}
		if err := bw.Flush(); err != nil {
			conn.Close()
			return err
		}
	}
}

// writeSyncStream writes the sources as one RDB stream for the target:
// keys kept by the filter, not expired, in their mapped databases, with
// their function libraries.
func (e *engine) writeSyncStream(out io.Writer, sources []Input, st *syncStats) error {
	// Uncompressed: the target would only spend time decompressing. The
	// pre-check proved the keys of each source unique per database, so
	// with one source the writer need not check again.
	w, err := rdb.NewWriter(out, rdb.WriterOptions{Target: e.target, Policy: e.o.Policy, NoCompression: true, AllowDuplicateKeys: len(sources) == 1})
	if err != nil {
		return err
	}
	if err := w.WriteDefaultAux("", time.Now().Unix(), 0); err != nil {
		return err
	}
	curDB := -1
	for _, in := range sources {
		if err := e.syncSource(w, in, &curDB, st); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	st.keys = w.Stats().Keys
	if n := w.Stats().DroppedExpiredKeys; n > 0 {
		e.repMu.Lock()
		e.skipped["every hash field had expired"] += n
		e.repMu.Unlock()
	}
	if n := w.Stats().EmptyKeys; n > 0 {
		e.repMu.Lock()
		e.skipped[skipEmpty] += n
		e.repMu.Unlock()
	}
	return nil
}

func (e *engine) syncSource(w *rdb.Writer, in Input, curDB *int, st *syncStats) error {
	name := in.Name
	r, src, err := e.openReader(in)
	if err != nil {
		return err
	}
	defer src.Close()
	now := time.Now().UnixMilli()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := e.ctx.Err(); err != nil {
			return context.Cause(e.ctx)
		}
		switch rec.Kind {
		case rdb.KindFunction:
			st.functions = append(st.functions, syncFunction{name, &rdb.Record{Kind: rdb.KindFunction,
				Function: slices.Clone(rec.Function), FunctionName: slices.Clone(rec.FunctionName), FunctionEngine: slices.Clone(rec.FunctionEngine)}})
		case rdb.KindModuleAux:
			e.note("module aux data in the snapshot is not restored (only module keys are, by RESTORE)")
		case rdb.KindResizeDB:
			// The size hint lets the target size its tables once instead of
			// growing them key by key (filters only make it an overestimate).
			db := e.targetDB(rec.DB)
			if db >= e.ndb {
				continue
			}
			if db != *curDB {
				if err := w.SelectDB(db); err != nil {
					return err
				}
				*curDB = db
			}
			if err := w.ResizeDB(rec.DBSize, rec.ExpiresSize); err != nil {
				return err
			}
		case rdb.KindKey:
			if e.o.Filter != nil && !e.o.Filter(rec) {
				continue
			}
			e.keysRead.Add(1)
			if rec.ExpireAt != 0 && rec.ExpireAt <= now {
				e.skip("expired before the restore")
				continue
			}
			db := e.targetDB(rec.DB)
			if db >= e.ndb {
				return fmt.Errorf("%s: key %q: database %d: the target has %d databases", name, rec.Key, db, e.ndb)
			}
			if db != *curDB {
				if err := w.SelectDB(db); err != nil {
					return err
				}
				*curDB = db
			}
			if rec.Type == rdb.TypeModule && e.o.SkipModules {
				e.skip(skipModule)
				continue
			}
			if rec.Type == rdb.TypeModule {
				return fmt.Errorf("%s: key %q: %w", name, rec.Key, errModuleKey)
			}
			n := w.Stats().Keys
			if err := w.CopyKey(r, rec); err != nil {
				return fmt.Errorf("%s: key %q: %w", name, rec.Key, err)
			}
			if w.Stats().Keys > n {
				if e.syncWritten == nil {
					e.syncWritten = map[int][2]int64{}
				}
				c := e.syncWritten[db]
				if rec.ExpireAt != 0 {
					c[1]++
				} else {
					c[0]++
				}
				e.syncWritten[db] = c
			}
		}
	}
}

// readCommand reads one command of the replica: a RESP array of bulk
// strings, or an inline line.
func readCommand(br *bufio.Reader) ([]string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "*") {
		return strings.Fields(line), nil
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 || n > 64 {
		return nil, fmt.Errorf("bad array header %q", line)
	}
	args := make([]string, 0, n)
	for i := 0; i < n; i++ {
		h, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		h = strings.TrimRight(h, "\r\n")
		l, err := strconv.Atoi(strings.TrimPrefix(h, "$"))
		if !strings.HasPrefix(h, "$") || err != nil || l < 0 || l > 1<<16 {
			return nil, fmt.Errorf("bad bulk header %q", h)
		}
		b := make([]byte, l+2)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, err
		}
		args = append(args, string(b[:l]))
	}
	return args, nil
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
