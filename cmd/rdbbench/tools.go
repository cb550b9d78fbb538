package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rdbtool/rdbtool/s3src"
)

// benchEnv is what the command-line tools need: a temporary directory, the
// rdbtool binary built once per run, and per file the mutated copy (diff)
// and the S3 copy (rdbtool-s3).
type benchEnv struct {
	tmp       string
	rdbtool   string
	serverBin string
	self      string // this program, for __setup
	s3        *s3Server
	hdtMemory string // the hdt3213 memory-report program
	hdtMemErr error

	// Per file.
	mutated   string
	mutateErr error
	s3URL     string
	s3Err     error

	// profile, when set, is where the next rdbtool command writes a CPU
	// profile (RDBTOOL_CPUPROFILE).
	profile string
}

// cliEnv is the environment of an rdbtool command: base (nil: this
// process's) plus the profile request, if any.
func (e *benchEnv) cliEnv(base []string) []string {
	if e.profile == "" {
		return base
	}
	if base == nil {
		base = os.Environ()
	}
	return append(slices.Clip(base), "RDBTOOL_CPUPROFILE="+e.profile)
}

func (e *benchEnv) close() {
	if e.s3 != nil {
		e.s3.stop()
	}
	if e.tmp != "" {
		os.RemoveAll(e.tmp)
	}
}

// buildRdbtool builds ./cmd/rdbtool into the run's temporary directory.
func (e *benchEnv) buildRdbtool() error {
	bin := filepath.Join(e.tmp, "rdbtool")
	logf("building rdbtool into %s", bin)
	cmd := exec.Command("go", "build", "-o", bin, "github.com/rdbtool/rdbtool/cmd/rdbtool")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building rdbtool (run from inside the repository, or pass --rdbtool-bin): %w", err)
	}
	e.rdbtool = bin
	return nil
}

// prepareFile makes what the selected tools need for file: the mutated
// copy and the S3 object. Failures are kept and reported as the tools'
// errors, so the other tools still run.
func (e *benchEnv) prepareFile(file string, needMutated, needS3 bool) {
	if e.mutated != "" {
		os.Remove(e.mutated)
	}
	e.mutated, e.mutateErr, e.s3URL, e.s3Err = "", nil, "", nil
	base := filepath.Base(file)
	if needMutated {
		dst := filepath.Join(e.tmp, strings.TrimSuffix(base, ".rdb")+"-mutated.rdb")
		t0 := time.Now()
		out, err := e.setup("mutate", file, dst)
		if err != nil {
			e.mutateErr = fmt.Errorf("making the mutated copy: %w", err)
			logf("%v", e.mutateErr)
		} else {
			e.mutated = dst
			logf("mutated copy %s in %.1f s: %s", dst, time.Since(t0).Seconds(), out)
			if err := warm(dst); err != nil {
				e.mutateErr = err
			}
		}
	}
	if needS3 {
		if e.s3 == nil {
			var err error
			if e.s3, err = startS3(filepath.Join(e.tmp, "s3")); err != nil {
				e.s3Err = err
				logf("starting versitygw: %v", err)
				return
			}
			logf("versitygw on %s", e.s3.endpoint)
		}
		url := "s3://" + s3Bucket + "/" + base
		t0 := time.Now()
		if _, err := e.setup("s3-upload", e.s3.endpoint, file, url); err != nil {
			e.s3Err = fmt.Errorf("uploading to %s: %w", url, err)
			logf("%v", e.s3Err)
			return
		}
		e.s3URL = url
		logf("uploaded %s in %.1f s", url, time.Since(t0).Seconds())
		// The posix backend keeps the object as a plain file: warm it too.
		warm(filepath.Join(e.s3.dir, s3Bucket, base))
	}
}

