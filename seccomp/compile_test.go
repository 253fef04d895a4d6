package seccomp

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// data is a struct seccomp_data.
type data struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

func (d data) word(off uint32) uint32 {
	switch {
	case off == offNr:
		return d.nr
	case off == offArch:
		return d.arch
	case off >= offArgs && off < offArgs+48:
		a := d.args[(off-offArgs)/8]
		if (off-offArgs)%8 == 4 {
			return uint32(a >> 32)
		}
		return uint32(a)
	}
	panic("load outside seccomp_data")
}

// run interprets a classic BPF program as the kernel's seccomp does,
// with the checks of the kernel's verifier that matter here (jumps stay
// inside the program; every path ends in a return).
func run(t *testing.T, p *Program, d data) uint32 {
	t.Helper()
	prog := decode(p.Code)
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			a = d.word(in.K)
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			a &= in.K
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var ok bool
			switch in.Code & 0xf0 {
			case unix.BPF_JEQ:
				ok = a == in.K
			case unix.BPF_JGT:
				ok = a > in.K
			case unix.BPF_JGE:
				ok = a >= in.K
			case unix.BPF_JSET:
				ok = a&in.K != 0
			}
			if ok {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		default:
			t.Fatalf("instruction %d: unknown code %#x", pc, in.Code)
		}
		if pc+1 >= len(prog) {
			t.Fatalf("instruction %d jumps past the end (%d instructions)", pc, len(prog))
		}
	}
	t.Fatal("fell off the end of the program")
	return 0
}

func native(t *testing.T) arch {
	a := nativeArches()
	if len(a) == 0 {
		t.Skipf("no syscall table for %s", runtime.GOARCH)
	}
	return a[0]
}

func nr(t *testing.T, a arch, name string) uint32 {
	t.Helper()
	n, ok := lookup(a.table, name)
	if !ok {
		t.Fatalf("%s has no syscall %q", a.name, name)
	}
	return n
}

