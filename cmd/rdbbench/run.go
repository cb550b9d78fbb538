package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rdbtool/rdbtool/internal/display"
)

// The tools "run" measures, in the order they are run and reported.
const (
	toolHeaders = "rdbtool-headers"
	toolFull    = "rdbtool-full"
	// Issue 19: the single-core walk analyze on every core is set against.
	toolFrameLZF   = "rdbtool-frame-lzf"
	toolHDT        = "hdt3213"
	toolCheckRDB   = "redis-check-rdb"
	toolServerLoad = "redis-server-load"
	// Issue 4: memory report.
	toolAnalyze   = "rdbtool-analyze"
	toolHDTMemory = "hdt3213-memory"
	// Issue 3: conversion.
	toolConvert = "rdbtool-convert"
	// Issue 19: the least a convert that checks what it copies does here
	// (verifycopy.go), beside convert.
	toolVerifyCopy = "rdbtool-verify-copy"
	// Issue 6: diff, and analyze of the mutated copy it is measured against.
	toolAnalyzeMutated = "rdbtool-analyze-mutated"
	toolDiff           = "rdbtool-diff"
	// Issue 5: reading from S3 against reading from disk, both `rdbtool check`.
	toolCheck     = "rdbtool-check"
	toolCheckS3   = "rdbtool-s3"
	toolAnalyzeS3 = "rdbtool-analyze-s3"
	// Issue 7: restoring into a server, and the pipe route it is measured against.
	toolRestore = "rdbtool-restore"
	toolPipe    = "redis-cli-pipe"
	// Issue 17: a snapshot of a live server, against redis-cli --rdb.
	toolSnapshot = "rdbtool-snapshot"
	toolCliRDB   = "redis-cli-rdb"
	// Issue 18: per-key Parquet export, measured against analyze.
	toolParquet = "rdbtool-parquet"
	// Issue 21: check of a copy with 20 MiB zeroed in its middle, against
	// rdbtool-check of the intact file.
	toolCheckZeroed = "rdbtool-check-zeroed"
	// Issue 19: dump (JSON Lines) on every core, against the one-goroutine
	// dump (--jobs 1) that every command was before it.
	toolDump     = "rdbtool-dump"
	toolDumpJobs = "rdbtool-dump-jobs1"
)

var allTools = []string{
	toolHeaders, toolFull, toolFrameLZF, toolHDT, toolCheckRDB, toolServerLoad,
	toolAnalyze, toolHDTMemory, toolConvert, toolVerifyCopy, toolAnalyzeMutated, toolDiff,
	toolCheck, toolCheckS3, toolAnalyzeS3, toolRestore, toolPipe,
	toolCliRDB, toolSnapshot, toolParquet, toolCheckZeroed, toolDump, toolDumpJobs,
}

// needs lists the tools a tool's target is measured against; "run" adds
// them when they were left out of --tools.
var needs = map[string][]string{
	toolDiff:        {toolAnalyze, toolAnalyzeMutated},
	toolCheckS3:     {toolCheck},
	toolAnalyzeS3:   {toolAnalyze},
	toolRestore:     {toolServerLoad, toolPipe},
	toolSnapshot:    {toolCliRDB},
	toolParquet:     {toolAnalyze},
	toolCheckZeroed: {toolCheck},
	toolDump:        {toolDumpJobs},
	toolConvert:     {toolVerifyCopy},
}

// cliTools run the rdbtool binary built for the run.
var cliTools = map[string]bool{
	toolAnalyze: true, toolConvert: true, toolAnalyzeMutated: true, toolDiff: true,
	toolCheck: true, toolCheckS3: true, toolAnalyzeS3: true, toolRestore: true, toolPipe: true,
	toolSnapshot:    true,
	toolParquet:     true,
	toolCheckZeroed: true,
	toolDump:        true,
	toolDumpJobs:    true,
}

