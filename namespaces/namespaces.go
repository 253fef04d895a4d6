package namespaces

import (
	"errors"
	"fmt"
	"github.com/pbox-dev/pbox/internal/bitnames"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Kind is one namespace type, spelled as in /proc/<pid>/ns (except "mnt").
type Kind string

const (
	PID    Kind = "pid"
	Mount  Kind = "mnt"
	UTS    Kind = "uts"
	IPC    Kind = "ipc"
	Net    Kind = "net"
	Cgroup Kind = "cgroup"
	// User is made only for OCI bundles, which give the uid/gid maps
	// (pbox run's --ns does not offer it), and can never be joined from
	// Go: see JoinThread.
	User Kind = "user"
)

// Default is what `pbox run` creates when --ns is not given.
var Default = []Kind{PID, Mount, UTS}

// ErrUnknown, ErrDuplicate and ErrPIDNeedsMount are returned (wrapped) by Parse.
var (
	ErrUnknown       = errors.New("namespaces: unknown namespace")
	ErrDuplicate     = errors.New("namespaces: namespace named twice")
	ErrPIDNeedsMount = errors.New("namespaces: pid needs mnt")
)

var cloneFlags = map[Kind]uintptr{
	PID:    unix.CLONE_NEWPID,
	Mount:  unix.CLONE_NEWNS,
	UTS:    unix.CLONE_NEWUTS,
	IPC:    unix.CLONE_NEWIPC,
	Net:    unix.CLONE_NEWNET,
	Cgroup: unix.CLONE_NEWCGROUP,
}

// flagOrder fixes the order in which flags are printed.
var flagOrder = []bitnames.Bit{
	{Value: unix.CLONE_NEWPID, Name: "CLONE_NEWPID"},
	{Value: unix.CLONE_NEWNS, Name: "CLONE_NEWNS"},
	{Value: unix.CLONE_NEWUTS, Name: "CLONE_NEWUTS"},
	{Value: unix.CLONE_NEWIPC, Name: "CLONE_NEWIPC"},
	{Value: unix.CLONE_NEWNET, Name: "CLONE_NEWNET"},
	{Value: unix.CLONE_NEWCGROUP, Name: "CLONE_NEWCGROUP"},
	{Value: unix.CLONE_NEWUSER, Name: "CLONE_NEWUSER"},
	{Value: unix.CLONE_INTO_CGROUP, Name: "CLONE_INTO_CGROUP"},
}

// Known lists the kinds Parse accepts, sorted.
func Known() []string {
	var names []string
	for k := range cloneFlags {
		names = append(names, string(k))
	}
	sort.Strings(names)
	return names
}

// Parse turns a comma-separated list such as "pid,mnt,uts" into kinds.
// Duplicates are ignored; an empty list means no new namespace at all.
// A new PID namespace without a new mount namespace is refused: the box's
// /proc would still show the host's processes, and mounting a fresh one
// would replace the host's /proc.
func Parse(list string) ([]Kind, error) {
	var kinds []Kind
	seen := map[Kind]bool{}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k := Kind(f)
		if f == "mount" || f == "ns" {
			k = Mount
		}
		if _, ok := cloneFlags[k]; !ok {
			return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknown, f, strings.Join(Known(), ", "))
		}
		if seen[k] {
			return nil, fmt.Errorf("%w: %s is given twice: name each namespace once", ErrDuplicate, f)
		}
		seen[k] = true
		kinds = append(kinds, k)
	}
	if seen[PID] && !seen[Mount] {
		return nil, fmt.Errorf("%w: a new pid namespace needs its own /proc, which needs a new mount namespace: add mnt (e.g. --ns pid,mnt,uts)", ErrPIDNeedsMount)
	}
	return kinds, nil
}

// Has reports whether k is in kinds.
func Has(kinds []Kind, k Kind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// CloneFlags returns the CLONE_NEW* flags for kinds.
func CloneFlags(kinds []Kind) uintptr {
	var f uintptr
	for _, k := range kinds {
		if k == User {
			f |= unix.CLONE_NEWUSER
		}
		f |= cloneFlags[k]
	}
	return f
}

// FlagNames spells clone flags by name, e.g. "CLONE_NEWPID|CLONE_NEWNS".
// Bits it does not know are printed in hex so nothing is hidden.
func FlagNames(flags uintptr) string { return bitnames.Format(flagOrder, flags) }
