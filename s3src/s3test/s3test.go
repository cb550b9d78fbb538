// Package s3test starts a real S3-compatible server (versitygw, posix
// backend) on 127.0.0.1 for tests. scripts/install-versitygw.sh installs it;
// a test that needs it fails, naming that script, when it is missing.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rdbtool/rdbtool/s3src"
)

// Credentials of the server's root user (test-only values).
const (
	AccessKey = "rdbtool-test-access"
	SecretKey = "rdbtool-test-secret-0123456789"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Dir      string // the posix backend's root: one directory per bucket
}

// Binary finds versitygw in PATH or in $(go env GOPATH)/bin.
func Binary() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	var dirs []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.SplitList(gp)...)
	} else if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.SplitList(strings.TrimSpace(string(out)))...)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("versitygw not found in PATH or GOPATH/bin: run scripts/install-versitygw.sh")
}

// Start runs a fresh versitygw for the test, stopped by t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey,
			"--port", addr, "--region", "us-east-1", "--quiet", "--keep-alive",
			"posix", dir)
		cmd.Env = cleanEnv()
		var logBuf strings.Builder
		cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
		setDeathSignal(cmd)
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting versitygw: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := waitListening(addr, exited); err != nil {
			cmd.Process.Kill()
			lastErr = fmt.Errorf("%v\n%s", err, logBuf.String())
			continue
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		return &Server{Endpoint: "http://" + addr, Dir: dir}
	}
	t.Fatalf("versitygw did not start: %v", lastErr)
	return nil
}

// cleanEnv drops variables versitygw would read in place of its flags.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "VGW_") || strings.HasPrefix(k, "ROOT_") || strings.HasPrefix(k, "AWS_") || k == "LOGFILE" || k == "WEBHOOK" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitListening(addr string, exited <-chan error) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited: %v", err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("versitygw not listening on %s after 15s", addr)
}

// Options returns s3src options for the server with the root user's
// credentials. Tests may change the chunk and part sizes.
func (s *Server) Options() s3src.Options {
	return s3src.Options{
		Endpoint:    s.Endpoint,
		PathStyle:   true,
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	}
}

// Store returns a Store for the server with o's tuning (Endpoint, PathStyle,
// Region and Credentials are filled in when empty).
func (s *Server) Store(t testing.TB, o s3src.Options) *s3src.Store {
	t.Helper()
	def := s.Options()
	if o.Endpoint == "" {
		o.Endpoint, o.PathStyle = def.Endpoint, true
	}
	if o.Region == "" {
		o.Region = def.Region
	}
	if o.Credentials == nil {
		o.Credentials = def.Credentials
	}
	st, err := s3src.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// CreateBucket creates a bucket through the API (the posix backend needs
// its directory made with the bucket's metadata).
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	st := s.Store(t, s3src.Options{})
	if _, err := st.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

// Put stores data as s3://bucket/key with a plain PutObject.
func (s *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	st := s.Store(t, s3src.Options{})
	if _, err := st.Client().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	}); err != nil {
		t.Fatalf("PutObject s3://%s/%s: %v", bucket, key, err)
	}
}