// setup runs "rdbbench __setup args..." and returns its output.
func (e *benchEnv) setup(args ...string) (string, error) {
	cmd := exec.Command(e.self, append([]string{setupCmd}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v: %s", err, lastLine(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// cmdSetup is the __setup subcommand:
//
//	__setup mutate SRC DST
//	__setup s3-upload ENDPOINT FILE s3://BUCKET/KEY
func cmdSetup(args []string) error {
	switch {
	case len(args) == 3 && args[0] == "mutate":
		st, err := mutate(args[1], args[2])
		if err != nil {
			return err
		}
		fmt.Println(st)
		return nil
	case len(args) == 4 && args[0] == "s3-upload":
		st, err := s3Store(args[1])
		if err != nil {
			return err
		}
		return upload(st, args[2], args[3])
	}
	return fmt.Errorf("usage: %s mutate SRC DST | s3-upload ENDPOINT FILE URL", setupCmd)
}

// runCLI runs bin with args and times it from start to exit. The exit
// codes in okCodes count as success; stdout goes to w (nil: /dev/null).
func runCLI(bin string, args []string, env []string, w io.Writer, okCodes ...int) measurement {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &errb
	if len(okCodes) == 0 {
		okCodes = []int{0}
	}
	start := time.Now()
	err := cmd.Run()
	m := measurement{Seconds: time.Since(start).Seconds(), PeakRSS: maxRSS(cmd.ProcessState)}
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
		m.CPUSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	ok := false
	for _, c := range okCodes {
		ok = ok || c == code
	}
	if !ok {
		m.Error = fmt.Sprintf("%s: %v: %s", filepath.Base(bin)+" "+strings.Join(args, " "), err, lastLine(errb.String()))
	}
	return m
}

// lineCounter counts the lines written to it.
type lineCounter struct{ n int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

func (e *benchEnv) runAnalyze(file string) measurement {
	return runCLI(e.rdbtool, []string{"analyze", "--format", "json", file}, e.cliEnv(nil), nil)
}

// runDump runs dump (JSON Lines) with its output to /dev/null: a pipe
// read by this process would take CPU from the dump on a small machine.
func (e *benchEnv) runDump(file string, flags ...string) measurement {
	return runCLI(e.rdbtool, append([]string{"dump", file}, flags...), e.cliEnv(nil), nil)
}

func (e *benchEnv) runParquet(file string) measurement {
	out := filepath.Join(e.tmp, "keys.parquet")
	defer os.Remove(out)
	m := runCLI(e.rdbtool, []string{"memory", file, "--format", "parquet", "-o", out, "--overwrite"}, e.cliEnv(nil), nil)
	if fi, err := os.Stat(out); err == nil && m.Error == "" {
		m.Note = fmt.Sprintf("wrote %s bytes", commas(fi.Size()))
	}
	return m
}

func (e *benchEnv) runConvert(file string) measurement {
	out := filepath.Join(e.tmp, "convert-out.rdb")
	defer os.Remove(out)
	// Every convert starts with no dirty pages left by what ran before:
	// writing its 0.9 GB took 0.15 to 2.1 s of kernel time here depending
	// on them (BENCHMARKS.md, issue 19's seventh pass). Not timed.
	syscall.Sync()
	m := runCLI(e.rdbtool, []string{"convert", file, out, "--target-version", "10", "--quiet"}, e.cliEnv(nil), nil)
	if fi, err := os.Stat(out); err == nil && m.Error == "" {
		m.Note = fmt.Sprintf("wrote %s bytes", commas(fi.Size()))
	}
	return m
}

func (e *benchEnv) runDiff(file string) measurement {
	if e.mutateErr != nil {
		return measurement{Error: e.mutateErr.Error()}
	}
	var lc lineCounter
	// Exit status 1 is "the inputs differ", which they do.
	m := runCLI(e.rdbtool, []string{"diff", file, e.mutated, "--format", "jsonl", "--mem-limit", "256M"}, e.cliEnv(nil), &lc, 1)
	if m.Error == "" {
		m.Note = fmt.Sprintf("%d jsonl lines", lc.n)
	}
	return m
}

func (e *benchEnv) runCheck(file string) measurement {
	return runCLI(e.rdbtool, []string{"check", file}, e.cliEnv(nil), nil)
}

// runCheckZeroed checks a copy of file with 20 MiB zeroed from its middle
// (exit 1, damaged, expected). The copy is made once per file.
func (e *benchEnv) runCheckZeroed(file string) measurement {
	dst := filepath.Join(e.tmp, "zeroed-"+filepath.Base(file))
	if _, err := os.Stat(dst); err != nil {
		if err := zeroedCopy(file, dst, 20<<20); err != nil {
			return measurement{Error: err.Error()}
		}
		warm(dst)
	}
	return runCLI(e.rdbtool, []string{"check", "--max-problems", "10", dst}, e.cliEnv(nil), nil, 1)
}

// zeroedCopy copies src to dst with n bytes zeroed from the middle (the
// whole file but its header and trailer when it is smaller).
func zeroedCopy(src, dst string, n int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	size, err := io.Copy(out, in)
	if err == nil {
		start := max(9, size/2-n/2)
		end := min(size-9, start+n)
		_, err = out.WriteAt(make([]byte, max(end-start, 0)), start)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// runS3 runs `rdbtool CMD ARGS... s3://...` against the private versitygw.
func (e *benchEnv) runS3(cmd string, args ...string) measurement {
	if e.s3Err != nil {
		return measurement{Error: e.s3Err.Error()}
	}
	a := append([]string{"--s3-endpoint", e.s3.endpoint, "--s3-path-style", cmd}, args...)
	return runCLI(e.rdbtool, append(a, e.s3URL), e.cliEnv(e.s3.clientEnv()), nil)
}

// runRestore starts an empty private redis-server and times
// `rdbtool restore FILE --target redis://...` into it, start to exit. The
// peak RSS is rdbtool's; the server's is in the note.
func (e *benchEnv) runRestore(file string, wantKeys int64) measurement {
	dir, err := os.MkdirTemp(e.tmp, "restore-")
	if err != nil {
		return measurement{Error: err.Error()}
	}
	defer os.RemoveAll(dir)
	s, err := startServer(e.serverBin, dir, "none.rdb", filepath.Join(dir, "redis.log"))
	if err != nil {
		return measurement{Error: err.Error()}
	}
	defer s.kill()
	c, err := s.waitReady(time.Minute)
	if err != nil {
		return measurement{Error: err.Error()}
	}
	if n, err := c.do(10*time.Second, "DBSIZE"); err != nil || n != int64(0) {
		c.Close()
		return measurement{Error: fmt.Sprintf("new server is not empty (DBSIZE %v, %v)", n, err)}
	}
	m := runCLI(e.rdbtool, []string{"restore", file, "--target", "redis://" + s.addr, "--quiet"}, e.cliEnv(nil), nil)
	return finishServerRun(s, c, m, wantKeys)
}

// runPipe is the route restore is measured against: the RESP export of
// the file piped into redis-cli --pipe, into a fresh empty server, timed
// until both have exited (peak RSS: the shell's largest child).
func (e *benchEnv) runPipe(file string, wantKeys int64) measurement {
	dir, err := os.MkdirTemp(e.tmp, "pipe-")
	if err != nil {
		return measurement{Error: err.Error()}
	}
	defer os.RemoveAll(dir)
	s, err := startServer(e.serverBin, dir, "none.rdb", filepath.Join(dir, "redis.log"))
	if err != nil {
		return measurement{Error: err.Error()}
	}
	defer s.kill()
	c, err := s.waitReady(time.Minute)
	if err != nil {
		return measurement{Error: err.Error()}
	}
	cli := filepath.Join(filepath.Dir(e.serverBin), "redis-cli")
	if _, err := os.Stat(cli); err != nil {
		cli = "redis-cli"
	}
	host, port, _ := strings.Cut(s.addr, ":")
	script := fmt.Sprintf("set -o pipefail; %q dump --format resp %q | %q -h %s -p %s --pipe >/dev/null", e.rdbtool, file, cli, host, port)
	m := runCLI("bash", []string{"-c", script}, nil, nil)
	return finishServerRun(s, c, m, wantKeys)
}

// finishServerRun checks the server's DBSIZE after a restore, stops it
// and notes its peak RSS.
func finishServerRun(s *server, c *respConn, m measurement, wantKeys int64) measurement {
	if v, err := c.do(time.Minute, "DBSIZE"); err == nil {
		if n, ok := v.(int64); ok {
			m.Keys = n
			if m.Error == "" && wantKeys > 0 && n != wantKeys {
				m.Error = fmt.Sprintf("server has %d keys after the restore, the file %d", n, wantKeys)
			}
		}
	}
	srvRSS := s.shutdown(c)
	note := fmt.Sprintf("server peak RSS %s", mib(srvRSS))
	if m.Note != "" {
		note = m.Note + "; " + note
	}
	m.Note = note
	return m
}

// s3Bucket is the bucket rdbbench puts its files in.
const s3Bucket = "rdbbench"

// Credentials of the private versitygw's root user (local, throwaway).
const (
	s3Access = "rdbbench-access"
	s3Secret = "rdbbench-secret-0123456789"
)

// s3Server is a versitygw this program started on a loopback port, with
// the posix backend in dir.
type s3Server struct {
	cmd      *exec.Cmd
	done     chan struct{}
	endpoint string
	dir      string
	log      bytes.Buffer
}

// versitygwBinary finds versitygw in PATH or in $(go env GOPATH)/bin.
func versitygwBinary() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gp := os.Getenv("GOPATH")
	if gp == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gp = strings.TrimSpace(string(out))
		}
	}
	for _, d := range filepath.SplitList(gp) {
		p := filepath.Join(d, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("versitygw not found in PATH or GOPATH/bin (scripts/install-versitygw.sh installs it)")
}

func startS3(dir string) (*s3Server, error) {
	bin, err := versitygwBinary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &s3Server{endpoint: "http://" + addr, dir: dir, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "--access", s3Access, "--secret", s3Secret,
		"--port", addr, "--region", "us-east-1", "--quiet", "--keep-alive", "posix", dir)
	// Leave out variables versitygw would read in place of its flags.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "VGW_") || strings.HasPrefix(k, "ROOT_") || strings.HasPrefix(k, "AWS_") {
			continue
		}
		s.cmd.Env = append(s.cmd.Env, kv)
	}
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	setDeathSignal(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("versitygw exited: %s", lastLine(s.log.String()))
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("versitygw not listening on %s after 15 s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	store, err := s3Store(s.endpoint)
	if err != nil {
		s.stop()
		return nil, err
	}
	if _, err := store.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(s3Bucket)}); err != nil {
		s.stop()
		return nil, fmt.Errorf("CreateBucket: %w", err)
	}
	return s, nil
}

// s3Store is a client of the private versitygw at endpoint.
func s3Store(endpoint string) (*s3src.Store, error) {
	return s3src.New(context.Background(), s3src.Options{
		Endpoint: endpoint, PathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(s3Access, s3Secret, ""),
	})
}

// upload stores file as url with s3src's multipart writer.
func upload(store *s3src.Store, file, url string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := store.Create(context.Background(), url)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, f); err != nil {
		w.CloseWithError(err)
		return err
	}
	return w.Close()
}

// clientEnv is the environment for rdbtool reading from this server.
func (s *s3Server) clientEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "RDBTOOL_S3_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"AWS_ACCESS_KEY_ID="+s3Access, "AWS_SECRET_ACCESS_KEY="+s3Secret,
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true")
}

// stop kills the server by its own pid and waits for it.
func (s *s3Server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.done
}

// loadAvg returns the first three fields of /proc/loadavg, or "".
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
