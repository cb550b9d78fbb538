package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// hdtMemorySrc is the program run for the hdt3213-memory tool:
// github.com/hdt3213/rdb v1.3.2's memory report, as its users run it.
//
// It is built as a module of its own because the helper package imports
// github.com/bytedance/sonic, which rdbtool's module does not (and should
// not) require.
const hdtMemorySrc = `package main

import (
	"fmt"
	"os"

	"github.com/hdt3213/rdb/helper"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: hdtmemory RDB CSV")
		os.Exit(2)
	}
	if err := helper.MemoryProfile(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// hdtMemoryMod pins the same hdt3213/rdb as rdbtool's go.mod and the
// x/sys rdbtool uses, so that the build is satisfied from the module cache.
const hdtMemoryMod = `module rdbbench/hdtmemory

go 1.23

require (
	github.com/hdt3213/rdb v1.3.2
	golang.org/x/sys v0.28.0
)
`

// buildHDTMemory builds the hdt3213 memory-report program into dir. It
// resolves modules from the module cache first (GOPROXY=off); if that
// fails, it tries again with the ordinary go environment.
func buildHDTMemory(dir string) (string, error) {
	src := filepath.Join(dir, "hdtmemory-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(hdtMemorySrc), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(hdtMemoryMod), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hdtmemory")
	var last []byte
	for _, env := range [][]string{
		{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off"},
		{"GOFLAGS=-mod=mod", "GOWORK=off"},
	} {
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return bin, nil
		}
		last = out
	}
	return "", fmt.Errorf("building the hdt3213/rdb memory report: %s", lastLine(string(last)))
}

// runHDTMemory times the memory report over file, start to exit, writing
// its CSV to a temporary file that is removed afterwards.
func (e *benchEnv) runHDTMemory(file string) measurement {
	if e.hdtMemErr != nil {
		return measurement{Error: e.hdtMemErr.Error()}
	}
	csv := filepath.Join(e.tmp, "hdt-memory.csv")
	defer os.Remove(csv)
	m := runCLI(e.hdtMemory, []string{file, csv}, nil, nil)
	if fi, err := os.Stat(csv); err == nil && m.Error == "" {
		m.Note = fmt.Sprintf("CSV of %s bytes", commas(fi.Size()))
	}
	return m
}
