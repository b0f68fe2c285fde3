//go:build !linux

package main

// dieWithParent: other systems have no parent-death signal; stop `make dev` with Ctrl-C,
// which reaches this process directly.
func dieWithParent() {}
