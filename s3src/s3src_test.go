package s3src_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/s3src/s3test"
	"github.com/rdbtool/rdbtool/source"
)

const corpusFile = "../testdata/corpus/redis-7.4.1/main.rdb"

// small chunks so that the corpus files span several ranged GETs.
var smallChunks = s3src.Options{ChunkSize: 16 << 10, Concurrency: 3, PartSize: 5 << 20}

// setup starts a server with bucket "b" and points the package's default
// Store (used by source.Open) at it.
// inputs opens local files and s3:// objects, as rdbtool's do.
var inputs = source.Openers{s3src.Scheme: s3src.OpenSource}

func setup(t *testing.T, tuning s3src.Options) *s3test.Server {
	t.Helper()
	srv := s3test.Start(t)
	srv.CreateBucket(t, "rdb")
	o := srv.Options()
	o.ChunkSize, o.Concurrency, o.PartSize, o.Retries = tuning.ChunkSize, tuning.Concurrency, tuning.PartSize, tuning.Retries
	s3src.SetDefaultOptions(o)
	t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })
	return srv
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exportJSON opens name through source.Open (local path or s3:// URL) and
// returns the JSON Lines export of every key, verifying the checksum.
func exportJSON(t *testing.T, name string) (string, *source.Source) {
	t.Helper()
	src, err := inputs.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer src.Close()
	r := rdb.NewReader(src, rdb.WithName(name), rdb.WithSize(src.RawSize()))
	var buf bytes.Buffer
	jw := export.NewJSONWriter(&buf)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rec.Kind == rdb.KindKey {
			if err := jw.WriteKey(r, rec); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	if st, _ := r.Checksum(); st != rdb.ChecksumVerified {
		t.Errorf("%s: checksum %v", name, st)
	}
	jw.Flush()
	return buf.String(), src
}

// upload writes data through s3src.Create.
func upload(t *testing.T, url string, data []byte, writeSize int) {
	t.Helper()
	w, err := s3src.Create(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	for len(data) > 0 {
		n := min(writeSize, len(data))
		if _, err := w.Write(data[:n]); err != nil {
			t.Fatalf("write %s: %v", url, err)
		}
		data = data[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close %s: %v", url, err)
	}
}

func TestCorpusFromS3MatchesDisk(t *testing.T) {
	setup(t, smallChunks)
	data := readFile(t, corpusFile)
	upload(t, "s3://rdb/backups/main.rdb", data, 1000)
	want, _ := exportJSON(t, corpusFile)
	got, src := exportJSON(t, "s3://rdb/backups/main.rdb")
	if got != want {
		t.Fatalf("export from S3 differs from disk (%d vs %d bytes)", len(got), len(want))
	}
	if strings.Count(want, "\n") < 50 {
		t.Fatalf("suspiciously few keys: %d", strings.Count(want, "\n"))
	}
	if src.Size != int64(len(data)) || src.Compression != "" {
		t.Errorf("size %d compression %q, want %d and none", src.Size, src.Compression, len(data))
	}
}

func TestCompressedObjects(t *testing.T) {
	setup(t, smallChunks)
	data := readFile(t, corpusFile)
	want, _ := exportJSON(t, corpusFile)
	var gz, zs, l4 bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(data)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(data)
	zw.Close()
	lw := lz4.NewWriter(&l4)
	lw.Write(data)
	lw.Close()
	for _, tc := range []struct {
		name, key string
		body      []byte
	}{
		{"gzip", "c/dump.rdb", gz.Bytes()}, // names say nothing: content decides
		{"zstd", "c/dump.rdb.gz", zs.Bytes()},
		{"lz4", "c/dump-lz4", l4.Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upload(t, "s3://rdb/"+tc.key, tc.body, 4096)
			got, src := exportJSON(t, "s3://rdb/"+tc.key)
			if got != want {
				t.Fatalf("%s: export differs from disk", tc.name)
			}
			if src.Compression != tc.name || src.RawSize() != -1 {
				t.Errorf("compression %q raw size %d", src.Compression, src.RawSize())
			}
		})
	}
}

func TestShardSet(t *testing.T) {
	srv := setup(t, smallChunks)
	files := []string{
		"../testdata/corpus/redis-7.4.1/main.rdb",
		"../testdata/corpus/redis-7.4.1/lfu.rdb",
		"../testdata/corpus/redis-7.4.1/cluster.rdb",
	}
	for i, f := range files {
		srv.Put(t, "rdb", fmt.Sprintf("exports/cache-%04d.rdb", i+1), readFile(t, f))
	}
	srv.Put(t, "rdb", "exports/other-0001.rdb", readFile(t, files[0]))
	srv.Put(t, "rdb", "exports/README.txt", []byte("not a snapshot"))
	srv.Put(t, "rdb", "exports/deeper/cache-0004.rdb", readFile(t, files[0]))
	ctx := context.Background()
	shards := []string{"s3://rdb/exports/cache-0001.rdb", "s3://rdb/exports/cache-0002.rdb", "s3://rdb/exports/cache-0003.rdb"}
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"s3://rdb/exports/cache-*.rdb", shards},
		{"s3://rdb/exports/cache", shards},
		{"s3://rdb/exports/", append(append([]string{}, shards...), "s3://rdb/exports/other-0001.rdb")},
		{"s3://rdb/exports/cache-0002.rdb", shards[1:2]},
		{"s3://rdb/*/cache-000[34].rdb", []string{"s3://rdb/exports/cache-0003.rdb"}},
	} {
		got, err := s3src.Expand(ctx, tc.pattern)
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("Expand(%s) = %v, %v; want %v", tc.pattern, got, err, tc.want)
		}
	}
	if _, err := s3src.Expand(ctx, "s3://rdb/exports/nothing-*.rdb"); err == nil || !strings.Contains(err.Error(), "no objects match") {
		t.Errorf("empty glob: %v", err)
	}
	args, err := s3src.ExpandArgs(ctx, []string{"local.rdb", "s3://rdb/exports/cache-*.rdb", "-"})
	if err != nil || len(args) != 5 || args[0] != "local.rdb" || args[4] != "-" || args[1] != shards[0] {
		t.Errorf("ExpandArgs: %v, %v", args, err)
	}
	// Read as one dataset: every shard's keys, in shard order.
	var all, want strings.Builder
	for i, u := range shards {
		got, _ := exportJSON(t, u)
		all.WriteString(got)
		w, _ := exportJSON(t, files[i])
		want.WriteString(w)
	}
	if all.String() != want.String() {
		t.Error("shard set read from S3 differs from the files")
	}
	// Grouping for ls.
	objs, err := srv.Store(t, s3src.Options{}).List(ctx, "s3://rdb/exports/", true)
	if err != nil {
		t.Fatal(err)
	}
	sets := s3src.GroupShards(objs)
	var names []string
	for _, s := range sets {
		names = append(names, fmt.Sprintf("%s:%d", s.Pattern, len(s.Objects)))
	}
	if got := strings.Join(names, " "); got != "s3://rdb/exports/README.txt:1 s3://rdb/exports/cache-*.rdb:3 s3://rdb/exports/deeper/cache-0004.rdb:1 s3://rdb/exports/other-0001.rdb:1" {
		t.Errorf("groups: %s", got)
	}
}

