package redistest

import "syscall"

// Kill ends the server at once with SIGKILL, as a crash would (children
// such as a BGSAVE fork included: they share its process group).
func (s *Server) Kill() {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
}