var toolLabel = map[string]string{
	toolHeaders:        "rdbtool headers pass (Next+Skip, CRC on)",
	toolFull:           "rdbtool full decode (VerifyValue, CRC on)",
	toolFrameLZF:       "rdbtool framing + LZF walk (ReadString, ReadShape Deep; one core)",
	toolHDT:            "hdt3213/rdb v1.3.2 parse, no-op callback",
	toolCheckRDB:       "redis-check-rdb",
	toolServerLoad:     "redis-server load (start to ready)",
	toolAnalyze:        "rdbtool analyze --format json",
	toolHDTMemory:      "hdt3213/rdb v1.3.2 memory report (helper.MemoryProfile, CSV)",
	toolConvert:        "rdbtool convert --target-version 10",
	toolVerifyCopy:     "every value verified on every core beside a durable copy of the file (convert's floor)",
	toolAnalyzeMutated: "rdbtool analyze --format json, mutated copy",
	toolDiff:           "rdbtool diff FILE MUTATED --format jsonl --mem-limit 256M",
	toolCheck:          "rdbtool check FILE (disk)",
	toolCheckS3:        "rdbtool check s3://… (local versitygw)",
	toolAnalyzeS3:      "rdbtool analyze --format json s3://… (local versitygw)",
	toolRestore:        "rdbtool restore into an empty redis-server",
	toolPipe:           "rdbtool dump --format resp piped into redis-cli --pipe, empty redis-server",
	toolCliRDB:         "redis-cli --rdb from a live redis-server (diskless)",
	toolSnapshot:       "rdbtool snapshot from a live redis-server (diskless, verified)",
	toolParquet:        "rdbtool memory --format parquet -o FILE",
	toolCheckZeroed:    "rdbtool check, copy with 20 MiB zeroed in the middle",
	toolDump:           "rdbtool dump (JSON Lines, every core)",
	toolDumpJobs:       "rdbtool dump --jobs 1 (JSON Lines, one goroutine)",
}

// Targets from the issues.
const (
	targetFullVsHDT  = 5.0      // full decode throughput ≥ 5× hdt3213's
	targetPeakRSS    = 64 << 20 // rdbtool peak RSS ≤ 64 MiB
	targetHeadersBps = 1e9      // headers pass ≥ 1 GB/s

	targetSnapshotVsCli    = 1.2       // issue 17: snapshot ≤ 1.2× the time of redis-cli --rdb
	targetAnalyzeBps       = 1e9       // issue 4: analyze ≥ 1 GB/s
	targetAnalyzeSpeedup   = 10.0      // issue 4: ≥ 10× faster than hdt3213-memory and redis-server load
	targetAnalyzeRSS       = 128 << 20 // issue 4: analyze peak RSS ≤ 128 MiB
	targetConvertVsFull    = 0.5       // issue 3: convert throughput ≥ 0.5× full decode
	targetConvertRSS       = 128 << 20 // issue 3: flat memory; the bound checked here
	targetDiffVsAnalyze    = 3.0       // issue 6: diff ≤ 3 × (analyze(A) + analyze(B))
	targetDiffRSS          = 256 << 20 // issue 6: the --mem-limit given
	targetS3VsDisk         = 0.7       // issue 5: S3 read ≥ 70% of disk speed
	targetRestoreVsLoad    = 2.0       // issue 7: restore ≤ 2× redis-server's own load
	targetRestoreVsPipe    = 2.0       // issue 7: restore ≥ 2× faster than the redis-cli --pipe route
	targetParquetVsAnalyze = 0.5       // issue 18: Parquet export throughput ≥ 0.5× analyze's
	targetParquetRSS       = 256 << 20 // issue 18: Parquet export peak RSS ≤ 256 MiB
	targetCheckVsRDB       = 4.0       // issue 21: check ≥ 4× faster than redis-check-rdb
	targetZeroedExtra      = 1.0       // issue 21: a 20 MiB zeroed range costs ≤ 1 s beyond a clean check
	targetAnalyzeVsFrame   = 1.0       // issue 19: analyze ≤ 1.0× the time of the one-core framing + LZF walk
	targetConvertVsFull19  = 1.0       // issue 19: convert throughput ≥ 1.0× full decode
	targetDumpSpeedup      = 2.0       // issue 19: dump ≥ 2× the one-goroutine dump
	targetParallelRSS      = 2.0       // issue 19: peak RSS within 2× of one goroutine's
)

// measurement is one run of one tool.
type measurement struct {
	Seconds float64 `json:"seconds"`
	PeakRSS int64   `json:"peak_rss_bytes"`
	// CPUSeconds is user plus system time: on a loaded machine, where
	// wall time follows the share of the CPUs a process gets, the ratio
	// of CPU times is the steadier figure.
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
	Keys       int64   `json:"keys,omitempty"`
	Note       string  `json:"note,omitempty"`
	Error      string  `json:"error,omitempty"`
}

// medianCPU is the median CPU time of the runs without error.
func medianCPU(runs []measurement) float64 {
	var cpu []float64
	for _, m := range runs {
		if m.Error == "" {
			cpu = append(cpu, m.CPUSeconds)
		}
	}
	if len(cpu) == 0 {
		return 0
	}
	slices.Sort(cpu)
	return cpu[len(cpu)/2]
}

