package main

import (
	"os"
	"syscall"
)

// dieWithParent asks the kernel to send this process SIGTERM when its parent dies. make passes
// a SIGTERM on to `go run`, but `go run` just dies of it, leaving its child running; without
// this, killing `make test` would leave this program, its emulators and the tests running.
func dieWithParent() {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if errno == 0 && os.Getppid() == 1 {
		// The parent died before the request took effect.
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}
