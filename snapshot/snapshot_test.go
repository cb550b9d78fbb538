package snapshot_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/s3src/s3test"
	"github.com/rdbtool/rdbtool/snapshot"
)

func diskArgs(diskless bool) []string {
	if diskless {
		return []string{"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}
	}
	return []string{"--repl-diskless-sync", "no"}
}

// checkAgainstCorpus proves that the snapshot file holds the corpus's
// keys: its dump lists exactly the keys the corpus expects to be live, and
// a server loaded from it holds their values (redistest.CompareServer).
func checkAgainstCorpus(t *testing.T, snap string, f corpustest.File) {
	t.Helper()
	expected := corpustest.Expected(t, f)
	dumped := dumpKeys(t, snap)
	now := time.Now().UnixMilli()
	for _, e := range expected {
		k := strconv.Itoa(e.DB) + "/" + string(e.KeyB64)
		live := !e.Expired && (e.ExpireAtMs == nil || *e.ExpireAtMs > now+60_000)
		typ, ok := dumped[k]
		switch {
		case live && !ok:
			t.Errorf("key %q (db %d) missing from the snapshot's dump", e.KeyB64, e.DB)
		case live && typ != e.Type:
			t.Errorf("key %q (db %d): type %q in the dump, want %q", e.KeyB64, e.DB, typ, e.Type)
		}
		delete(dumped, k)
	}
	for k := range dumped {
		t.Errorf("key %q in the snapshot is not in the corpus", k)
	}
	srv := redistest.Start(t, snap)
	redistest.CompareServer(t, srv, expected, redistest.CompareOptions{CheckTTL: true})
}

// dumpKeys returns db/key → type of every key in an RDB file, read by
// the JSON Lines exporter (what "rdbtool dump" prints).
func dumpKeys(t *testing.T, name string) map[string]string {
	t.Helper()
	fh, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := rdb.NewReader(fh, rdb.WithName(name))
	var buf bytes.Buffer
	jw := export.NewJSONWriter(&buf)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == rdb.KindKey {
			if err := jw.WriteKey(r, rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	jw.Flush()
	out := map[string]string{}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var line struct {
			DB   int    `json:"db"`
			Key  []byte `json:"key_b64"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		out[strconv.Itoa(line.DB)+"/"+string(line.Key)] = line.Type
	}
	return out
}

func fileSHA(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestSnapshotCorpusToFile(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/main")
	for _, diskless := range []bool{false, true} {
		t.Run("diskless="+strconv.FormatBool(diskless), func(t *testing.T) {
			srv := redistest.Start(t, f.RDB, diskArgs(diskless)...)
			out := filepath.Join(t.TempDir(), "snap.rdb")
			info, err := snapshot.Take(context.Background(), "redis://"+srv.Addr, out, snapshot.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Diskless != diskless || info.Method != "psync" || info.RDBVersion != 10 || info.ServerVersion != "7.0.15" ||
				info.Checksum != rdb.ChecksumVerified || len(info.ReplID) != 40 {
				t.Errorf("info %+v", info)
			}
			if sum := fileSHA(t, out); sum != info.SHA256 {
				t.Errorf("file sha256 %s, info says %s", sum, info.SHA256)
			}
			if fi, _ := os.Stat(out); fi.Size() != info.Bytes {
				t.Errorf("file has %d bytes, info says %d", fi.Size(), info.Bytes)
			}
			keys := int64(len(dumpKeys(t, out)))
			if info.Keys != keys {
				t.Errorf("info counts %d keys, the file has %d", info.Keys, keys)
			}
			checkAgainstCorpus(t, out, f)
			// The server stays a master with no replica left behind.
			if v, _ := srv.Do("INFO", "replication"); !strings.Contains(string(v.([]byte)), "connected_slaves:0") {
				t.Errorf("replicas still attached:\n%s", v)
			}
		})
	}
}

// TestSnapshotForcedSync takes the SYNC path (what servers before 2.8,
// which have no PSYNC, get) against a real 7.0 server by forcing it.
func TestSnapshotForcedSync(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/main")
	for _, diskless := range []bool{false, true} {
		srv := redistest.Start(t, f.RDB, diskArgs(diskless)...)
		out := filepath.Join(t.TempDir(), "snap.rdb")
		info, err := snapshot.Take(context.Background(), "redis://"+srv.Addr, out, snapshot.Options{Sync: true})
		if err != nil {
			t.Fatal(err)
		}
		if info.Method != "sync" || info.Diskless != diskless || info.Keys == 0 {
			t.Errorf("info %+v", info)
		}
		checkAgainstCorpus(t, out, f)
	}
}

func TestSnapshotToS3(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/main")
	s3 := s3test.Start(t)
	s3.CreateBucket(t, "backups")
	o := s3.Options()
	o.PartSize = 5 << 20
	s3src.SetDefaultOptions(o)
	t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })
	for _, diskless := range []bool{false, true} {
		srv := redistest.Start(t, f.RDB, diskArgs(diskless)...)
		url := "s3://backups/prod/main-" + strconv.FormatBool(diskless) + ".rdb"
		info, err := snapshot.Take(context.Background(), "redis://"+srv.Addr, url, snapshot.Options{})
		if err != nil {
			t.Fatal(err)
		}
		local := filepath.Join(t.TempDir(), "fromS3.rdb")
		st, _ := s3src.Default(context.Background())
		rd, err := s3src.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		fh, _ := os.Create(local)
		io.Copy(fh, rd)
		rd.Close()
		fh.Close()
		if sum := fileSHA(t, local); sum != info.SHA256 {
			t.Errorf("object sha256 %s, info says %s", sum, info.SHA256)
		}
		checkAgainstCorpus(t, local, f)
		if ups, err := st.PendingUploads(context.Background(), "s3://backups/"); err != nil || len(ups) != 0 {
			t.Errorf("pending uploads %v, %v", ups, err)
		}
	}
}

// slowServer is a diskless server whose RDB takes about two seconds to
// produce, so that it can be interrupted mid-transfer.
func slowServer(t *testing.T) *redistest.Server {
	f := corpustest.Find(t, "redis-7.0.15/main")
	srv := redistest.Start(t, f.RDB, diskArgs(true)...)
	redistest.MustDo(t, srv, "CONFIG", "SET", "rdb-key-save-delay", "20000") // µs per key
	return srv
}

// killAfter reads from r and kills the server once some bytes have come.
type killAfter struct {
	r      io.Reader
	srv    *redistest.Server
	after  int64 // bytes to let through first
	seen   int64
	killed atomic.Bool
}

func (k *killAfter) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	k.seen += int64(n)
	if n > 0 && k.seen > k.after && !k.killed.Swap(true) {
		k.srv.Kill()
	}
	return n, err
}

func TestSnapshotServerKilledMidTransfer(t *testing.T) {
	for _, dest := range []string{"file", "s3"} {
		t.Run(dest, func(t *testing.T) {
			srv := slowServer(t)
			var out string
			var st *s3src.Store
			if dest == "s3" {
				s3 := s3test.Start(t)
				s3.CreateBucket(t, "killed")
				s3src.SetDefaultOptions(s3.Options())
				t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })
				st, _ = s3src.Default(context.Background())
				out = "s3://killed/snap.rdb"
			} else {
				out = filepath.Join(t.TempDir(), "snap.rdb")
			}
			r, err := snapshot.Open(context.Background(), "redis://"+srv.Addr, snapshot.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			k := &killAfter{r: r, srv: srv}
			err = snapshot.Save(context.Background(), k, out)
			if err == nil || !k.killed.Load() {
				t.Fatalf("save after the server died: %v (killed %v)", err, k.killed.Load())
			}
			t.Logf("error: %v", err)
			if dest == "file" {
				ents, _ := os.ReadDir(filepath.Dir(out))
				if len(ents) != 0 {
					t.Errorf("files left: %v", ents)
				}
				return
			}
			objs, err := st.List(context.Background(), "s3://killed/", true)
			if err != nil || len(objs) != 0 {
				t.Errorf("objects left: %v %v", objs, err)
			}
			if ups, err := st.PendingUploads(context.Background(), "s3://killed/"); err != nil || len(ups) != 0 {
				t.Errorf("pending uploads %v, %v", ups, err)
			}
		})
	}
}

func TestSnapshotConnectionDropped(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/main")
	for _, diskless := range []bool{false, true} {
		srv := redistest.Start(t, f.RDB, diskArgs(diskless)...)
		out := filepath.Join(t.TempDir(), "snap.rdb")
		proxy := redistest.CutProxy(t, srv.Addr, 100_000) // the RDB is 155 kB
		_, err := snapshot.Take(context.Background(), "redis://"+proxy, out, snapshot.Options{})
		if err == nil || !strings.Contains(err.Error(), "closed the connection") {
			t.Errorf("diskless=%v: error %v, want a closed connection", diskless, err)
		}
		if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
			t.Errorf("files left: %v", ents)
		}
	}
}

func TestSnapshotACL(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/main")
	srv := redistest.Start(t, f.RDB, diskArgs(true)...)
	redistest.MustDo(t, srv, "ACL", "SETUSER", "reader", "on", ">pw1", "+@read", "~*")
	redistest.MustDo(t, srv, "ACL", "SETUSER", "backup", "on", ">pw2", "+psync", "+replconf", "+ping")
	dir := t.TempDir()
	_, err := snapshot.Take(context.Background(), "redis://reader:pw1@"+srv.Addr, filepath.Join(dir, "a.rdb"), snapshot.Options{})
	if err == nil || !strings.Contains(err.Error(), `ACL user "reader" may not run`) || !strings.Contains(err.Error(), "+psync +replconf") {
		t.Errorf("user without replication rights: %v", err)
	}
	_, err = snapshot.Take(context.Background(), "redis://backup:wrong@"+srv.Addr, filepath.Join(dir, "b.rdb"), snapshot.Options{})
	if err == nil || !strings.Contains(err.Error(), "authentication failed") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: %v", err)
	}
	out := filepath.Join(dir, "c.rdb")
	info, err := snapshot.Take(context.Background(), "redis://backup:pw2@"+srv.Addr, out, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Keys == 0 {
		t.Errorf("info %+v", info)
	}
	checkAgainstCorpus(t, out, f)
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files: %v", ents)
	}
}

func TestSnapshotTLS(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/main")
	c := redistest.WriteCerts(t, t.TempDir())
	_, addr := redistest.StartTLS(t, f.RDB, c, append(diskArgs(true), "--tls-replication", "yes")...)
	dir := t.TempDir()
	_, err := snapshot.Take(context.Background(), "rediss://"+addr, filepath.Join(dir, "a.rdb"), snapshot.Options{TLS: snapshot.TLSOptions{CAFile: c.CA}})
	if err == nil {
		t.Fatal("no client certificate: no error")
	}
	out := filepath.Join(dir, "b.rdb")
	info, err := snapshot.Take(context.Background(), "rediss://"+addr+"?tls-cert="+c.ClientCert+"&tls-key="+c.ClientKey, out,
		snapshot.Options{TLS: snapshot.TLSOptions{CAFile: c.CA}})
	if err != nil {
		t.Fatal(err)
	}
	if !info.Diskless || info.Keys == 0 {
		t.Errorf("info %+v", info)
	}
	checkAgainstCorpus(t, out, f)
}

func TestSnapshotNotAServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	_, err = snapshot.Open(context.Background(), "redis://"+l.Addr().String(), snapshot.Options{Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "PING: unexpected reply") {
		t.Errorf("err %v", err)
	}
}

// flipProxy forwards one connection to addr, inverting the byte at offset
// at of what the server sends.
func flipProxy(t *testing.T, addr string, at int64) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer s.Close()
		go io.Copy(s, c)
		buf := make([]byte, 32<<10)
		var off int64
		for {
			n, err := s.Read(buf)
			if at >= off && at < off+int64(n) {
				buf[at-off] ^= 0xff
			}
			off += int64(n)
			if _, werr := c.Write(buf[:n]); werr != nil || err != nil {
				return
			}
		}
	}()
	return l.Addr().String()
}

// TestSnapshotCorruptedInTransit: one byte of the RDB changed on the way
// is caught (framing or CRC-64), and nothing is stored.
func TestSnapshotCorruptedInTransit(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/main")
	for _, diskless := range []bool{false, true} {
		srv := redistest.Start(t, f.RDB, diskArgs(diskless)...)
		out := filepath.Join(t.TempDir(), "snap.rdb")
		_, err := snapshot.Take(context.Background(), "redis://"+flipProxy(t, srv.Addr, 90_000), out, snapshot.Options{})
		var re *rdb.Error
		if !errors.As(err, &re) {
			t.Errorf("diskless=%v: error %v, want an *rdb.Error", diskless, err)
		}
		t.Logf("diskless=%v: %v", diskless, err)
		if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
			t.Errorf("files left: %v", ents)
		}
	}
}

// TestSnapshotSilentServer: a server that never answers is given up on
// after Options.Timeout.
func TestSnapshotSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	start := time.Now()
	_, err = snapshot.Open(context.Background(), "redis://"+l.Addr().String(), snapshot.Options{Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "timeout") || time.Since(start) > 10*time.Second {
		t.Errorf("after %v: %v", time.Since(start), err)
	}
}

// TestSnapshotKilledDuringMultipart: the server dies after two 5 MiB parts
// of the upload have gone to S3; the upload is aborted, leaving no object
// and no pending multipart upload.
func TestSnapshotKilledDuringMultipart(t *testing.T) {
	srv := redistest.Start(t, "", append(diskArgs(true), "--enable-debug-command", "yes")...)
	redistest.MustDo(t, srv, "DEBUG", "POPULATE", "200000", "key", "128")
	redistest.MustDo(t, srv, "CONFIG", "SET", "rdbcompression", "no")     // about 30 MB of RDB
	redistest.MustDo(t, srv, "CONFIG", "SET", "rdb-key-save-delay", "20") // µs per key: about 4 s in all
	s3 := s3test.Start(t)
	s3.CreateBucket(t, "killed")
	o := s3.Options()
	o.PartSize, o.UploadConcurrency = 5<<20, 1
	s3src.SetDefaultOptions(o)
	t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })
	st, _ := s3src.Default(context.Background())

	r, err := snapshot.Open(context.Background(), "redis://"+srv.Addr, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	k := &killAfter{r: r, srv: srv, after: 12 << 20}
	done := make(chan error, 1)
	go func() { done <- snapshot.Save(context.Background(), k, "s3://killed/big.rdb") }()
	// While the transfer runs, the upload is a multipart upload in progress.
	sawPending := false
	for deadline := time.Now().Add(time.Minute); !k.killed.Load() && time.Now().Before(deadline); {
		if ups, _ := st.PendingUploads(context.Background(), "s3://killed/"); len(ups) > 0 {
			sawPending = true
		}
		time.Sleep(5 * time.Millisecond)
	}
	err = <-done
	if err == nil || !k.killed.Load() {
		t.Fatalf("save after the server died: %v (killed %v)", err, k.killed.Load())
	}
	t.Logf("error: %v", err)
	if !sawPending {
		t.Errorf("no multipart upload was seen in progress: the test did not reach the case it is about")
	}
	if objs, err := st.List(context.Background(), "s3://killed/", true); err != nil || len(objs) != 0 {
		t.Errorf("objects left: %v %v", objs, err)
	}
	if ups, err := st.PendingUploads(context.Background(), "s3://killed/"); err != nil || len(ups) != 0 {
		t.Errorf("pending uploads %v, %v", ups, err)
	}
}

// TestSnapshotFromAOFCopy follows the README's AOF recipe: a throwaway
// server replays a copy of an AOF directory (RDB preamble and command
// tail), and its snapshot holds the corpus's keys.
func TestSnapshotFromAOFCopy(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/aof-preamble")
	aofDir := filepath.Dir(f.RDB) // the scenario's RDB is the preamble inside the AOF directory
	dir := t.TempDir()
	copyDir := filepath.Join(dir, filepath.Base(aofDir))
	if err := os.MkdirAll(copyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(aofDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(aofDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(copyDir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := redistest.Start(t, "", "--dir", dir, "--appendonly", "yes", "--appenddirname", filepath.Base(aofDir),
		"--appendfilename", filepath.Base(aofDir), "--aof-load-truncated", "yes", "--repl-diskless-sync-delay", "0")
	out := filepath.Join(t.TempDir(), "from-aof.rdb")
	info, err := snapshot.Take(context.Background(), "redis://"+srv.Addr, out, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Keys == 0 {
		t.Fatalf("info %+v", info)
	}
	checkAgainstCorpus(t, out, f)
}

// TestSnapshotRequirePass: a server with requirepass; without the
// password the error says what is missing, and both URL forms work.
func TestSnapshotRequirePass(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/lfu")
	srv := redistest.Start(t, f.RDB, diskArgs(false)...)
	redistest.MustDo(t, srv, "CONFIG", "SET", "requirepass", "s3cret")
	dir := t.TempDir()
	_, err := snapshot.Take(context.Background(), "redis://"+srv.Addr, filepath.Join(dir, "a.rdb"), snapshot.Options{})
	if err == nil || !strings.Contains(err.Error(), "wants a password") {
		t.Errorf("no password: %v", err)
	}
	for i, u := range []string{"redis://:s3cret@" + srv.Addr, "redis://s3cret@" + srv.Addr} {
		info, err := snapshot.Take(context.Background(), u, filepath.Join(dir, strconv.Itoa(i)+".rdb"), snapshot.Options{})
		if err != nil || info.Keys == 0 || strings.Contains(info.Source, "s3cret") {
			t.Errorf("%d: %+v %v", i, info, err)
		}
	}
	_, err = snapshot.Take(context.Background(), "redis://"+srv.Addr, filepath.Join(dir, "p.rdb"), snapshot.Options{Password: "s3cret"})
	if err != nil {
		t.Errorf("Options.Password: %v", err)
	}
}
