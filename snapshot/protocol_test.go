package snapshot

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// scriptedMaster answers the handshake the way the replication code of
// old and new servers does, then sends payload in small pieces. It
// records the commands it got. This covers protocol corners a real 7.0
// server does not produce on demand: PSYNC unknown (servers before 2.8),
// keep-alive newlines before each reply, a mark split across reads.
func scriptedMaster(t *testing.T, oldServer, diskless bool, payload []byte) (addr string, got chan []string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got = make(chan []string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.(*net.TCPConn).SetNoDelay(true)
		br := bufio.NewReader(c)
		var cmds []string
		defer func() { got <- cmds }()
		for {
			args, err := readArgs(br)
			if err != nil {
				return
			}
			cmds = append(cmds, strings.Join(args, " "))
			switch strings.ToUpper(args[0]) {
			case "PING":
				c.Write([]byte("+PONG\r\n"))
			case "REPLCONF":
				if oldServer {
					c.Write([]byte("-ERR Unrecognized REPLCONF option: " + args[1] + "\r\n"))
				} else {
					c.Write([]byte("+OK\r\n"))
				}
			case "PSYNC":
				if oldServer {
					c.Write([]byte("-ERR unknown command 'PSYNC'\r\n"))
					continue
				}
				c.Write([]byte("\n\n+FULLRESYNC 0123456789012345678901234567890123456789 4242\r\n"))
				fallthrough
			case "SYNC":
				mark := "abcdefghijabcdefghijabcdefghijabcdefghij"
				c.Write([]byte("\n\n\n"))
				if diskless {
					c.Write([]byte("$EOF:" + mark + "\r\n"))
				} else {
					fmt.Fprintf(c, "$%d\r\n", len(payload))
				}
				for p := payload; len(p) > 0; {
					n := min(len(p), 7)
					if len(p) > 5000 {
						n = 4093 // odd sizes, so the mark's place varies
					}
					if _, err := c.Write(p[:n]); err != nil {
						return
					}
					p = p[n:]
				}
				if diskless {
					c.Write([]byte(mark[:13]))
					time.Sleep(20 * time.Millisecond)
					c.Write([]byte(mark[13:]))
				}
				io.Copy(io.Discard, br) // until the client hangs up
				return
			default:
				c.Write([]byte("-ERR unexpected\r\n"))
			}
		}
	}()
	return l.Addr().String(), got
}

func readArgs(br *bufio.Reader) ([]string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	var n int
	if _, err := fmt.Sscanf(line, "*%d\r\n", &n); err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		if _, err := br.ReadString('\n'); err != nil {
			return nil, err
		}
		s, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		args[i] = strings.TrimSuffix(s, "\r\n")
	}
	return args, nil
}

func TestProtocolCorners(t *testing.T) {
	payload, err := os.ReadFile("../testdata/corpus/redis-7.0.15/main.rdb")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		old, diskless bool
		method        string
	}{
		{false, false, "psync"}, {false, true, "psync"}, {true, false, "sync"}, {true, true, "sync"},
	} {
		name := fmt.Sprintf("old=%v,diskless=%v", tc.old, tc.diskless)
		addr, got := scriptedMaster(t, tc.old, tc.diskless, payload)
		r, err := Open(context.Background(), "redis://"+addr, Options{Timeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out bytes.Buffer
		buf := make([]byte, 1000) // small reads through Read, not WriteTo
		for {
			n, err := r.Read(buf)
			out.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		r.Close()
		info := r.Info()
		if !bytes.Equal(out.Bytes(), payload) {
			t.Errorf("%s: received %d bytes, not the %d sent", name, out.Len(), len(payload))
		}
		if info.Method != tc.method || info.Diskless != tc.diskless || info.Keys == 0 {
			t.Errorf("%s: info %+v", name, info)
		}
		if !tc.old && (info.ReplOffset != 4242 || info.ReplID != "0123456789012345678901234567890123456789") {
			t.Errorf("%s: replication %s %d", name, info.ReplID, info.ReplOffset)
		}
		cmds := <-got
		want := "PING|REPLCONF capa eof capa psync2|REPLCONF rdb-only 1|PSYNC ? -1"
		if tc.old {
			want += "|SYNC"
		}
		if strings.Join(cmds, "|") != want {
			t.Errorf("%s: commands %q, want %q", name, cmds, want)
		}
	}
}
