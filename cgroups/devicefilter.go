package cgroups

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Device access on cgroup v2 has no files: the kernel asks an eBPF
// program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup,
// once per open or mknod of a device node. pbox writes that program from
// the rule list, as runc and crun do, in a few instructions per rule:
//
//	r2 = ctx->access_type; r3 = r2 & 0xffff (type); r4 = r2 >> 16 (access)
//	r5 = ctx->major; r6 = ctx->minor
//	for each rule, last first:
//	    if type, major, minor differ, or an access is asked that the
//	    rule does not name: go to the next rule
//	    return allow ? 1 : 0
//	return 1 (no rule matched: allowed, as a new v1 cgroup is)
//
// The last matching rule wins, which is what writing the same rules to v1's
// devices.allow and devices.deny in order gives. (A deny rule matches only
// requests within its access letters; v1 would also take away those letters
// from a wider earlier allow, a difference that needs overlapping rules
// with different access letters to show.)

// bpfInsn is one eBPF instruction (struct bpf_insn).
type bpfInsn struct {
	code uint8
	regs uint8 // dst in the low nibble, src in the high one
	off  int16
	imm  int32
}

// eBPF opcodes used here.
const (
	ldxW    = 0x61 // BPF_LDX | BPF_MEM | BPF_W
	movX    = 0xbf // BPF_ALU64 | BPF_MOV | BPF_X
	movK    = 0xb7 // BPF_ALU64 | BPF_MOV | BPF_K
	andK    = 0x57 // BPF_ALU64 | BPF_AND | BPF_K
	rshK    = 0x77 // BPF_ALU64 | BPF_RSH | BPF_K
	jneK    = 0x55 // BPF_JMP | BPF_JNE | BPF_K
	exitOp  = 0x95 // BPF_JMP | BPF_EXIT
	devBlk  = 1    // BPF_DEVCG_DEV_BLOCK
	devChr  = 2    // BPF_DEVCG_DEV_CHAR
	accMk   = 1    // BPF_DEVCG_ACC_MKNOD
	accRead = 2    // BPF_DEVCG_ACC_READ
	accWrit = 4    // BPF_DEVCG_ACC_WRITE
)

func insn(code uint8, dst, src uint8, off int16, imm int32) bpfInsn {
	return bpfInsn{code: code, regs: dst | src<<4, off: off, imm: imm}
}

// devicesProgram compiles rules into a device filter program.
func devicesProgram(rules []DeviceRule) ([]bpfInsn, error) {
	prog := []bpfInsn{
		insn(ldxW, 2, 1, 0, 0), // r2 = access_type
		insn(movX, 3, 2, 0, 0), // r3 = r2
		insn(andK, 3, 0, 0, 0xffff),
		insn(movX, 4, 2, 0, 0), // r4 = r2
		insn(rshK, 4, 0, 0, 16),
		insn(ldxW, 5, 1, 4, 0), // r5 = major
		insn(ldxW, 6, 1, 8, 0), // r6 = minor
	}
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		var block []bpfInsn
		var jumps []int // indexes in block of "go to the next rule"
		jump := func(dst uint8, imm int32) {
			jumps = append(jumps, len(block))
			block = append(block, insn(jneK, dst, 0, 0, imm))
		}
		switch r.Type {
		case 'a':
		case 'c':
			jump(3, devChr)
		case 'b':
			jump(3, devBlk)
		default:
			return nil, fmt.Errorf("device rule %q: type must be a, c or b", r)
		}
		var mask int32
		for _, a := range r.Access {
			switch a {
			case 'r':
				mask |= accRead
			case 'w':
				mask |= accWrit
			case 'm':
				mask |= accMk
			default:
				return nil, fmt.Errorf("device rule %q: access letters are r, w and m", r)
			}
		}
		if r.Type != 'a' && mask != accRead|accWrit|accMk {
			// Asked for an access outside the rule's letters: no match.
			block = append(block, insn(movX, 7, 4, 0, 0), insn(andK, 7, 0, 0, ^mask))
			jump(7, 0)
		}
		if r.Type != 'a' && r.Major >= 0 {
			jump(5, int32(r.Major))
		}
		if r.Type != 'a' && r.Minor >= 0 {
			jump(6, int32(r.Minor))
		}
		verdict := int32(0)
		if r.Allow {
			verdict = 1
		}
		block = append(block, insn(movK, 0, 0, 0, verdict), insn(exitOp, 0, 0, 0, 0))
		for _, j := range jumps {
			block[j].off = int16(len(block) - j - 1)
		}
		prog = append(prog, block...)
		if len(jumps) == 0 {
			// It matches every request: the rules before it, and the
			// default, can never run, and the verifier refuses code that
			// cannot be reached.
			return prog, nil
		}
	}
	return append(prog, insn(movK, 0, 0, 0, 1), insn(exitOp, 0, 0, 0, 0)), nil
}

// attachDeviceFilter loads the program for rules and attaches it to the
// cgroup2 directory dir. The attachment lives as long as the cgroup.
func attachDeviceFilter(dir string, rules []DeviceRule) error {
	prog, err := devicesProgram(rules)
	if err != nil {
		return err
	}
	license := []byte("Apache-2.0\x00")
	logBuf := make([]byte, 64<<10)
	load := struct {
		progType    uint32
		insnCnt     uint32
		insns       uint64
		license     uint64
		logLevel    uint32
		logSize     uint32
		logBuf      uint64
		kernVersion uint32
		progFlags   uint32
	}{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(prog)),
		insns:    uint64(uintptr(unsafe.Pointer(&prog[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
		logLevel: 1,
		logSize:  uint32(len(logBuf)),
		logBuf:   uint64(uintptr(unsafe.Pointer(&logBuf[0]))),
	}
	// The verifier may answer EAGAIN when it was interrupted (seen under
	// emulation in the VM lane): libbpf and cilium/ebpf retry the load,
	// and so does pbox.
	var fd uintptr
	var errno unix.Errno
	for attempt := 0; attempt < 5; attempt++ {
		fd, _, errno = unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&load)), unsafe.Sizeof(load))
		if errno != unix.EAGAIN && errno != unix.EINTR {
			break
		}
	}
	runtime.KeepAlive(prog)
	runtime.KeepAlive(license)
	if errno != 0 {
		msg := strings.TrimRight(string(logBuf), "\x00")
		return fmt.Errorf("load the device filter (eBPF, %d instructions): %w: %s (does the kernel have CONFIG_CGROUP_BPF?)", len(prog), errno, strings.TrimSpace(msg))
	}
	defer unix.Close(int(fd))
	cg, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(cg)
	attach := struct {
		targetFd    uint32
		attachBpfFd uint32
		attachType  uint32
		attachFlags uint32
	}{uint32(cg), uint32(fd), unix.BPF_CGROUP_DEVICE, unix.BPF_F_ALLOW_MULTI}
	if _, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_ATTACH, uintptr(unsafe.Pointer(&attach)), unsafe.Sizeof(attach)); errno != 0 {
		return fmt.Errorf("attach the device filter to %s: %w", dir, errno)
	}
	return nil
}