// toolResult is one tool's summary over --repeat runs.
type toolResult struct {
	Tool    string        `json:"tool"`
	Label   string        `json:"label"`
	Seconds float64       `json:"seconds"` // median
	MBps    float64       `json:"mb_per_s"`
	PeakRSS int64         `json:"peak_rss_bytes"` // the largest over the runs
	Ratio   float64       `json:"time_vs_rdbtool_full"`
	Keys    int64         `json:"keys,omitempty"`
	Note    string        `json:"note,omitempty"`
	Error   string        `json:"error,omitempty"`
	Runs    []measurement `json:"runs"`
}

type targetCheck struct {
	Issue string `json:"issue"`
	Name  string `json:"name"`
	Want  string `json:"want"`
	Got   string `json:"got"`
	Pass  bool   `json:"pass"`
}

type fileReport struct {
	File      string        `json:"file"`
	Bytes     int64         `json:"bytes"`
	Repeat    int           `json:"repeat"`
	LoadStart string        `json:"loadavg_start,omitempty"` // /proc/loadavg 1, 5, 15 min
	LoadEnd   string        `json:"loadavg_end,omitempty"`
	Seconds   float64       `json:"wall_seconds"`
	Results   []toolResult  `json:"results"`
	Targets   []targetCheck `json:"targets"`
}

type report struct {
	Machine struct {
		CPUs   int    `json:"cpus"`
		GOOS   string `json:"goos"`
		GOARCH string `json:"goarch"`
		Go     string `json:"go"`
		CPU    string `json:"cpu,omitempty"`
	} `json:"machine"`
	Files []fileReport `json:"files"`
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var files stringList
	fs.Var(&files, "file", "RDB file to measure (repeatable; default small.rdb and mixed.rdb in the default dir)")
	repeat := fs.Int("repeat", 3, "runs per tool; the median time is reported")
	format := fs.String("format", "md", "output format: md or json")
	toolsFlag := fs.String("tools", strings.Join(allTools, ","), "comma-separated tools to run")
	profDir := fs.String("cpuprofile-dir", "", "write CPU profiles of rdbtool's passes and commands (last run) to this directory")
	serverBin := fs.String("redis-server", "redis-server", "redis-server binary")
	checkBin := fs.String("redis-check-rdb", "redis-check-rdb", "redis-check-rdb binary")
	rdbtoolBin := fs.String("rdbtool-bin", "", "rdbtool binary to measure (default: build ./cmd/rdbtool into a temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		files = append(files, fs.Args()...)
	}
	if *repeat < 1 {
		return errors.New("--repeat must be at least 1")
	}
	if *format != "md" && *format != "json" {
		return fmt.Errorf("--format must be md or json, not %q", *format)
	}
	tools, err := parseTools(*toolsFlag)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		if files, err = defaultFiles(); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if *profDir != "" {
		if err := os.MkdirAll(*profDir, 0o755); err != nil {
			return err
		}
	}

	env := &benchEnv{self: self, serverBin: *serverBin, rdbtool: *rdbtoolBin}
	if env.tmp, err = os.MkdirTemp("", "rdbbench-run-"); err != nil {
		return err
	}
	defer env.close()
	if env.rdbtool == "" && slices.ContainsFunc(tools, func(t string) bool { return cliTools[t] }) {
		if err := env.buildRdbtool(); err != nil {
			return err
		}
	}
	if slices.Contains(tools, toolHDTMemory) {
		logf("building the hdt3213/rdb memory report")
		if env.hdtMemory, env.hdtMemErr = buildHDTMemory(env.tmp); env.hdtMemErr != nil {
			logf("%v", env.hdtMemErr)
		}
	}

	var rep report
	rep.Machine.CPUs = runtime.NumCPU()
	rep.Machine.GOOS, rep.Machine.GOARCH, rep.Machine.Go = runtime.GOOS, runtime.GOARCH, runtime.Version()
	rep.Machine.CPU = cpuModel()

	for _, file := range files {
		fi, err := os.Stat(file)
		if err != nil {
			return err
		}
		fr := fileReport{File: file, Bytes: fi.Size(), Repeat: *repeat}
		fileStart := time.Now()
		logf("warming the page cache: %s (%d bytes)", file, fi.Size())
		if err := warm(file); err != nil {
			return err
		}
		env.prepareFile(file, slices.Contains(tools, toolDiff) || slices.Contains(tools, toolAnalyzeMutated),
			slices.Contains(tools, toolCheckS3) || slices.Contains(tools, toolAnalyzeS3))
		fr.LoadStart = loadAvg()
		logf("load average %s", fr.LoadStart)
		var fileKeys int64 // from the reader's passes, for checking restores
		runs := map[string][]measurement{}
		// Repeats outermost, so that drift over the run touches every tool alike.
		for i := 0; i < *repeat; i++ {
			for _, t := range tools {
				var prof string
				env.profile = ""
				if *profDir != "" && i == *repeat-1 {
					p := filepath.Join(*profDir, strings.TrimSuffix(filepath.Base(file), ".rdb")+"-"+t+".pprof")
					switch t {
					case toolHeaders, toolFull, toolVerifyCopy:
						prof = p
					case toolHDT, toolCheckRDB, toolServerLoad, toolHDTMemory, toolPipe, toolCliRDB:
					default: // the rdbtool commands
						env.profile = p
					}
				}
				m := env.measure(t, file, prof, *checkBin, fileKeys)
				if (t == toolHeaders || t == toolFull) && m.Error == "" {
					fileKeys = m.Keys
				}
				logf("  run %d/%d %-24s %8.3f s  %7.1f MiB  %s  (load %s)", i+1, *repeat, t, m.Seconds, float64(m.PeakRSS)/(1<<20), m.Error, loadAvg())
				runs[t] = append(runs[t], m)
			}
		}
		stopSnapshotSources()
		fr.Results = summarizeRuns(tools, runs, fi.Size())
		fr.Targets = checkTargets(fr.Results)
		fr.LoadEnd = loadAvg()
		fr.Seconds = time.Since(fileStart).Seconds()
		rep.Files = append(rep.Files, fr)
	}

	if *format == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	writeMarkdown(os.Stdout, &rep)
	return nil
}