// faultyTransport cuts the bodies of the first n ranged GETs after cut bytes.
type faultyTransport struct {
	base     http.RoundTripper
	cut      int64
	n        atomic.Int64
	injected atomic.Int64
}

func (f *faultyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(req)
	if err == nil && req.Method == http.MethodGet && req.Header.Get("Range") != "" && f.n.Add(-1) >= 0 {
		f.injected.Add(1)
		resp.Body = &cutBody{rc: resp.Body, left: f.cut}
	}
	return resp, err
}

type cutBody struct {
	rc   io.ReadCloser
	left int64
}

func (c *cutBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("read tcp: connection reset by peer (injected)")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cutBody) Close() error { return c.rc.Close() }

func TestReadResumesAfterBrokenTransfer(t *testing.T) {
	srv := setup(t, smallChunks)
	data := make([]byte, 3<<20+12345)
	rand.Read(data)
	srv.Put(t, "rdb", "big.bin", data)

	ft := &faultyTransport{base: http.DefaultTransport.(*http.Transport).Clone(), cut: 100000}
	ft.n.Store(6) // several chunks break, some twice in a row
	st := srv.Store(t, s3src.Options{ChunkSize: 1 << 20, Concurrency: 2, HTTPClient: &http.Client{Transport: ft}})
	r, err := st.Open(context.Background(), "s3://rdb/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data differs after resumed transfers")
	}
	if r.Resumes() < 6 || ft.injected.Load() != 6 {
		t.Errorf("resumes %d, injected %d; want 6 each", r.Resumes(), ft.injected.Load())
	}

	// A transfer that keeps failing gives up with the cause.
	ft.cut = 0 // no progress at all
	ft.n.Store(1 << 30)
	st = srv.Store(t, s3src.Options{ChunkSize: 1 << 20, Retries: 2, HTTPClient: &http.Client{Transport: ft}})
	r2, err := st.Open(context.Background(), "s3://rdb/big.bin")
	if err == nil {
		_, err = io.ReadAll(r2)
		r2.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Errorf("persistent failure: %v", err)
	}
}

