package main

import (
	"os"
	"syscall"
)

// dieWithParent asks the kernel to send this process SIGTERM when its parent dies. `make dev`
// runs `go run`, which dies of a SIGTERM that make passes on without passing it to us; without
// this, `kill <make>` would leave the gateway and both emulators running.
func dieWithParent() {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if errno == 0 && os.Getppid() == 1 {
		// The parent died before the request took effect.
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}
