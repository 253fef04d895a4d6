// Command attack is what the containment tests run inside a box: each
// subcommand tries one way out and prints what the kernel answered, one
// "name: result" line per try ("ok" or the errno's name). It is built
// static (CGO_ENABLED=0) and copied into the box's root filesystem by the
// tests; it is not part of pbox.
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attack syscalls | keyring-read NAME | keyring-plant NAME | open PATH...")
		os.Exit(2)
	}
	runtime.LockOSThread()
	switch os.Args[1] {
	case "syscalls":
		syscalls()
	case "keyring-read":
		id, err := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "user", os.Args[2], 0)
		if err == nil {
			buf := make([]byte, 256)
			n, rerr := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
			if rerr == nil {
				fmt.Printf("keyring-read: ok %s\n", buf[:n])
				return
			}
			err = rerr
		}
		report("keyring-read", err)
	case "keyring-plant":
		_, err := unix.AddKey("user", os.Args[2], []byte("planted"), unix.KEY_SPEC_SESSION_KEYRING)
		report("keyring-plant", err)
	case "cgroup-escape":
		cgroupEscape()
	case "cgroup-child":
		cgroupChild(os.Args[2], os.Args[3])
	case "write":
		err := os.WriteFile(os.Args[2], []byte(os.Args[3]), 0)
		report("write "+os.Args[2], err)
	case "open":
		for _, p := range os.Args[2:] {
			f, err := os.OpenFile(p, os.O_RDONLY, 0)
			if err == nil {
				f.Close()
			}
			report("open "+p, err)
		}
	default:
		fmt.Fprintln(os.Stderr, "attack: unknown subcommand", os.Args[1])
		os.Exit(2)
	}
}

// report prints "name: ok" or "name: EPERM".
func report(name string, err error) {
	if err == nil {
		fmt.Printf("%s: ok\n", name)
		return
	}
	var errno syscall.Errno
	if e, ok := err.(syscall.Errno); ok {
		errno = e
	} else if pe, ok := err.(*os.PathError); ok {
		errno, _ = pe.Err.(syscall.Errno)
	}
	if errno != 0 {
		fmt.Printf("%s: %s\n", name, unix.ErrnoName(errno))
		return
	}
	fmt.Printf("%s: %v\n", name, err)
}

// cgroupEscape is the user-namespace attack on cgroup limits: a child in
// a new user, mount and cgroup namespace, mapped to root, mounts each v1
// hierarchy (or cgroup2) it can and tries to raise the limits it sees
// there — its own cgroup's, or, in a hierarchy the box never joined,
// someone else's.
func cgroupEscape() {
	for _, try := range [][2]string{{"cgroup", "memory"}, {"cgroup", "pids"}, {"cgroup2", ""}} {
		name := "cgroup-escape " + try[0] + " " + try[1]
		self, _ := os.Executable()
		pid, err := syscall.ForkExec(self, []string{"attack", "cgroup-child", try[0], try[1]}, &syscall.ProcAttr{
			Files: []uintptr{0, 1, 2},
			Sys: &syscall.SysProcAttr{
				Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | unix.CLONE_NEWCGROUP,
				UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
				GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
			},
		})
		if err != nil {
			report(name, err)
			continue
		}
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
	}
}

func cgroupChild(fstype, ctrl string) {
	name := "cgroup-escape " + fstype + " " + ctrl
	dir, err := os.MkdirTemp("", "cg")
	if err != nil {
		dir = "/dev/shm/cg"
		os.Mkdir(dir, 0o755)
	}
	if err := unix.Mount("none", dir, fstype, 0, ctrl); err != nil {
		report(name, err)
		return
	}
	file := map[string]string{"memory": "memory.limit_in_bytes", "pids": "pids.max", "": "pids.max"}[ctrl]
	err = os.WriteFile(dir+"/"+file, []byte("max"), 0)
	if ctrl == "memory" {
		err = os.WriteFile(dir+"/"+file, []byte("9223372036854771712"), 0)
	}
	report(name, err)
}

func raw(nr uintptr, a ...uintptr) error {
	var args [6]uintptr
	copy(args[:], a)
	_, _, e := unix.Syscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5])
	if e != 0 {
		return e
	}
	return nil
}

// syscalls tries what Docker's default profile forbids a box without
// extra capabilities, each on its own (none of them changes the host when
// it is allowed: the results are closed or undone at once).
func syscalls() {
	report("keyctl", raw(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffd), 0)) // session keyring
	desc := []byte("probe\x00")
	typ := []byte("user\x00")
	report("add_key", raw(unix.SYS_ADD_KEY, uintptr(unsafe.Pointer(&typ[0])), uintptr(unsafe.Pointer(&desc[0])), 0, 0, uintptr(0xfffffffc))) // thread keyring
	// unshare changes only this (locked) thread, which exits with the program.
	report("unshare user", raw(unix.SYS_UNSHARE, unix.CLONE_NEWUSER))
	report("unshare mount", raw(unix.SYS_UNSHARE, unix.CLONE_NEWNS))
	report("unshare cgroup", raw(unix.SYS_UNSHARE, unix.CLONE_NEWCGROUP))
	report("unshare net", raw(unix.SYS_UNSHARE, unix.CLONE_NEWNET))
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_CPU_CLOCK, Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{}))}
	fd, _, e := unix.Syscall6(unix.SYS_PERF_EVENT_OPEN, uintptr(unsafe.Pointer(&attr)), 0, ^uintptr(0), ^uintptr(0), 0, 0)
	if e == 0 {
		unix.Close(int(fd))
		report("perf_event_open", nil)
	} else {
		report("perf_event_open", e)
	}
	var params [120]byte
	fd, _, e = unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
	if e == 0 {
		unix.Close(int(fd))
		report("io_uring_setup", nil)
	} else {
		report("io_uring_setup", e)
	}
	old, _, _ := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0) // query
	_, _, e = unix.Syscall(unix.SYS_PERSONALITY, old|0x0400000, 0, 0)
	if e == 0 {
		unix.Syscall(unix.SYS_PERSONALITY, old, 0, 0)
		report("personality READ_IMPLIES_EXEC", nil)
	} else {
		report("personality READ_IMPLIES_EXEC", e)
	}
	report("bpf", raw(unix.SYS_BPF, unix.BPF_PROG_LOAD, 0, 0))
	src, dst, fstype := []byte("none\x00"), []byte("/tmp\x00"), []byte("tmpfs\x00")
	report("mount", raw(unix.SYS_MOUNT, uintptr(unsafe.Pointer(&src[0])), uintptr(unsafe.Pointer(&dst[0])), uintptr(unsafe.Pointer(&fstype[0])), 0, 0))
	report("getpid", raw(unix.SYS_GETPID))
}