func TestErrors(t *testing.T) {
	srv := setup(t, smallChunks)
	srv.Put(t, "rdb", "k.rdb", readFile(t, corpusFile))
	ctx := context.Background()

	_, err := inputs.Open(ctx, "s3://rdb/missing.rdb")
	if !errors.Is(err, source.ErrNotFound) || !strings.Contains(err.Error(), "no such object") {
		t.Errorf("missing key: %v", err)
	}
	_, err = inputs.Open(ctx, "s3://nobucket/k.rdb")
	if !errors.Is(err, source.ErrNotFound) || !strings.Contains(err.Error(), `bucket "nobucket" does not exist`) {
		t.Errorf("missing bucket: %v", err)
	}
	for _, tc := range []struct{ name, access, secret, code string }{
		{"wrong secret", s3test.AccessKey, "not-the-secret-value", "SignatureDoesNotMatch"},
		{"unknown key id", "AKIANOBODY", s3test.SecretKey, "InvalidAccessKeyId"},
	} {
		st := srv.Store(t, s3src.Options{Credentials: credentials.NewStaticCredentialsProvider(tc.access, tc.secret, "")})
		_, err := st.Open(ctx, "s3://rdb/k.rdb")
		var e *s3src.Error
		if !errors.As(err, &e) || e.Kind != s3src.KindAccessDenied || !strings.Contains(err.Error(), "access denied for GetObject") {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if strings.Contains(err.Error(), tc.secret) || strings.Contains(err.Error(), s3test.SecretKey) {
			t.Errorf("%s: the message shows a secret: %v", tc.name, err)
		}
		if _, err := st.Create(ctx, "s3://rdb/new.rdb"); err != nil {
			t.Fatal(err)
		}
		w, _ := st.Create(ctx, "s3://rdb/new.rdb")
		w.Write([]byte("REDIS0011"))
		if err := w.Close(); err == nil || !strings.Contains(err.Error(), "access denied for") {
			t.Errorf("%s: upload: %v", tc.name, err)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	// A client signing for another region.
	st := srv.Store(t, s3src.Options{Region: "eu-west-3"})
	_, err = st.Open(ctx, "s3://rdb/k.rdb")
	t.Logf("wrong region: %v (%+v)", err, err)
	var e *s3src.Error
	if !errors.As(err, &e) || (e.Kind != s3src.KindWrongRegion && e.Kind != s3src.KindAccessDenied) {
		t.Errorf("wrong region: %v", err)
	}
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

func TestUploadRoundTrip(t *testing.T) {
	srv := setup(t, smallChunks)
	for _, size := range []int{0, 1000, 12<<20 + 777} { // empty, one PutObject, multipart
		data := make([]byte, size)
		rand.Read(data)
		url := fmt.Sprintf("s3://rdb/out/%d.bin", size)
		upload(t, url, data, 64<<10)
		r, err := s3src.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || sum(got) != sum(data) || r.Size() != int64(size) {
			t.Fatalf("%d bytes: read back %d bytes, %v", size, len(got), err)
		}
	}
	_ = srv
}

// assertNothingLeft checks that key exists neither as an object nor as a
// pending multipart upload.
func assertNothingLeft(t *testing.T, st *s3src.Store, key string) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("rdb"), Key: aws.String(key)}); err == nil {
		t.Errorf("%s: object exists after a failed upload", key)
	}
	lo, err := st.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("rdb"), Prefix: aws.String(key)})
	if err != nil || len(lo.Contents) != 0 {
		t.Errorf("%s: listed %d objects, %v", key, len(lo.Contents), err)
	}
	mu, err := st.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("rdb")})
	if err != nil || len(mu.Uploads) != 0 {
		t.Errorf("pending multipart uploads: %d, %v", len(mu.Uploads), err)
	}
}