func compile(t *testing.T, s *specs.LinuxSeccomp) *Program {
	t.Helper()
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var dockerCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

// TestDockerDefaultProfile runs the attacks of issue 10 through the
// compiled default profile: what Docker denies, pbox denies.
func TestDockerDefaultProfile(t *testing.T) {
	a := native(t)
	prof, err := Default(dockerCaps)
	if err != nil {
		t.Fatal(err)
	}
	p := compile(t, prof)
	eperm := uint32(retErrno | uint32(unix.EPERM))
	call := func(name string, args ...uint64) uint32 {
		d := data{nr: nr(t, a, name), arch: a.audit}
		copy(d.args[:], args)
		return run(t, p, d)
	}
	for _, c := range []struct {
		name string
		args []uint64
		want uint32
	}{
		{"read", nil, retAllow},
		{"write", nil, retAllow},
		{"exit_group", nil, retAllow},
		{"wait4", nil, retAllow},
		{"keyctl", nil, eperm},
		{"add_key", nil, eperm},
		{"request_key", nil, eperm},
		{"unshare", []uint64{unix.CLONE_NEWUSER}, eperm},
		{"unshare", []uint64{unix.CLONE_NEWNS}, eperm},
		{"mount", nil, eperm},
		{"umount2", nil, eperm},
		{"pivot_root", nil, eperm},
		{"perf_event_open", nil, eperm},
		{"bpf", nil, eperm},
		{"io_uring_setup", nil, eperm},
		{"open_by_handle_at", nil, eperm},
		{"init_module", nil, eperm},
		{"kexec_load", nil, eperm},
		{"setns", nil, eperm},
		{"personality", []uint64{0}, retAllow},
		{"personality", []uint64{0xffffffff}, retAllow},
		{"personality", []uint64{0x0400000}, eperm}, // READ_IMPLIES_EXEC
		{"clone", []uint64{uint64(unix.SIGCHLD)}, retAllow},
		{"clone", []uint64{unix.CLONE_NEWUSER | uint64(unix.SIGCHLD)}, eperm},
		{"clone", []uint64{unix.CLONE_NEWNS}, eperm},
		{"clone3", nil, retErrno | uint32(unix.ENOSYS)},
		{"socket", []uint64{unix.AF_INET}, retAllow},
		{"socket", []uint64{unix.AF_VSOCK}, eperm},
	} {
		if got := call(c.name, c.args...); got != c.want {
			t.Errorf("%s%v = %#x, want %#x", c.name, c.args, got, c.want)
		}
	}
	// x86-64: the 32-bit ABI is filtered by its own table; x32 and any
	// other ABI are killed.
	if a.name == specs.ArchX86_64 {
		i386 := nativeArches()[1]
		if got := run(t, p, data{nr: nr(t, i386, "read"), arch: i386.audit}); got != retAllow {
			t.Errorf("i386 read = %#x, want allow", got)
		}
		if got := run(t, p, data{nr: nr(t, i386, "keyctl"), arch: i386.audit}); got != eperm {
			t.Errorf("i386 keyctl = %#x, want EPERM", got)
		}
		if got := run(t, p, data{nr: x32SyscallBit | nr(t, a, "read"), arch: a.audit}); got != retKillProcess {
			t.Errorf("x32 read = %#x, want kill", got)
		}
	}
	if got := run(t, p, data{nr: 0, arch: 0x12345678}); got != retKillProcess {
		t.Errorf("unknown architecture = %#x, want kill", got)
	}

	// With CAP_SYS_ADMIN, Docker allows mount and unshare.
	admin, err := Default(append(append([]string{}, dockerCaps...), "CAP_SYS_ADMIN"))
	if err != nil {
		t.Fatal(err)
	}
	p = compile(t, admin)
	for _, n := range []string{"mount", "unshare", "setns"} {
		if got := call(n); got != retAllow {
			t.Errorf("with CAP_SYS_ADMIN: %s = %#x, want allow", n, got)
		}
	}
}

// evaluate is the meaning of a profile, written plainly: the reference
// the compiled program must agree with.
func evaluate(s *specs.LinuxSeccomp, name string, args [6]uint64) uint32 {
	def, _ := action(s.DefaultAction, s.DefaultErrnoRet, "")
	var plain *uint32
	for _, sc := range s.Syscalls {
		hit := false
		for _, n := range sc.Names {
			hit = hit || n == name
		}
		if !hit {
			continue
		}
		ret, _ := action(sc.Action, sc.ErrnoRet, "")
		if len(sc.Args) == 0 {
			if plain == nil {
				plain = &ret
			}
			continue
		}
		all := true
		for _, c := range sc.Args {
			v := args[c.Index]
			var ok bool
			switch c.Op {
			case specs.OpEqualTo:
				ok = v == c.Value
			case specs.OpNotEqual:
				ok = v != c.Value
			case specs.OpLessThan:
				ok = v < c.Value
			case specs.OpLessEqual:
				ok = v <= c.Value
			case specs.OpGreaterThan:
				ok = v > c.Value
			case specs.OpGreaterEqual:
				ok = v >= c.Value
			case specs.OpMaskedEqual:
				ok = v&c.Value == c.ValueTwo
			}
			all = all && ok
		}
		if all {
			return ret
		}
	}
	if plain != nil {
		return *plain
	}
	return def
}

// TestCompileAgreesWithTheProfile compiles random profiles with every
// operator, on values that straddle the 32-bit halves, and checks the
// program against evaluate on random and edge-case arguments.
func TestCompileAgreesWithTheProfile(t *testing.T) {
	a := native(t)
	rng := rand.New(rand.NewSource(1))
	names := []string{"read", "write", "openat", "close", "mmap", "ioctl", "fcntl", "getpid", "kill", "socket"}
	ops := []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
		specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual}
	edges := []uint64{0, 1, 0xffffffff, 0x100000000, 0x100000001, 0xffffffff00000000, ^uint64(0), 0x7fffffff, 0x80000000}
	value := func() uint64 {
		if rng.Intn(2) == 0 {
			return edges[rng.Intn(len(edges))]
		}
		return rng.Uint64() >> uint(rng.Intn(64))
	}
	errno := func() *uint { e := uint(rng.Intn(100) + 1); return &e }
	for round := 0; round < 200; round++ {
		s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: errno()}
		for i := 0; i < 1+rng.Intn(12); i++ {
			sc := specs.LinuxSyscall{Names: []string{names[rng.Intn(len(names))]}, Action: specs.ActErrno, ErrnoRet: errno()}
			if rng.Intn(3) == 0 {
				sc.Action = specs.ActAllow
			}
			for j := 0; j < rng.Intn(4); j++ {
				sc.Args = append(sc.Args, specs.LinuxSeccompArg{Index: uint(rng.Intn(6)), Op: ops[rng.Intn(len(ops))], Value: value(), ValueTwo: value()})
			}
			s.Syscalls = append(s.Syscalls, sc)
		}
		p := compile(t, s)
		for k := 0; k < 200; k++ {
			name := names[rng.Intn(len(names))]
			var args [6]uint64
			for i := range args {
				args[i] = value()
			}
			// Hit the compared values exactly, and one off, now and then.
			for _, sc := range s.Syscalls {
				for _, c := range sc.Args {
					switch rng.Intn(4) {
					case 0:
						args[c.Index] = c.Value
					case 1:
						args[c.Index] = c.Value + 1
					}
				}
			}
			got := run(t, p, data{nr: nr(t, a, name), arch: a.audit, args: args})
			if want := evaluate(s, name, args); got != want {
				t.Fatalf("round %d: %s%v = %#x, want %#x\nprofile: %+v", round, name, args, got, want, s.Syscalls)
			}
		}
	}
}

