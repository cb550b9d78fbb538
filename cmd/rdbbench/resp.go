package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// respConn is the least client that talking to our own private redis-server
// needs: send a command, read one reply.
type respConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialRESP(addr string, timeout time.Duration) (*respConn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &respConn{c: c, r: bufio.NewReader(c)}, nil
}

func (rc *respConn) Close() error { return rc.c.Close() }

// respError is an error reply from the server ("-LOADING ...").
type respError string

func (e respError) Error() string { return string(e) }

// do sends a command and reads its reply: string, int64, []any, nil or a
// respError.
func (rc *respConn) do(timeout time.Duration, args ...string) (any, error) {
	if err := rc.c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(rc.c, b.String()); err != nil {
		return nil, err
	}
	return rc.reply()
}

func (rc *respConn) reply() (any, error) {
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty RESP line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return respError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rc.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = rc.reply(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected RESP reply %q", line)
}

// freePort returns a loopback TCP port that nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// server is a redis-server process this program started itself, on a
// private loopback port. Nothing here ever talks to any other server.
type server struct {
	cmd  *exec.Cmd
	addr string
	log  string
	done chan struct{}
	err  error
}

// startServer starts redis-server in the foreground (not daemonized, so it is
// our child and its rusage is ours to read) with persistence off.
func startServer(bin, dir, dbfilename, logfile string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{addr: fmt.Sprintf("127.0.0.1:%d", port), log: logfile, done: make(chan struct{})}
	s.cmd = exec.Command(bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--protected-mode", "yes",
		"--save", "", "--appendonly", "no",
		"--dir", dir, "--dbfilename", dbfilename,
		"--logfile", logfile, "--daemonize", "no")
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitReady polls until PING answers PONG and INFO persistence says
// loading:0; it returns the first connection that saw that.
func (s *server) waitReady(limit time.Duration) (*respConn, error) {
	deadline := time.Now().Add(limit)
	for {
		if s.exited() {
			return nil, fmt.Errorf("redis-server exited early (%v); see %s", s.err, s.log)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("redis-server not ready after %v", limit)
		}
		c, err := dialRESP(s.addr, time.Second)
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		for !s.exited() && time.Now().Before(deadline) {
			v, err := c.do(5*time.Second, "PING")
			if err != nil {
				break
			}
			if v != "PONG" {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			info, err := c.do(5*time.Second, "INFO", "persistence")
			if err != nil {
				break
			}
			if str, ok := info.(string); ok && strings.Contains(str, "loading:0") {
				return c, nil
			}
			time.Sleep(5 * time.Millisecond)
		}
		c.Close()
	}
}

// shutdown sends SHUTDOWN NOSAVE over c and waits for the process to exit,
// killing it (by its own pid) if it does not. It returns the process's
// peak RSS in bytes.
func (s *server) shutdown(c *respConn) int64 {
	if c != nil {
		c.do(10*time.Second, "SHUTDOWN", "NOSAVE") // the connection just closes
		c.Close()
	}
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	return maxRSS(s.cmd.ProcessState)
}

// kill stops a server we started, by its pid.
func (s *server) kill() {
	if s.exited() {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// maxRSS returns a finished process's peak resident set in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss) * 1024 // Linux reports KiB
	}
	return 0
}
