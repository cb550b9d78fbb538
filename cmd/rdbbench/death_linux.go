package main

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill cmd when this process dies, so that
// a server started for a run does not outlive an interrupted run.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
