//go:build linux

// Package smaps reads /proc/self/smaps for tests: the kernel's flags of the
// mapping that holds an address, e.g. "dd" (left out of core dumps) and
// "lo" (locked in memory).
package smaps

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Flags returns the VmFlags of the mapping in /proc/self/smaps that holds
// addr; it fails the test when none does.
func Flags(t testing.TB, addr uintptr) []string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		// A mapping's first line, "lo-hi perms ...", not a "Key: value" one.
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(line, " ") && !strings.HasSuffix(strings.Fields(line)[0], ":") {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.Fields(strings.TrimPrefix(line, "VmFlags:"))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("no mapping in /proc/self/smaps holds %#x", addr)
	return nil
}
