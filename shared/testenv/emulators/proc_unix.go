//go:build unix && !linux

package emulators

import "syscall"

// ChildProcAttr is for every child process a runner owns (an emulator, or the command
// local/cmd/emulators runs). Its own process group lets the parent end it together with
// whatever it started. Other Unix systems have no parent-death signal, so there a child ends
// only when its parent stops it (testenv.Main and local/cmd/emulators always do).
func ChildProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
