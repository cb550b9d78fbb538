package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Issue 17: "rdbtool snapshot" against "redis-cli --rdb", the same
// transfer (a full sync, diskless with no delay) from one private
// redis-server that loaded the file, alternated in one run.

// snapSource is the server both tools snapshot, started once per file.
type snapSource struct {
	s   *server
	c   *respConn
	dir string
	err error
}

var snapSources = map[string]*snapSource{}

func (e *benchEnv) snapshotSource(file string) *snapSource {
	if ss := snapSources[file]; ss != nil {
		return ss
	}
	ss := &snapSource{}
	snapSources[file] = ss
	abs, err := filepath.Abs(file)
	if err != nil {
		ss.err = err
		return ss
	}
	if ss.dir, ss.err = os.MkdirTemp(e.tmp, "snapsrc-"); ss.err != nil {
		return ss
	}
	if ss.err = os.Symlink(abs, filepath.Join(ss.dir, "dump.rdb")); ss.err != nil {
		return ss
	}
	logf("starting the snapshot source server on %s", file)
	if ss.s, ss.err = startServer(e.serverBin, ss.dir, "dump.rdb", filepath.Join(ss.dir, "redis.log")); ss.err != nil {
		return ss
	}
	if ss.c, ss.err = ss.s.waitReady(30 * time.Minute); ss.err != nil {
		return ss
	}
	// Nothing may ever be written over the symlink to the original.
	for _, kv := range [][2]string{{"dbfilename", "never.rdb"}, {"repl-diskless-sync", "yes"}, {"repl-diskless-sync-delay", "0"}} {
		if _, err := ss.c.do(10*time.Second, "CONFIG", "SET", kv[0], kv[1]); err != nil {
			ss.err = fmt.Errorf("CONFIG SET %s: %v", kv[0], err)
			return ss
		}
	}
	return ss
}

// stopSnapshotSources shuts down the servers snapshotSource started.
func stopSnapshotSources() {
	for f, ss := range snapSources {
		if ss.s != nil {
			ss.s.shutdown(ss.c)
		}
		delete(snapSources, f)
	}
}

// runSnapshotTool times one snapshot of the file's server into a
// temporary file: "rdbtool snapshot" (verification on, as always) or
// "redis-cli --rdb". The output must be a non-empty RDB.
func (e *benchEnv) runSnapshotTool(tool, file string) measurement {
	ss := e.snapshotSource(file)
	if ss.err != nil {
		return measurement{Error: ss.err.Error()}
	}
	out := filepath.Join(ss.dir, "out.rdb")
	defer os.Remove(out)
	var m measurement
	if tool == toolSnapshot {
		m = runCLI(e.rdbtool, []string{"snapshot", "--overwrite", "redis://" + ss.s.addr, out}, e.cliEnv(nil), nil)
	} else {
		cli := filepath.Join(filepath.Dir(e.serverBin), "redis-cli")
		if _, err := os.Stat(cli); err != nil {
			cli = "redis-cli"
		}
		host, port, _ := strings.Cut(ss.s.addr, ":")
		m = runCLI(cli, []string{"-h", host, "-p", port, "--rdb", out}, nil, nil)
	}
	if m.Error == "" {
		fi, err := os.Stat(out)
		if err != nil || fi.Size() < 18 {
			m.Error = fmt.Sprintf("no snapshot written (%v)", err)
		} else {
			m.Note = fmt.Sprintf("%d bytes", fi.Size())
		}
	}
	return m
}
