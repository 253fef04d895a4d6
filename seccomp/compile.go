package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrUnsupported marks a profile field pbox cannot honour.
var ErrUnsupported = errors.New("seccomp: not supported")

// Program is a compiled filter: classic BPF instructions, 8 bytes each in
// the kernel's struct sock_filter layout, and the seccomp(2) flags to load
// it with. It crosses from pbox to the init as JSON.
type Program struct {
	Code  []byte `json:"code"`
	Flags uint   `json:"flags,omitempty"`
	// Rules is how many syscall rules the profile had (for -v).
	Rules int `json:"rules,omitempty"`
}

// Len is the number of BPF instructions.
func (p *Program) Len() int { return len(p.Code) / 8 }

// The seccomp(2) return values (linux/seccomp.h).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
)

// Where the fields of struct seccomp_data are.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// x32SyscallBit marks a syscall of the x32 ABI, which shares x86-64's
// audit architecture.
const x32SyscallBit = 0x40000000

// arch is one architecture a filter may see on this machine.
type arch struct {
	name  specs.Arch
	audit uint32
	table []syscallNumber
}

// knownArches are the architecture names of the runtime-spec (libseccomp's
// SCMP_ARCH_*): a profile may list any of them, as Docker's lists x32.
var knownArches = map[specs.Arch]bool{
	specs.ArchX86: true, specs.ArchX86_64: true, specs.ArchX32: true, specs.ArchARM: true, specs.ArchAARCH64: true,
	specs.ArchMIPS: true, specs.ArchMIPS64: true, specs.ArchMIPS64N32: true, specs.ArchMIPSEL: true,
	specs.ArchMIPSEL64: true, specs.ArchMIPSEL64N32: true, specs.ArchPPC: true, specs.ArchPPC64: true,
	specs.ArchPPC64LE: true, specs.ArchS390: true, specs.ArchS390X: true, specs.ArchPARISC: true,
	specs.ArchPARISC64: true, specs.ArchRISCV64: true, specs.ArchLOONGARCH64: true, specs.ArchM68K: true,
	specs.ArchSH: true, specs.ArchSHEB: true,
}

// nativeArches are the architectures the kernel can report for a process
// on this machine: the native one first, then its 32-bit compat ABI.
func nativeArches() []arch {
	switch runtime.GOARCH {
	case "amd64":
		return []arch{{specs.ArchX86_64, unix.AUDIT_ARCH_X86_64, syscallsX86_64}, {specs.ArchX86, unix.AUDIT_ARCH_I386, syscallsI386}}
	case "arm64":
		return []arch{{specs.ArchAARCH64, unix.AUDIT_ARCH_AARCH64, syscallsAarch64}, {specs.ArchARM, unix.AUDIT_ARCH_ARM, syscallsArm}}
	}
	return nil
}

// Architectures names the ABIs a filter compiled here can tell apart,
// for `pbox features`.
func Architectures() []string {
	var names []string
	for _, a := range nativeArches() {
		names = append(names, string(a.name))
	}
	return names
}

// syscallNumber is one row of a generated table (zsyscalls.go).
type syscallNumber struct {
	name string
	nr   uint32
}

// lookup finds name in a table sorted by name.
func lookup(table []syscallNumber, name string) (uint32, bool) {
	i := sort.Search(len(table), func(i int) bool { return table[i].name >= name })
	if i < len(table) && table[i].name == name {
		return table[i].nr, true
	}
	return 0, false
}

// known reports whether any Linux architecture has a syscall name: a name no
// architecture has is a typo, not a syscall of another machine.
func known(name string) bool {
	i := sort.SearchStrings(anyArch, name)
	return i < len(anyArch) && anyArch[i] == name
}

// action turns a profile action into a seccomp return value.
func action(a specs.LinuxSeccompAction, errnoRet *uint, field string) (uint32, error) {
	data := func(def uint) uint32 {
		if errnoRet != nil {
			return uint32(*errnoRet) & 0xffff
		}
		return uint32(def)
	}
	switch a {
	case specs.ActAllow:
		return retAllow, nil
	case specs.ActErrno:
		return retErrno | data(uint(unix.EPERM)), nil
	case specs.ActKill, specs.ActKillThread:
		return retKillThread, nil
	case specs.ActKillProcess:
		return retKillProcess, nil
	case specs.ActTrap:
		return retTrap | data(0), nil
	case specs.ActTrace:
		return retTrace | data(0), nil
	case specs.ActLog:
		return retLog, nil
	case specs.ActNotify:
		return 0, fmt.Errorf("%s: %w: action %s needs a listener socket (linux.seccomp.listenerPath) and a supervisor; use SCMP_ACT_ERRNO or SCMP_ACT_KILL", field, ErrUnsupported, a)
	case "":
		return 0, fmt.Errorf("%s: no action given (e.g. SCMP_ACT_ERRNO, SCMP_ACT_ALLOW)", field)
	}
	return 0, fmt.Errorf("%s: unknown action %q (one of SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG)", field, a)
}

