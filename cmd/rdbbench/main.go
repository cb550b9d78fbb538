// Command rdbbench makes the benchmark snapshots and measures rdbtool's
// reader against other RDB readers on them, side by side in one run.
//
//	rdbbench make [--dir D] [--scale small|mixed|all] [--force]
//	rdbbench run  [--file F ...] [--repeat N] [--format md|json] [--tools LIST]
//
// "make" builds the synthetic data set loader from shared/benchdata, fills a
// private redis-server with it and saves the snapshot. "run" times each
// reader in its own child process, so that peak RSS is per tool. See
// BENCHMARKS.md.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

const usage = `usage:
  rdbbench make [--dir D] [--scale small|mixed|all] [--force] [--loader-src DIR]
  rdbbench run  [--file F ...] [--repeat N] [--format md|json] [--tools LIST] [--cpuprofile-dir D] [--rdbtool-bin B]

make   creates the benchmark snapshots (small: -scale 0.1, mixed: -scale 1)
       in D (default $HOME/.cache/rdbtool-bench) with a private redis-server.
run    measures, on each file, each tool in a child process: rdbtool headers
       pass and full decode, hdt3213/rdb parse and memory report,
       redis-check-rdb, redis-server loading the file, and the rdbtool
       commands analyze, convert, diff (against a mutated copy), check from
       disk and from a private S3 server (versitygw), and restore into a
       private redis-server, and snapshot a live redis-server loaded from
       the file (rdbtool snapshot vs redis-cli --rdb); then the issues'
       targets, PASS/FAIL. Default
       files: small.rdb and mixed.rdb from the default dir, when they exist.
       --rdbtool-bin B measures B instead of building ./cmd/rdbtool.
`

// childCmd is the hidden subcommand the run command re-executes itself with.
const childCmd = "__child"

// setupCmd is the hidden subcommand that makes a run's inputs (the mutated
// copy, the S3 upload) in a process of its own: a child started by "run"
// inherits the parent's peak RSS as its own starting ru_maxrss (vfork +
// exec), so the parent has to stay small.
const setupCmd = "__setup"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "make":
		err = cmdMake(os.Args[2:])
	case "run":
		err = cmdRun(os.Args[2:])
	case childCmd:
		err = cmdChild(os.Args[2:])
	case setupCmd:
		err = cmdSetup(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "rdbbench: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rdbbench:", err)
		os.Exit(1)
	}
}

// defaultDir is where the snapshots live unless --dir says otherwise.
func defaultDir() string {
	if d := os.Getenv("RDBTOOL_BENCH_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "rdbtool-bench")
	}
	return filepath.Join(home, ".cache", "rdbtool-bench")
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