// TestCompileManySyscalls checks long jumps: a rule block longer than a
// conditional jump can skip, and architecture sections far apart.
func TestCompileManySyscalls(t *testing.T) {
	a := native(t)
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{nativeArches()[0].name, nativeArches()[1].name}}
	for i := 0; i < 60; i++ {
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"ioctl"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 1, Op: specs.OpEqualTo, Value: uint64(i)}}})
	}
	for _, sc := range a.table {
		if sc.name != "ioctl" {
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{sc.name}, Action: specs.ActKillProcess})
		}
	}
	p := compile(t, s)
	if got := run(t, p, data{nr: nr(t, a, "ioctl"), arch: a.audit, args: [6]uint64{0, 59}}); got != retErrno|1 {
		t.Errorf("ioctl(_, 59) = %#x, want EPERM", got)
	}
	if got := run(t, p, data{nr: nr(t, a, "ioctl"), arch: a.audit, args: [6]uint64{0, 60}}); got != retAllow {
		t.Errorf("ioctl(_, 60) = %#x, want allow", got)
	}
	if got := run(t, p, data{nr: nr(t, a, "read"), arch: a.audit}); got != retKillProcess {
		t.Errorf("read = %#x, want kill", got)
	}
	compat := nativeArches()[1]
	if got := run(t, p, data{nr: nr(t, compat, "ioctl"), arch: compat.audit, args: [6]uint64{0, 3}}); got != retErrno|1 {
		t.Errorf("compat ioctl(_, 3) = %#x, want EPERM", got)
	}
}

func TestCompileRefusesBadProfiles(t *testing.T) {
	errno := uint(1)
	for _, c := range []struct {
		s    specs.LinuxSeccomp
		want string
	}{
		{specs.LinuxSeccomp{}, "defaultAction: no action"},
		{specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"}, `unknown action "SCMP_ACT_BOGUS"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActNotify}, "needs a listener"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/x.sock"}, "listenerPath"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NEW_LISTENER"}}, "flags"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"reed"}, Action: specs.ActErrno}}}, `syscalls[0].names: unknown syscall "reed"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActNotify}}}, "syscalls[0].action"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, ErrnoRet: &errno,
			Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "args[0].index"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_LIKE"}}}}}, "unknown operator"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Action: specs.ActErrno}}}, "names: empty"},
	} {
		_, err := Compile(&c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compile(%+v) = %v, want an error with %q", c.s, err, c.want)
		}
	}
	_, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActNotify})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("notify: %v is not ErrUnsupported", err)
	}
}