// parseTools turns --tools into the tools to run, in the order of
// allTools, with the tools they are measured against added.
func parseTools(list string) ([]string, error) {
	var tools []string
	for _, t := range strings.Split(list, ",") {
		if !slices.Contains(allTools, t) {
			return nil, fmt.Errorf("unknown tool %q (have %s)", t, strings.Join(allTools, ", "))
		}
		tools = append(tools, t)
		for _, n := range needs[t] {
			if !slices.Contains(tools, n) && !strings.Contains(","+list+",", ","+n+",") {
				logf("adding %s: %s is measured against it", n, t)
				tools = append(tools, n)
			}
		}
	}
	// Run and report in the order of allTools.
	slices.SortStableFunc(tools, func(a, b string) int {
		return slices.Index(allTools, a) - slices.Index(allTools, b)
	})
	tools = slices.Compact(tools)
	return tools, nil
}

// defaultFiles lists the benchmark files present in the default directory.
func defaultFiles() ([]string, error) {
	var files []string
	for _, sc := range scales {
		p := filepath.Join(defaultDir(), sc.name+".rdb")
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no benchmark files in %s: run \"rdbbench make\" or pass --file", defaultDir())
	}
	return files, nil
}

// measure runs tool t once on file. prof, when set, receives the CPU
// profile of the tools run in a child of this program; fileKeys is the
// file's key count, which a restore's result is checked against.
func (e *benchEnv) measure(t, file, prof, checkBin string, fileKeys int64) measurement {
	switch t {
	case toolHeaders, toolFull, toolFrameLZF, toolHDT:
		return runChild(e.self, t, file, prof)
	case toolVerifyCopy:
		syscall.Sync() // as for convert: see runConvert
		return runChild(e.self, t, file, prof, "--out-dir", e.tmp)
	case toolCheckRDB:
		return runCheckRDB(checkBin, file)
	case toolServerLoad:
		return runServerLoad(e.serverBin, file)
	case toolAnalyze:
		return e.runAnalyze(file)
	case toolHDTMemory:
		return e.runHDTMemory(file)
	case toolConvert:
		return e.runConvert(file)
	case toolAnalyzeMutated:
		if e.mutateErr != nil {
			return measurement{Error: e.mutateErr.Error()}
		}
		return e.runAnalyze(e.mutated)
	case toolDiff:
		return e.runDiff(file)
	case toolCheck:
		return e.runCheck(file)
	case toolCheckZeroed:
		return e.runCheckZeroed(file)
	case toolCheckS3:
		return e.runS3("check")
	case toolAnalyzeS3:
		return e.runS3("analyze", "--format", "json")
	case toolRestore:
		return e.runRestore(file, fileKeys)
	case toolPipe:
		return e.runPipe(file, fileKeys)
	case toolSnapshot, toolCliRDB:
		return e.runSnapshotTool(t, file)
	case toolParquet:
		return e.runParquet(file)
	case toolDump:
		return e.runDump(file)
	case toolDumpJobs:
		return e.runDump(file, "--jobs", "1")
	}
	return measurement{}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

// warm reads the whole file once so every tool finds it in the page cache.
func warm(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// runChild re-executes this program to run one in-process reader, so the
// child's peak RSS is that reader's alone. The time is the child's own
// (open to end of parse), which leaves out process start-up.
func runChild(self, tool, file, prof string, flags ...string) measurement {
	args := append([]string{childCmd}, flags...)
	if prof != "" {
		args = append(args, "--cpuprofile", prof)
	}
	args = append(args, tool, file)
	cmd := exec.Command(self, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	m := measurement{Seconds: wall, PeakRSS: maxRSS(cmd.ProcessState)}
	var res childResult
	if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
		m.Error = fmt.Sprintf("child: %v %s", err, strings.TrimSpace(errb.String()))
		return m
	}
	m.Seconds, m.Keys, m.Note, m.Error = res.Seconds, res.Keys, res.Note, res.Error
	return m
}

// runCheckRDB times `redis-check-rdb FILE`, start to exit.
func runCheckRDB(bin, file string) measurement {
	cmd := exec.Command(bin, file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	m := measurement{Seconds: time.Since(start).Seconds(), PeakRSS: maxRSS(cmd.ProcessState)}
	if err != nil {
		m.Error = fmt.Sprintf("%v: %s", err, lastLine(out.String()))
	} else if !strings.Contains(out.String(), "RDB looks OK") {
		m.Error = "no \"RDB looks OK\": " + lastLine(out.String())
	}
	return m
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// runServerLoad starts a private redis-server on a free loopback port that
// loads file, and times it from start until PING answers and INFO
// persistence says loading:0. The server sees the file through a symlink in
// a temporary directory, with saving and AOF off, so it cannot write
// anything next to the original; it is stopped with SHUTDOWN NOSAVE.
func runServerLoad(bin, file string) measurement {
	abs, err := filepath.Abs(file)
	if err != nil {
		return measurement{Error: err.Error()}
	}
	dir, err := os.MkdirTemp("", "rdbbench-load-")
	if err != nil {
		return measurement{Error: err.Error()}
	}
	defer os.RemoveAll(dir)
	if err := os.Symlink(abs, filepath.Join(dir, "dump.rdb")); err != nil {
		return measurement{Error: err.Error()}
	}
	start := time.Now()
	s, err := startServer(bin, dir, "dump.rdb", filepath.Join(dir, "redis.log"))
	if err != nil {
		return measurement{Error: err.Error()}
	}
	c, err := s.waitReady(30 * time.Minute)
	secs := time.Since(start).Seconds()
	if err != nil {
		s.kill()
		return measurement{Seconds: secs, PeakRSS: maxRSS(s.cmd.ProcessState), Error: err.Error()}
	}
	m := measurement{Seconds: secs}
	if v, err := c.do(10*time.Second, "DBSIZE"); err == nil {
		if n, ok := v.(int64); ok {
			m.Keys = n
		}
	}
	m.PeakRSS = s.shutdown(c)
	return m
}

// summarize takes the median time and the largest peak RSS over the runs.
func summarize(tool string, runs []measurement, size int64) toolResult {
	tr := toolResult{Tool: tool, Label: toolLabel[tool], Runs: runs}
	var secs []float64
	for _, m := range runs {
		if m.Error != "" {
			tr.Error = m.Error
			continue
		}
		secs = append(secs, m.Seconds)
		tr.PeakRSS = max(tr.PeakRSS, m.PeakRSS)
		tr.Keys, tr.Note = m.Keys, m.Note
	}
	if len(secs) == 0 {
		return tr
	}
	tr.Error = ""
	tr.Seconds = median(secs)
	if tr.Seconds > 0 {
		tr.MBps = float64(size) / 1e6 / tr.Seconds
	}
	return tr
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// summarizeRuns summarizes each tool's runs on a file of size bytes, with
// its time as a ratio of the full decode's.
func summarizeRuns(tools []string, runs map[string][]measurement, size int64) []toolResult {
	var results []toolResult
	for _, t := range tools {
		results = append(results, summarize(t, runs[t], size))
	}
	var fullSecs float64
	for _, r := range results {
		if r.Tool == toolFull && r.Error == "" {
			fullSecs = r.Seconds
		}
	}
	for i := range results {
		if fullSecs > 0 && results[i].Error == "" {
			results[i].Ratio = results[i].Seconds / fullSecs
		}
	}
	return results
}

// checkTargets compares a file's results with the targets the issues set.
func checkTargets(results []toolResult) []targetCheck {
	get := func(t string) *toolResult {
		for i := range results {
			if results[i].Tool == t && results[i].Error == "" && results[i].Seconds > 0 {
				return &results[i]
			}
		}
		return nil
	}
	var out []targetCheck
	add := func(issue, name, want, got string, pass bool) {
		out = append(out, targetCheck{Issue: issue, Name: name, Want: want, Got: got, Pass: pass})
	}
	decodeTargets(get, add)
	checkDiffTargets(get, add)
	transferTargets(get, add)
	parallelTargets(get, add)
	return out
}

// parallelTargets checks issue 19's: every core on one file.
func parallelTargets(get resultOf, add addTarget) {
	if an, fr := get(toolAnalyze), get(toolFrameLZF); an != nil && fr != nil {
		x := an.Seconds / fr.Seconds
		add("19", "analyze time vs the one-core framing + LZF walk", fmt.Sprintf("≤ %.1f×", targetAnalyzeVsFrame),
			fmt.Sprintf("%.2f× (%.3f vs %.3f s)", x, an.Seconds, fr.Seconds), x <= targetAnalyzeVsFrame)
	}
	if conv, full := get(toolConvert), get(toolFull); conv != nil && full != nil {
		x := conv.MBps / full.MBps
		add("19", "convert throughput vs rdbtool full decode", fmt.Sprintf("≥ %.1f×", targetConvertVsFull19),
			fmt.Sprintf("%.2f× (%.0f vs %.0f MB/s)", x, conv.MBps, full.MBps), x >= targetConvertVsFull19)
	}
	if d, one := get(toolDump), get(toolDumpJobs); d != nil && one != nil {
		x := one.Seconds / d.Seconds
		add("19", "dump speed-up vs dump --jobs 1", fmt.Sprintf("≥ %.0f×", targetDumpSpeedup),
			fmt.Sprintf("%.2f× (%.3f vs %.3f s; CPU %.2f vs %.2f s)", x, d.Seconds, one.Seconds, medianCPU(d.Runs), medianCPU(one.Runs)), x >= targetDumpSpeedup)
		r := float64(d.PeakRSS) / float64(max(one.PeakRSS, 1))
		add("19", "dump peak RSS vs dump --jobs 1", fmt.Sprintf("≤ %.0f×", targetParallelRSS),
			fmt.Sprintf("%.2f× (%s vs %s)", r, mib(d.PeakRSS), mib(one.PeakRSS)), r <= targetParallelRSS)
	}
}

// resultOf returns a tool's result when it ran without error, else nil.
type resultOf func(tool string) *toolResult

// addTarget records one target's check.
type addTarget func(issue, name, want, got string, pass bool)

// decodeTargets checks the reader's passes, convert and analyze.
func decodeTargets(get resultOf, add addTarget) {
	full, hdt, hdr := get(toolFull), get(toolHDT), get(toolHeaders)
	if full != nil && hdt != nil {
		x := full.MBps / hdt.MBps
		add("reader", "full decode throughput vs hdt3213/rdb", fmt.Sprintf("≥ %.0f×", targetFullVsHDT),
			fmt.Sprintf("%.2f× (%.0f vs %.0f MB/s)", x, full.MBps, hdt.MBps), x >= targetFullVsHDT)
	}
	for _, r := range []*toolResult{full, hdr} {
		if r == nil {
			continue
		}
		add("reader", "peak RSS, "+r.Label, "≤ 64 MiB", mib(r.PeakRSS), r.PeakRSS <= targetPeakRSS)
	}
	if hdr != nil {
		add("reader", "headers pass throughput", "≥ 1 GB/s", fmt.Sprintf("%.2f GB/s", hdr.MBps/1000),
			hdr.MBps*1e6 >= targetHeadersBps)
	}

	// Issue 3: convert.
	if conv := get(toolConvert); conv != nil {
		if full != nil {
			x := conv.MBps / full.MBps
			add("3", "convert throughput vs rdbtool full decode", fmt.Sprintf("≥ %.1f×", targetConvertVsFull),
				fmt.Sprintf("%.2f× (%.0f vs %.0f MB/s)", x, conv.MBps, full.MBps), x >= targetConvertVsFull)
		}
		add("3", "convert peak RSS (flat memory)", "≤ 128 MiB whatever the file size", mib(conv.PeakRSS),
			conv.PeakRSS <= targetConvertRSS)
	}

	// Issue 4: analyze.
	if an := get(toolAnalyze); an != nil {
		add("4", "analyze throughput", "≥ 1 GB/s", fmt.Sprintf("%.2f GB/s", an.MBps/1000), an.MBps*1e6 >= targetAnalyzeBps)
		for _, other := range []*toolResult{get(toolHDTMemory), get(toolServerLoad)} {
			if other == nil {
				continue
			}
			x := other.Seconds / an.Seconds
			add("4", "analyze speed-up vs "+other.Label, fmt.Sprintf("≥ %.0f×", targetAnalyzeSpeedup),
				fmt.Sprintf("%.2f× (%.2f vs %.2f s)", x, an.Seconds, other.Seconds), x >= targetAnalyzeSpeedup)
		}
		add("4", "analyze peak RSS", "≤ 128 MiB", mib(an.PeakRSS), an.PeakRSS <= targetAnalyzeRSS)
	}
}

// checkDiffTargets checks check and analyze from S3, check against
// redis-check-rdb and a zeroed range, and diff.
func checkDiffTargets(get resultOf, add addTarget) {
	// Issue 5: S3 against disk.
	if s3r, disk := get(toolCheckS3), get(toolCheck); s3r != nil && disk != nil {
		x := s3r.MBps / disk.MBps
		add("5", "check from S3 vs check from disk (throughput)", fmt.Sprintf("≥ %.0f%%", targetS3VsDisk*100),
			fmt.Sprintf("%.0f%% (%.0f vs %.0f MB/s)", x*100, s3r.MBps, disk.MBps), x >= targetS3VsDisk)
	}
	if s3r, disk := get(toolAnalyzeS3), get(toolAnalyze); s3r != nil && disk != nil {
		x := s3r.MBps / disk.MBps
		add("5", "analyze from S3 vs analyze from disk (throughput)", fmt.Sprintf("≥ %.0f%%", targetS3VsDisk*100),
			fmt.Sprintf("%.0f%% (%.0f vs %.0f MB/s)", x*100, s3r.MBps, disk.MBps), x >= targetS3VsDisk)
	}

	// Issue 21: check against redis-check-rdb, and a zeroed range.
	if c := get(toolCheck); c != nil {
		if rc := get(toolCheckRDB); rc != nil {
			x := rc.Seconds / c.Seconds
			add("21", "check speed-up vs redis-check-rdb", fmt.Sprintf("≥ %.0f×", targetCheckVsRDB),
				fmt.Sprintf("%.2f× (%.2f vs %.2f s)", x, c.Seconds, rc.Seconds), x >= targetCheckVsRDB)
		}
		if z := get(toolCheckZeroed); z != nil {
			d := z.Seconds - c.Seconds
			add("21", "check time added by a 20 MiB zeroed range", fmt.Sprintf("≤ %.0f s", targetZeroedExtra),
				fmt.Sprintf("%.2f s (%.2f vs %.2f s; %.0f MB/s over the range)", d, z.Seconds, c.Seconds, 20*1.048576/max(d, 1e-3)), d <= targetZeroedExtra)
		}
	}

	// Issue 6: diff.
	if d := get(toolDiff); d != nil {
		if a, b := get(toolAnalyze), get(toolAnalyzeMutated); a != nil && b != nil {
			x := d.Seconds / (a.Seconds + b.Seconds)
			add("6", "diff time vs analyze(A) + analyze(B)", fmt.Sprintf("≤ %.0f×", targetDiffVsAnalyze),
				fmt.Sprintf("%.2f× (%.2f vs %.2f + %.2f s)", x, d.Seconds, a.Seconds, b.Seconds), x <= targetDiffVsAnalyze)
		}
		add("6", "diff peak RSS", "≤ 256 MiB (--mem-limit 256M)", mib(d.PeakRSS), d.PeakRSS <= targetDiffRSS)
	}
}

// transferTargets checks the Parquet export, restore and snapshot.
func transferTargets(get resultOf, add addTarget) {
	// Issue 18: Parquet export.
	if pq := get(toolParquet); pq != nil {
		if an := get(toolAnalyze); an != nil {
			x := pq.MBps / an.MBps
			add("18", "parquet export throughput vs analyze", fmt.Sprintf("≥ %.1f×", targetParquetVsAnalyze),
				fmt.Sprintf("%.2f× (%.0f vs %.0f MB/s; CPU time %.2f vs %.2f s, %.2f×)", x, pq.MBps, an.MBps,
					medianCPU(pq.Runs), medianCPU(an.Runs), medianCPU(an.Runs)/max(medianCPU(pq.Runs), 1e-9)), x >= targetParquetVsAnalyze)
		}
		add("18", "parquet export peak RSS", "≤ 256 MiB", mib(pq.PeakRSS), pq.PeakRSS <= targetParquetRSS)
	}

	// Issue 7: restore.
	if rs := get(toolRestore); rs != nil {
		if ld := get(toolServerLoad); ld != nil {
			x := rs.Seconds / ld.Seconds
			add("7", "restore time vs redis-server loading the file", fmt.Sprintf("≤ %.0f×", targetRestoreVsLoad),
				fmt.Sprintf("%.2f× (%.2f vs %.2f s)", x, rs.Seconds, ld.Seconds), x <= targetRestoreVsLoad)
		}
		if p := get(toolPipe); p != nil {
			x := p.Seconds / rs.Seconds
			add("7", "restore speed-up vs dump --format resp piped into redis-cli --pipe", fmt.Sprintf("≥ %.0f×", targetRestoreVsPipe),
				fmt.Sprintf("%.2f× (%.2f vs %.2f s)", x, rs.Seconds, p.Seconds), x >= targetRestoreVsPipe)
		}
	}

	// Issue 17: snapshot.
	if sn := get(toolSnapshot); sn != nil {
		if cli := get(toolCliRDB); cli != nil {
			x := sn.Seconds / cli.Seconds
			add("17", "snapshot time vs redis-cli --rdb (same server, same transfer)", fmt.Sprintf("≤ %.1f×", targetSnapshotVsCli),
				fmt.Sprintf("%.2f× (%.2f vs %.2f s)", x, sn.Seconds, cli.Seconds), x <= targetSnapshotVsCli)
		}
		add("17", "snapshot peak RSS", "≤ 64 MiB", mib(sn.PeakRSS), sn.PeakRSS <= targetPeakRSS)
	}
}

func mib(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

func writeMarkdown(w io.Writer, rep *report) {
	fmt.Fprintf(w, "Machine: %d CPUs, %s/%s, %s", rep.Machine.CPUs, rep.Machine.GOOS, rep.Machine.GOARCH, rep.Machine.Go)
	if rep.Machine.CPU != "" {
		fmt.Fprintf(w, ", %s", rep.Machine.CPU)
	}
	fmt.Fprintln(w)
	for _, fr := range rep.Files {
		fmt.Fprintf(w, "\n### %s (%s bytes, median of %d)\n\n", filepath.Base(fr.File), commas(fr.Bytes), fr.Repeat)
		if fr.LoadStart != "" {
			fmt.Fprintf(w, "Load average (1/5/15 min) %s at the start, %s at the end; %.0f s in all.\n\n", fr.LoadStart, fr.LoadEnd, fr.Seconds)
		}
		fmt.Fprintln(w, "| tool | seconds | MB/s | peak RSS | time vs rdbtool full decode | note |")
		fmt.Fprintln(w, "|------|--------:|-----:|---------:|----------------------------:|------|")
		for _, r := range fr.Results {
			if r.Error != "" {
				fmt.Fprintf(w, "| %s | error: %s | | | | |\n", r.Label, strings.ReplaceAll(r.Error, "|", `\|`))
				continue
			}
			ratio := ""
			if r.Ratio > 0 {
				ratio = fmt.Sprintf("%.2f×", r.Ratio)
			}
			fmt.Fprintf(w, "| %s | %.3f | %s | %s | %s | %s |\n", r.Label, r.Seconds, commas(int64(r.MBps+0.5)), mib(r.PeakRSS), ratio, strings.ReplaceAll(r.Note, "|", `\|`))
		}
		if len(fr.Targets) > 0 {
			fmt.Fprintln(w, "\n| issue | target | want | got | |")
			fmt.Fprintln(w, "|-------|--------|------|-----|---|")
			for _, t := range fr.Targets {
				verdict := "FAIL"
				if t.Pass {
					verdict = "PASS"
				}
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", t.Issue, t.Name, t.Want, t.Got, verdict)
			}
		}
	}
}

// commas writes n with thousands separators.
func commas(n int64) string {
	if n < 0 {
		return fmt.Sprint(n)
	}
	return display.Count(uint64(n))
}

// cpuModel returns the CPU model name on Linux, or "".
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