// flagValues are the seccomp(2) flags a profile may ask for.
var flagValues = map[specs.LinuxSeccompFlag]uint{
	specs.LinuxSeccompFlagLog:       unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow: unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	"SECCOMP_FILTER_FLAG_TSYNC":     unix.SECCOMP_FILTER_FLAG_TSYNC,
}

// rule is one syscall rule, ready to emit.
type rule struct {
	ret   uint32
	conds []specs.LinuxSeccompArg
}

// Compile checks a profile and compiles it for the architectures of this
// machine. Every error names the field at fault.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s.ListenerPath != "" || s.ListenerMetadata != "" {
		return nil, fmt.Errorf("linux.seccomp.listenerPath: %w: pbox has no seccomp notify supervisor", ErrUnsupported)
	}
	def, err := action(s.DefaultAction, s.DefaultErrnoRet, "linux.seccomp.defaultAction")
	if err != nil {
		return nil, err
	}
	p := &Program{}
	for _, f := range s.Flags {
		v, ok := flagValues[f]
		if !ok {
			return nil, fmt.Errorf("linux.seccomp.flags: %w: %s (pbox knows SECCOMP_FILTER_FLAG_TSYNC, _LOG and _SPEC_ALLOW)", ErrUnsupported, f)
		}
		p.Flags |= v
	}
	wanted := map[specs.Arch]bool{}
	for i, a := range s.Architectures {
		if !knownArches[a] {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: %q is not an architecture libseccomp knows (this machine's: %s)", i, a, strings.Join(Architectures(), ", "))
		}
		wanted[a] = true
	}
	var arches []arch
	for i, a := range nativeArches() {
		// The native architecture always, as in libseccomp (a filter
		// context starts with it, and runc never removes it); its compat
		// ABI when listed. Other listed architectures cannot occur here.
		if i == 0 || wanted[a.name] {
			arches = append(arches, a)
		}
	}
	// Check every rule once, whatever the architecture.
	rets := make([]uint32, len(s.Syscalls))
	for i, sc := range s.Syscalls {
		field := fmt.Sprintf("linux.seccomp.syscalls[%d]", i)
		if len(sc.Names) == 0 {
			return nil, fmt.Errorf("%s.names: empty: name at least one syscall", field)
		}
		for _, n := range sc.Names {
			if !known(n) {
				return nil, fmt.Errorf("%s.names: unknown syscall %q: check its spelling (man 2 syscalls)", field, n)
			}
		}
		if rets[i], err = action(sc.Action, sc.ErrnoRet, field+".action"); err != nil {
			return nil, err
		}
		if len(sc.Args) > 6 {
			return nil, fmt.Errorf("%s.args: %d conditions: a syscall has 6 arguments", field, len(sc.Args))
		}
		for j, a := range sc.Args {
			if a.Index > 5 {
				return nil, fmt.Errorf("%s.args[%d].index: %d: a syscall has arguments 0 to 5", field, j, a.Index)
			}
			if _, ok := condLen[a.Op]; !ok {
				return nil, fmt.Errorf("%s.args[%d].op: unknown operator %q (one of SCMP_CMP_EQ, _NE, _LT, _LE, _GT, _GE, _MASKED_EQ)", field, j, a.Op)
			}
		}
		p.Rules += len(sc.Names)
	}
	var prog []unix.SockFilter
	prog = append(prog, stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch))
	sections := make([][]unix.SockFilter, len(arches))
	for i, a := range arches {
		sections[i] = compileArch(a, s.Syscalls, rets, def)
	}
	// The architecture checks jump to their sections, laid out after the
	// final "wrong architecture" return; jumps of more than 255 go through
	// an unconditional jump (whose offset is 32 bits).
	// Layout: [jeq a0][ja][jeq a1][ja]...[ret kill][sec0][sec1]...
	head := len(arches)*2 + 1
	offset := 0
	for i, a := range arches {
		// Distance from the instruction after this arch's ja to sec i.
		after := len(prog) + 2 // index after jeq+ja
		target := 1 + head + offset
		prog = append(prog, jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, a.audit, 0, 1))
		prog = append(prog, stmt(unix.BPF_JMP|unix.BPF_JA, uint32(target-after)))
		offset += len(sections[i])
	}
	// A syscall from an ABI the profile does not list: kill the process,
	// as libseccomp's default for a bad architecture.
	prog = append(prog, stmt(unix.BPF_RET|unix.BPF_K, retKillProcess))
	for _, sec := range sections {
		prog = append(prog, sec...)
	}
	if len(prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("linux.seccomp: the filter needs %d BPF instructions, more than the kernel's %d: list fewer syscalls or conditions", len(prog), unix.BPF_MAXINSNS)
	}
	p.Code = encode(prog)
	return p, nil
}

