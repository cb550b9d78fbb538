package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// scale is one of the benchmark snapshots of shared/benchdata/README.md.
type scale struct {
	name   string
	flag   string // the loader's -scale
	keys   int64  // keys in the snapshot
	approx int64  // about this many bytes (Redis 7.0.15 writes exactly ±0)
}

var scales = []scale{
	{"small", "0.1", 520_020, 106_169_973},
	{"mixed", "1", 5_200_200, 911_001_239},
}

func cmdMake(args []string) error {
	fs := flag.NewFlagSet("make", flag.ContinueOnError)
	dir := fs.String("dir", defaultDir(), "directory for the snapshots")
	which := fs.String("scale", "all", "small, mixed or all")
	force := fs.Bool("force", false, "remake files that already look right")
	loaderSrc := fs.String("loader-src", "", "the loader's source (default: shared/benchdata beside the repository)")
	serverBin := fs.String("redis-server", "redis-server", "redis-server binary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var todo []scale
	for _, s := range scales {
		if *which == "all" || *which == s.name {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return fmt.Errorf("--scale must be small, mixed or all, not %q", *which)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	var loader string
	for _, s := range todo {
		out := filepath.Join(*dir, s.name+".rdb")
		if !*force {
			if ok, why := looksRight(out, s); ok {
				logf("%s: already there (%s); --force remakes it", out, why)
				continue
			} else if why != "" {
				logf("%s: remaking: %s", out, why)
			}
		}
		if loader == "" {
			src, err := findLoaderSrc(*loaderSrc)
			if err != nil {
				return err
			}
			tmp, err := os.MkdirTemp("", "rdbbench-loader-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			if loader, err = buildLoader(src, tmp); err != nil {
				return err
			}
		}
		if err := makeOne(*serverBin, loader, *dir, s); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if ok, why := looksRight(out, s); !ok {
			return fmt.Errorf("%s: made, but %s", out, why)
		}
	}
	return nil
}

// looksRight tells whether path is already a finished snapshot of s: its
// size is within 5% of the expected one and it holds exactly s.keys keys
// (counted with a headers pass, which also verifies the CRC).
func looksRight(path string, s scale) (bool, string) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, ""
	}
	if d := fi.Size() - s.approx; d < -s.approx/20 || d > s.approx/20 {
		return false, fmt.Sprintf("%d bytes, want about %d", fi.Size(), s.approx)
	}
	keys, note, err := walkOurs(path, false)
	if err != nil {
		return false, err.Error()
	}
	if keys != s.keys {
		return false, fmt.Sprintf("%d keys, want %d", keys, s.keys)
	}
	return true, fmt.Sprintf("%d bytes, %d keys, %s", fi.Size(), keys, note)
}

// findLoaderSrc finds shared/benchdata: the flag, else ../shared/benchdata
// from the current directory or from any directory above it.
func findLoaderSrc(flagVal string) (string, error) {
	ok := func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "main.go"))
		return err == nil
	}
	if flagVal != "" {
		if !ok(flagVal) {
			return "", fmt.Errorf("--loader-src %s: no main.go there", flagVal)
		}
		return flagVal, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		for _, c := range []string{filepath.Join(d, "shared", "benchdata"), filepath.Join(d, "..", "shared", "benchdata")} {
			if ok(c) {
				return filepath.Clean(c), nil
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", errors.New("cannot find shared/benchdata (the loader's source); pass --loader-src")
}

// buildLoader copies the loader's main.go, go.mod and go.sum (its folder is
// read-only) into tmp and builds it there.
func buildLoader(src, tmp string) (string, error) {
	for _, name := range []string{"main.go", "go.mod", "go.sum"} {
		if err := copyFile(filepath.Join(src, name), filepath.Join(tmp, name)); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(tmp, "loader")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = tmp
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	logf("building the loader from %s", src)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the loader: %w", err)
	}
	return bin, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// makeOne fills a private, empty redis-server with the loader and saves it.
// The server writes to a temporary name in dir, so it can never load an old
// snapshot at start; the result is renamed into place only when complete.
func makeOne(serverBin, loader, dir string, s scale) error {
	final := filepath.Join(dir, s.name+".rdb")
	tmpName := fmt.Sprintf(".%s.rdb.making-%d", s.name, os.Getpid())
	tmpPath := filepath.Join(dir, tmpName)
	os.Remove(tmpPath)
	defer os.Remove(tmpPath)
	logFile := filepath.Join(dir, "rdbbench-make-"+s.name+".log")

	srv, err := startServer(serverBin, dir, tmpName, logFile)
	if err != nil {
		return err
	}
	defer srv.kill() // a no-op once it has shut down
	c, err := srv.waitReady(time.Minute)
	if err != nil {
		return err
	}
	defer c.Close()
	if n, err := c.do(10*time.Second, "DBSIZE"); err != nil || n != int64(0) {
		return fmt.Errorf("new server is not empty (DBSIZE %v, %v)", n, err)
	}

	logf("%s: loading with -scale %s into %s", s.name, s.flag, srv.addr)
	t0 := time.Now()
	ld := exec.Command(loader, "-addr", srv.addr, "-scale", s.flag)
	ld.Stdout, ld.Stderr = os.Stderr, os.Stderr
	if err := ld.Run(); err != nil {
		return fmt.Errorf("loader: %w", err)
	}
	logf("%s: loaded in %.1f s", s.name, time.Since(t0).Seconds())

	n, err := c.do(time.Minute, "DBSIZE")
	if err != nil {
		return err
	}
	if n != s.keys {
		return fmt.Errorf("DBSIZE %v after loading, want %d", n, s.keys)
	}
	t0 = time.Now()
	v, err := c.do(30*time.Minute, "SAVE")
	if err != nil {
		return fmt.Errorf("SAVE: %w", err)
	}
	if v != "OK" {
		return fmt.Errorf("SAVE: %v", v)
	}
	logf("%s: saved in %.1f s", s.name, time.Since(t0).Seconds())
	srv.shutdown(c)
	if err := os.Rename(tmpPath, final); err != nil {
		return err
	}
	fi, err := os.Stat(final)
	if err != nil {
		return err
	}
	logf("%s: %s, %d bytes, %d keys", s.name, final, fi.Size(), s.keys)
	return nil
}
