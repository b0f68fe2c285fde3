//go:build !linux

package main

// dieWithParent has no equivalent outside Linux: there, stop this program itself (Ctrl-C or
// SIGTERM), and it stops the command and the emulators.
func dieWithParent() {}