// compileArch emits one architecture's section: load the syscall number,
// then one check per syscall (or run of consecutive syscalls with the same
// plain action), sorted by number, then the default action.
func compileArch(a arch, syscalls []specs.LinuxSyscall, rets []uint32, def uint32) []unix.SockFilter {
	// Rules by syscall number: the tables are dense, from 0 to a few hundred.
	var maxNr uint32
	for _, sc := range a.table {
		maxNr = max(maxNr, sc.nr)
	}
	rules := make([][]rule, maxNr+1)
	for i, sc := range syscalls {
		for _, n := range sc.Names {
			if nr, ok := lookup(a.table, n); ok { // else a syscall of other architectures
				rules[nr] = append(rules[nr], rule{ret: rets[i], conds: sc.Args})
			}
		}
	}
	out := []unix.SockFilter{stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr)}
	if a.name == specs.ArchX86_64 {
		out = append(out,
			jump(unix.BPF_JMP|unix.BPF_JSET|unix.BPF_K, x32SyscallBit, 0, 1),
			stmt(unix.BPF_RET|unix.BPF_K, retKillProcess))
	}
	if def != retAllow && def != retLog {
		// runc's "enosys stub": a syscall newer than pbox's table (the
		// kernel's, not the profile's) fails with ENOSYS, not the default
		// action, so a program falls back as it would on an older kernel
		// (glibc's clone3 to clone, and the like). A syscall the table
		// knows but the profile does not list still gets the default.
		out = append(out,
			jump(unix.BPF_JMP|unix.BPF_JGT|unix.BPF_K, maxNr, 0, 1),
			stmt(unix.BPF_RET|unix.BPF_K, retErrno|uint32(unix.ENOSYS)))
	}
	for nr := uint32(0); nr <= maxNr; nr++ {
		if len(rules[nr]) == 0 {
			continue
		}
		if ret, ok := plainAction(rules[nr], def); ok {
			// A run of consecutive numbers with the same plain action is
			// one range check.
			last := nr
			for last+1 <= maxNr {
				r, ok := plainAction(rules[last+1], def)
				if !ok || r != ret || len(rules[last+1]) == 0 {
					break
				}
				last++
			}
			if last != nr {
				out = append(out,
					jump(unix.BPF_JMP|unix.BPF_JGE|unix.BPF_K, nr, 0, 2),
					jump(unix.BPF_JMP|unix.BPF_JGT|unix.BPF_K, last, 1, 0),
					stmt(unix.BPF_RET|unix.BPF_K, ret))
				nr = last
				continue
			}
		}
		block := syscallBlock(rules[nr], def)
		// if nr matches, fall into the block (which always returns);
		// otherwise skip it.
		if len(block) <= 255 {
			out = append(out, jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, nr, 0, uint8(len(block))))
		} else {
			out = append(out,
				jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, nr, 1, 0),
				stmt(unix.BPF_JMP|unix.BPF_JA, uint32(len(block))))
		}
		out = append(out, block...)
	}
	return append(out, stmt(unix.BPF_RET|unix.BPF_K, def))
}

// plainAction is the action of a syscall whose rules have no conditions.
func plainAction(rules []rule, def uint32) (uint32, bool) {
	if len(rules) == 0 {
		return def, true
	}
	if len(rules[0].conds) > 0 {
		return 0, false
	}
	return rules[0].ret, true
}