func TestTablesAreSorted(t *testing.T) {
	for _, tab := range [][]syscallNumber{syscallsX86_64, syscallsI386, syscallsAarch64, syscallsArm} {
		for i := 1; i < len(tab); i++ {
			if tab[i-1].name >= tab[i].name {
				t.Fatalf("table not sorted at %q, %q", tab[i-1].name, tab[i].name)
			}
		}
	}
	if n, ok := lookup(syscallsX86_64, "read"); !ok || n != 0 {
		t.Errorf("x86_64 read = %d %v", n, ok)
	}
}

// BenchmarkDefault is what choosing and compiling Docker's profile costs
// on every start of a box.
func BenchmarkDefault(b *testing.B) {
	for i := 0; i < b.N; i++ {
		prof, err := Default(dockerCaps)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(prof); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDefaultProfileOnly(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Default(dockerCaps); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCompileCached(t *testing.T) {
	dir := t.TempDir()
	prof, err := Default(dockerCaps)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := CompileCached("", prof)
	if err != nil {
		t.Fatal(err)
	}
	first, err := CompileCached(dir, prof)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "profile-*.bpf"))
	if len(files) != 1 {
		t.Fatalf("cache holds %v, want one file", files)
	}
	cached, err := CompileCached(dir, prof)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cached.Code, fresh.Code) || !bytes.Equal(first.Code, fresh.Code) || cached.Rules != fresh.Rules {
		t.Fatal("the cached program differs from a fresh compile")
	}
	// Another profile (other capabilities) is another key; a damaged
	// file is compiled anew.
	admin, _ := Default(append([]string{"CAP_SYS_ADMIN"}, dockerCaps...))
	withAdmin, err := CompileCached(dir, admin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(withAdmin.Code, fresh.Code) {
		t.Fatal("CAP_SYS_ADMIN's profile compiled to the same program: the cache mixed up two profiles")
	}
	if files, _ = filepath.Glob(filepath.Join(dir, "profile-*.bpf")); len(files) != 2 {
		t.Fatalf("cache holds %v, want two files", files)
	}
	os.WriteFile(files[0], []byte("garbage"), 0o600)
	os.WriteFile(files[1], []byte("garbage"), 0o600)
	again, err := CompileCached(dir, prof)
	if err != nil || !bytes.Equal(again.Code, fresh.Code) {
		t.Fatalf("after damage: %v", err)
	}
}

// The cache key must change with every field of a profile: a field it
// left out would let two profiles share a compiled program.
func TestProfileDigestCoversEveryField(t *testing.T) {
	fields := func(v any) string {
		var names []string
		typ := reflect.TypeOf(v)
		for i := 0; i < typ.NumField(); i++ {
			names = append(names, typ.Field(i).Name)
		}
		return strings.Join(names, " ")
	}
	for _, tt := range []struct {
		v    any
		want string
	}{
		{specs.LinuxSeccomp{}, "DefaultAction DefaultErrnoRet Architectures Flags ListenerPath ListenerMetadata Syscalls"},
		{specs.LinuxSyscall{}, "Names Action ErrnoRet Args"},
		{specs.LinuxSeccompArg{}, "Index Value ValueTwo Op"},
	} {
		if got := fields(tt.v); got != tt.want {
			t.Errorf("%T has fields %q; profileDigest writes %q: write the new ones too", tt.v, got, tt.want)
		}
	}
	one := uint(1)
	base := func() *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 1, Value: 2, ValueTwo: 3, Op: specs.OpEqualTo}}}}}
	}
	seen := map[[32]byte]string{profileDigest(base()): "base"}
	for name, edit := range map[string]func(*specs.LinuxSeccomp){
		"defaultAction":   func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActAllow },
		"defaultErrnoRet": func(s *specs.LinuxSeccomp) { s.DefaultErrnoRet = &one },
		"architectures":   func(s *specs.LinuxSeccomp) { s.Architectures = append(s.Architectures, specs.ArchX86) },
		"flags":           func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog} },
		"listenerPath":    func(s *specs.LinuxSeccomp) { s.ListenerPath = "/x" },
		"listenerMeta":    func(s *specs.LinuxSeccomp) { s.ListenerMetadata = "x" },
		"names split":     func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names = []string{"readwrite"} },
		"action":          func(s *specs.LinuxSeccomp) { s.Syscalls[0].Action = specs.ActLog },
		"errnoRet":        func(s *specs.LinuxSeccomp) { s.Syscalls[0].ErrnoRet = &one },
		"arg index":       func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].Index = 0 },
		"arg value":       func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].Value = 0 },
		"arg valueTwo":    func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].ValueTwo = 0 },
		"arg op":          func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].Op = specs.OpNotEqual },
		"no args":         func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args = nil },
		"two syscalls":    func(s *specs.LinuxSeccomp) { s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"x"}}) },
	} {
		s := base()
		edit(s)
		d := profileDigest(s)
		if other, ok := seen[d]; ok {
			t.Errorf("changing %s gives the digest of %s", name, other)
		}
		seen[d] = name
	}
}