func TestFailedUploadLeavesNothing(t *testing.T) {
	srv := setup(t, smallChunks)
	st := srv.Store(t, s3src.Options{PartSize: 5 << 20})
	chunk := make([]byte, 1<<20)
	rand.Read(chunk)

	// Aborted by the writer after three parts went up.
	w, err := st.Create(context.Background(), "s3://rdb/fail/aborted.rdb")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 17; i++ {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.CloseWithError(errors.New("conversion failed")); err != nil {
		t.Fatalf("abort: %v", err)
	}
	assertNothingLeft(t, st, "fail/aborted.rdb")

	// Interrupted: the context is cancelled midway.
	ctx, cancel := context.WithCancel(context.Background())
	w, err = st.Create(ctx, "s3://rdb/fail/cancelled.rdb")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		w.Write(chunk)
	}
	cancel()
	w.Write(chunk)
	if err := w.Close(); err == nil {
		t.Fatal("Close after cancel succeeded")
	}
	assertNothingLeft(t, st, "fail/cancelled.rdb")

	// Small enough for one PutObject: nothing is sent at all.
	w, _ = st.Create(context.Background(), "s3://rdb/fail/small.rdb")
	w.Write(chunk[:1000])
	w.Abort()
	assertNothingLeft(t, st, "fail/small.rdb")
}

// TestOpenPrefix reads the first bytes of an object with one ranged GET,
// and names an empty object as such.
func TestOpenPrefix(t *testing.T) {
	srv := setup(t, smallChunks)
	data := readFile(t, corpusFile)
	srv.Put(t, "rdb", "h/plain.rdb", data)
	srv.Put(t, "rdb", "h/empty.rdb", nil)
	st := srv.Store(t, s3src.Options{})
	for _, n := range []int64{1, 100, int64(len(data)), int64(len(data)) + 100} {
		body, err := st.OpenPrefix(context.Background(), "s3://rdb/h/plain.rdb", n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(body)
		body.Close()
		want := data[:min(n, int64(len(data)))]
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("first %d bytes: got %d bytes (%v), want %d", n, len(got), err, len(want))
		}
	}
	if _, err := st.OpenPrefix(context.Background(), "s3://rdb/h/empty.rdb", 100); err == nil || !strings.Contains(err.Error(), "empty object") {
		t.Errorf("empty object: %v", err)
	}
}