// syscallBlock is the code for one syscall once its number matched: each
// conditional rule in the profile's order, then the first unconditional
// rule (or the default). It ends in a return on every path, since the
// argument loads overwrite the number in the accumulator.
func syscallBlock(rules []rule, def uint32) (block []unix.SockFilter) {
	final := def
	for _, r := range rules {
		if len(r.conds) == 0 {
			final = r.ret
			break
		}
	}
	for _, r := range rules {
		if len(r.conds) == 0 {
			continue
		}
		n := 1 // the return at the end of the rule
		for _, c := range r.conds {
			n += condLen[c.Op]
		}
		// Each condition jumps to the end of its rule when it fails.
		for _, c := range r.conds {
			n -= condLen[c.Op]
			block = append(block, condition(c, uint8(n))...)
		}
		block = append(block, stmt(unix.BPF_RET|unix.BPF_K, r.ret))
	}
	return append(block, stmt(unix.BPF_RET|unix.BPF_K, final))
}

// condLen is the length of each comparison's code.
var condLen = map[specs.LinuxSeccompOperator]int{
	specs.OpEqualTo: 4, specs.OpNotEqual: 4, specs.OpMaskedEqual: 6,
	specs.OpGreaterThan: 5, specs.OpGreaterEqual: 5, specs.OpLessThan: 5, specs.OpLessEqual: 5,
}

// condition compares a 64-bit argument (two 32-bit words; little endian:
// the low word first) and falls through when it holds; when it does not,
// it jumps fail instructions past its own end.
func condition(c specs.LinuxSeccompArg, fail uint8) []unix.SockFilter {
	lo := uint32(offArgs + 8*c.Index)
	hi := lo + 4
	vlo, vhi := uint32(c.Value), uint32(c.Value>>32)
	ld := func(off uint32) unix.SockFilter { return stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, off) }
	const (
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jgt = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
		jge = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	)
	switch c.Op {
	case specs.OpEqualTo:
		return []unix.SockFilter{ld(hi), jump(jeq, vhi, 0, fail+2), ld(lo), jump(jeq, vlo, 0, fail)}
	case specs.OpNotEqual:
		// Holds if either word differs.
		return []unix.SockFilter{ld(hi), jump(jeq, vhi, 0, 2), ld(lo), jump(jeq, vlo, fail, 0)}
	case specs.OpMaskedEqual:
		mlo, mhi := uint32(c.Value), uint32(c.Value>>32)
		wlo, whi := uint32(c.ValueTwo), uint32(c.ValueTwo>>32)
		and := func(m uint32) unix.SockFilter { return stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, m) }
		return []unix.SockFilter{ld(hi), and(mhi), jump(jeq, whi, 0, fail+3), ld(lo), and(mlo), jump(jeq, wlo, 0, fail)}
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		// hi > v.hi holds; hi < v.hi fails; equal: compare the low words.
		last := jump(jgt, vlo, 0, fail)
		if c.Op == specs.OpGreaterEqual {
			last = jump(jge, vlo, 0, fail)
		}
		return []unix.SockFilter{ld(hi), jump(jgt, vhi, 3, 0), jump(jeq, vhi, 0, fail+2), ld(lo), last}
	default: // OpLessThan, OpLessEqual
		// hi > v.hi fails; hi < v.hi holds; equal: compare the low words.
		last := jump(jge, vlo, fail, 0)
		if c.Op == specs.OpLessEqual {
			last = jump(jgt, vlo, fail, 0)
		}
		return []unix.SockFilter{ld(hi), jump(jgt, vhi, fail+3, 0), jump(jeq, vhi, 0, 2), ld(lo), last}
	}
}

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// encode lays instructions out as the kernel's struct sock_filter.
func encode(prog []unix.SockFilter) []byte {
	b := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		b = binary.NativeEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.NativeEndian.AppendUint32(b, in.K)
	}
	return b
}

// decode is encode's inverse.
func decode(b []byte) []unix.SockFilter {
	prog := make([]unix.SockFilter, len(b)/8)
	for i := range prog {
		in := b[8*i:]
		prog[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(in), Jt: in[2], Jf: in[3], K: binary.NativeEndian.Uint32(in[4:])}
	}
	return prog
}

// Describe is a one-line summary for -v.
func (p *Program) Describe() string {
	var flags []string
	for name, v := range flagValues {
		if p.Flags&v != 0 {
			flags = append(flags, string(name))
		}
	}
	sort.Strings(flags)
	s := fmt.Sprintf("%d rules, %d BPF instructions", p.Rules, p.Len())
	if len(flags) > 0 {
		s += ", flags " + strings.Join(flags, "|")
	}
	return s
}