func BenchmarkDefaultCached(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < b.N; i++ {
		prof, err := Default(dockerCaps)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := CompileCached(dir, prof); err != nil {
			b.Fatal(err)
		}
	}
}

// Issue 21: a syscall newer than pbox's table fails with ENOSYS (runc's
// stub), so programs fall back; one the table knows but the profile does
// not list gets the default action; a profile that allows by default
// allows the new ones too.
func TestUnknownSyscallsAreENOSYS(t *testing.T) {
	a := native(t)
	var maxNr uint32
	for _, sc := range a.table {
		maxNr = max(maxNr, sc.nr)
	}
	enosys, eperm := uint32(retErrno|uint32(unix.ENOSYS)), uint32(retErrno|uint32(unix.EPERM))
	deny := compile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActAllow}}})
	for _, tt := range []struct {
		nr   uint32
		want uint32
	}{
		{maxNr + 1, enosys}, {499, enosys}, {0x3fffffff, enosys},
		{nr(t, a, "getpid"), retAllow}, {nr(t, a, "mount"), eperm}, {maxNr, eperm},
	} {
		if got := run(t, deny, data{nr: tt.nr, arch: a.audit}); got != tt.want {
			t.Errorf("syscall %d under a denying default: %#x, want %#x", tt.nr, got, tt.want)
		}
	}
	allow := compile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mount"}, Action: specs.ActErrno}}})
	if got := run(t, allow, data{nr: maxNr + 1, arch: a.audit}); got != retAllow {
		t.Errorf("a new syscall under an allowing default: %#x", got)
	}
}

// Issue 19: an architecture name libseccomp does not know is refused by
// name, as runc refuses it; a list without the native architecture
// still filters it (libseccomp keeps the native one), so the box runs.
func TestArchitecturesAsLibseccomp(t *testing.T) {
	prof := func(arches ...specs.Arch) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: arches,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActErrno}}}
	}
	if _, err := Compile(prof("SCMP_ARCH_BOGUS")); err == nil || !strings.Contains(err.Error(), "architectures[0]") {
		t.Errorf("an unknown architecture: %v", err)
	}
	foreign := specs.ArchPPC64LE
	native, err := Compile(prof())
	if err != nil {
		t.Fatal(err)
	}
	only, err := Compile(prof(foreign))
	if err != nil {
		t.Fatalf("a known foreign architecture: %v", err)
	}
	if only.Len() != native.Len() {
		t.Errorf("a list of only %s compiles to %d instructions, the native filter to %d: the native architecture must stay", foreign, only.Len(), native.Len())
	}
}
