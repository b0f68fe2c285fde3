package emulators

import "syscall"

// ChildProcAttr is for every child process a runner owns (an emulator, or the command
// local/cmd/emulators runs). Its own process group lets the parent end it together with
// whatever it started, and keeps a terminal's Ctrl-C from reaching it before the parent has
// decided the order of shutdown. Pdeathsig makes the kernel kill it if the parent dies without
// stopping it (a test binary that panics, times out or gets kill -9).
//
// Pdeathsig fires when the OS thread that started the child exits. The Go runtime only ends
// threads that a goroutine locked with runtime.LockOSThread and never unlocked; no child is
// started from such a goroutine here.
func ChildProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
