// Package redistest starts a private redis-server for a test: on a free
// loopback port, in a temporary directory, with persistence off
// (--save "" --appendonly no), optionally loading an RDB file, and stopped
// when the test ends. Tests never talk to a shared or system server.
//
// redis-server and redis-check-rdb must be installed (scripts/test.sh
// installs them); when they are missing the test fails, it is not skipped.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running redis-server owned by one test.
type Server struct {
	Addr    string
	Dir     string
	LogFile string
	cmd     *exec.Cmd
	exited  chan struct{}
	conn    net.Conn
	rd      *bufio.Reader
}

// LookPath returns the path of a Redis program (redis-server, redis-cli,
// redis-check-rdb). Missing, it skips the test under -short outside CI
// and fails it otherwise.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		// A quick local run (-short) without the servers skips what needs
		// them; a full run, and CI always, fails: nothing is proven there
		// without a real server.
		if testing.Short() && os.Getenv("CI") == "" {
			t.Skipf("%s is not installed (-short): run scripts/test.sh, which installs redis-server and redis-tools", name)
		}
		t.Fatalf("%s is not installed: run scripts/test.sh, which installs redis-server and redis-tools (%v)", name, err)
	}
	return p
}

// Version returns the output of redis-server --version.
func Version(t testing.TB) string {
	out, err := exec.Command(LookPath(t, "redis-server"), "--version").Output()
	if err != nil {
		t.Fatalf("redis-server --version: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// Start starts a server. If rdbFile is not "", the server loads a copy of
// it at startup. Extra arguments are passed to redis-server.
func Start(t testing.TB, rdbFile string, args ...string) *Server {
	t.Helper()
	bin := LookPath(t, "redis-server")
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s, err := start(t, bin, port, rdbFile, args)
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	t.Fatalf("redis-server: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartAt is Start on a given port, for a server restarted at the address
// of one that was killed.
func StartAt(t testing.TB, port int, rdbFile string, args ...string) *Server {
	t.Helper()
	s, err := start(t, LookPath(t, "redis-server"), port, rdbFile, args)
	if err != nil {
		t.Fatalf("redis-server on port %d: %v", port, err)
	}
	return s
}

func start(t testing.TB, bin string, port int, rdbFile string, args []string) (*Server, error) {
	dir := t.TempDir()
	if rdbFile != "" {
		if err := copyFile(rdbFile, filepath.Join(dir, "dump.rdb")); err != nil {
			return nil, err
		}
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, LogFile: filepath.Join(dir, "redis.log"), exited: make(chan struct{})}
	argv := append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
		"--logfile", s.LogFile, "--daemonize", "no",
	}, args...)
	s.cmd = exec.Command(bin, argv...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(120 * time.Second)
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("exited during startup (%s); log:\n%s", s.cmd.ProcessState, s.Log())
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("no PONG within 120 s; log:\n%s", s.Log())
		}
		if s.conn == nil {
			c, err := net.DialTimeout("tcp", s.Addr, time.Second)
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			s.conn, s.rd = c, bufio.NewReaderSize(c, 1<<16)
		}
		v, err := s.Do("PING")
		if err == nil && v == "PONG" {
			// The port was free when chosen, but another test's server may
			// have taken it since: make sure the PONG is our child's.
			info, err := s.Do("INFO", "server")
			text, _ := info.([]byte)
			if err != nil || !strings.Contains(string(text), fmt.Sprintf("process_id:%d\r\n", s.cmd.Process.Pid)) {
				s.conn.Close()
				s.conn = nil
				s.stop()
				return nil, fmt.Errorf("port %d: Address already in use (another server answered)", port)
			}
			return s, nil
		}
		var re RedisError
		if err != nil && !errors.As(err, &re) {
			s.conn.Close()
			s.conn = nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log returns the server's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogFile)
	return string(b)
}

// Stop ends the server (also done at test cleanup).
func (s *Server) stop() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// Stop ends the server now.
func (s *Server) Stop() { s.stop() }

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// RedisError is an error reply.
type RedisError string

func (e RedisError) Error() string { return string(e) }

// Do sends one command and returns its reply: string (simple string),
// []byte (bulk, nil for a null bulk), int64, []any (array, nil for a null
// array), or a RedisError.
func (s *Server) Do(args ...any) (any, error) {
	if s.conn == nil {
		return nil, errors.New("not connected")
	}
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		var p []byte
		switch v := a.(type) {
		case []byte:
			p = v
		case string:
			p = []byte(v)
		default:
			p = []byte(fmt.Sprint(v))
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, '\r', '\n')
		b = append(b, p...)
		b = append(b, '\r', '\n')
	}
	s.conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := s.conn.Write(b); err != nil {
		return nil, err
	}
	return s.read()
}

func (s *Server) read() (any, error) {
	line, err := s.rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 {
		return nil, fmt.Errorf("bad reply line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, RedisError(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return []byte(nil), nil
		}
		p := make([]byte, n+2)
		if _, err := io.ReadFull(s.rd, p); err != nil {
			return nil, err
		}
		return p[:n], nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return []any(nil), nil
		}
		out := make([]any, n)
		var firstErr error
		for i := range out {
			out[i], err = s.read()
			if err != nil {
				var re RedisError
				if !errors.As(err, &re) {
					return nil, err
				}
				out[i] = err
				if firstErr == nil {
					firstErr = nil
				}
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply type %q", line)
}

// Refuses starts redis-server on a copy of path and reports whether it
// refused to load the file (it exited), with its log. The server listens
// on a unix socket only, and is stopped once it says it loaded the file.
func Refuses(t testing.TB, path string) (bool, string) {
	t.Helper()
	bin := LookPath(t, "redis-server")
	dir := t.TempDir()
	if err := copyFile(path, filepath.Join(dir, "dump.rdb")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := filepath.Join(dir, "redis.log")
	cmd := exec.CommandContext(ctx, bin, "--port", "0", "--unixsocket", filepath.Join(dir, "s.sock"), "--dir", dir, "--dbfilename", "dump.rdb", "--save", "", "--logfile", log)
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case <-done:
			b, _ := os.ReadFile(log)
			return true, string(b)
		case <-time.After(100 * time.Millisecond):
			b, _ := os.ReadFile(log)
			if strings.Contains(string(b), "DB loaded from disk") {
				cmd.Process.Kill()
				<-done
				return false, string(b)
			}
		}
	}
}

// CheckRDB runs redis-check-rdb on a file and returns its output; err is
// set when the check fails.
func CheckRDB(t testing.TB, path string) (string, error) {
	t.Helper()
	out, err := exec.Command(LookPath(t, "redis-check-rdb"), path).CombinedOutput()
	if err == nil && !strings.Contains(string(out), "RDB looks OK") {
		err = errors.New("redis-check-rdb did not say the RDB looks OK")
	}
	return string(out), err
}
