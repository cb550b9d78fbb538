package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of the whole run to the file named by
// RDBTOOL_CPUPROFILE, when it is set: a development aid (rdbbench
// --cpuprofile-dir uses it), so it has no flag. The returned function
// stops the profile; call it before exiting.
func startProfile() func() {
	path := os.Getenv("RDBTOOL_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rdbtool: RDBTOOL_CPUPROFILE:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
