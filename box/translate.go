package box

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/internal/capnames"
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/rootfs"
	"github.com/pbox-dev/pbox/seccomp"
	"golang.org/x/sys/unix"
)

// An OCI config.json becomes a box here: Translate checks it against the
// runtime-spec and what pbox supports, and turns it into the box's Config
// and Options. Every door goes through it: pbox create reads a bundle's
// config.json, pbox run turns its flags into one first (RunSpec).

// InitAnnotation, set to "true" in a config's annotations, makes
// pbox-init the box's PID 1 with process.args its child; without it
// process.args is PID 1 itself, as under runc. pbox run's configs set it
// (but with --no-init).
const InitAnnotation = "run.pbox.init"

// ErrUnsupported wraps every config field pbox does not implement: it is
// refused by name, never ignored.
var ErrUnsupported = errors.New("not supported by pbox")

// Plan is a config.json translated: what Start needs, and what the
// state keeps of it.
type Plan struct {
	Config  Config
	Options Options // Options.Filesystem is nil without a mount namespace
	// Rootfs is the box's root on the host; "" for the host's own /.
	Rootfs              string
	Poststart, Poststop []Hook
	// Warnings name fields accepted but not applied (as runc warns).
	Warnings []string
}

// LoadSpec reads and parses BUNDLE/config.json.
func LoadSpec(bundle string) (*specs.Spec, error) {
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: no config.json in the bundle: write one with `pbox spec` (in %s)", path, bundle)
	}
	if err != nil {
		return nil, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	return &spec, nil
}

// Translate checks spec against the runtime-spec and what pbox supports,
// and turns it into a box of this state root. bundle is absolute (""
// for pbox run, whose config has absolute paths only); id names the box.
// Compiled seccomp filters are cached in the state root.
func (s Store) Translate(spec *specs.Spec, bundle, id string) (*Plan, error) {
	if !strings.HasPrefix(spec.Version, "1.") {
		return nil, fmt.Errorf("ociVersion %q: pbox implements runtime-spec 1.x", spec.Version)
	}
	if spec.Process == nil {
		return nil, errors.New("process: missing (create needs a process to run)")
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, errors.New("root.path: missing")
	}
	if spec.Linux == nil {
		return nil, errors.New("linux: missing (pbox runs Linux containers)")
	}
	for _, u := range []struct {
		set   bool
		field string
	}{
		{spec.Windows != nil, "windows"}, {spec.Solaris != nil, "solaris"}, {spec.VM != nil, "vm"},
		{spec.ZOS != nil, "zos"}, {spec.FreeBSD != nil, "freebsd"}, {spec.Domainname != "", "domainname"},
	} {
		if u.set {
			return nil, fmt.Errorf("%s: %w", u.field, ErrUnsupported)
		}
	}
	// CDI devices an engine named in annotations (cdi.k8s.io/...), as
	// containerd and CRI-O write them with CDI injection off: applied
	// here, as the runtime would have to (runc ignores them).
	if names, err := cdiAnnotations(spec.Annotations); err != nil {
		return nil, err
	} else if len(names) > 0 {
		if err := injectCDI(spec, "annotations: CDI device", names, &cdiSpecs{dirs: DefaultCDISpecDirs}, false); err != nil {
			return nil, err
		}
	}
	b := &Plan{}
	cfg := &b.Config
	cfg.Name = id
	cfg.Hostname = spec.Hostname
	if spec.Linux.MountLabel != "" && !selinuxEnabled() {
		// As crun: a label for a security module that is off changes
		// nothing; say so rather than fail.
		b.Warnings = append(b.Warnings, fmt.Sprintf("linux.mountLabel %q is not applied: SELinux is off on this host", spec.Linux.MountLabel))
	}
	// process.args is the box's PID 1, as under runc; pbox's init (which
	// reaps and forwards signals) is asked for by an annotation, as pbox
	// run's config asks for it.
	switch v := spec.Annotations[InitAnnotation]; v {
	case "", "false":
		cfg.NoInit = true
	case "true":
	default:
		return nil, fmt.Errorf("annotations[%q] %q: give true (pbox-init is PID 1 and process.args its child) or false", InitAnnotation, v)
	}
	var processWarnings []string
	if err := translateProcess(spec.Process, cfg, &processWarnings); err != nil {
		return nil, fmt.Errorf("process.%w", err)
	}
	b.Warnings = append(b.Warnings, processWarnings...)
	root := spec.Root.Path
	if !filepath.IsAbs(root) {
		root = filepath.Join(bundle, root)
	}
	b.Rootfs = root
	if root == "/" {
		b.Rootfs = ""
	}
	if err := s.translateLinux(spec, bundle, root, b); err != nil {
		return nil, err
	}
	if err := translateHooks(spec.Hooks, b); err != nil {
		return nil, err
	}
	state := OCIState{OCIVersion: spec.Version, ID: id, Bundle: bundle, Annotations: spec.Annotations}
	cfg.HookState = &state
	return b, nil
}

// seccompCache is where compiled seccomp filters are kept: inside the
// state root, which only root can write ("" for no state root: none).
func (s Store) seccompCache() string {
	if s.Root == "" {
		return ""
	}
	return filepath.Join(s.Root, ".seccomp")
}

// checkNoMountNamespace accepts a config without a mount namespace only
// if it asks for nothing that needs one. A root.path other than / is not
// used, as runc does not use it there: the box keeps the host's /, and a
// warning says so.
func checkNoMountNamespace(spec *specs.Spec, root string, b *Plan) error {
	const why = "needs a mount namespace of the box's own: add {\"type\": \"mount\"} to linux.namespaces"
	if real, err := filepath.EvalSymlinks(root); err != nil || real != "/" {
		b.Warnings = append(b.Warnings, fmt.Sprintf("root.path %q is not used: without a mount namespace the box keeps the host's / (as under runc); add {\"type\": \"mount\"} to linux.namespaces for a root of its own", spec.Root.Path))
		b.Rootfs = ""
	}
	l := spec.Linux
	for _, f := range []struct {
		set   bool
		field string
	}{
		{spec.Root.Readonly, "root.readonly"}, {len(spec.Mounts) > 0, "mounts"},
		{len(l.MaskedPaths) > 0, "linux.maskedPaths"}, {len(l.ReadonlyPaths) > 0, "linux.readonlyPaths"},
		{len(l.Devices) > 0, "linux.devices"}, {len(l.Sysctl) > 0, "linux.sysctl"},
		{l.RootfsPropagation != "", "linux.rootfsPropagation"},
	} {
		if f.set {
			return fmt.Errorf("%s: %s", f.field, why)
		}
	}
	return nil
}

// ipcSysctls are the sysctls of an IPC namespace (besides fs.mqueue.*).
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// checkSysctls accepts only sysctls that belong to a namespace the box
// has of its own, with runc's rules (libcontainer/configs/validate): the
// IPC ones with an IPC namespace, net.* with a network namespace, the
// hostname and domain name with a UTS namespace. Any other would change
// the host (kernel.printk_ratelimit, vm.*, ...). A namespace joined by
// path counts unless it is pbox's own, i.e. the host's.
func checkSysctls(sysctls map[string]string, kinds []namespaces.Kind, join map[namespaces.Kind]string) error {
	keys := make([]string, 0, len(sysctls))
	for k := range sysctls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var need namespaces.Kind
		switch {
		case ipcSysctls[k] || strings.HasPrefix(k, "fs.mqueue."):
			need = namespaces.IPC
		case strings.HasPrefix(k, "net."):
			need = namespaces.Net
		case k == "kernel.hostname" || k == "kernel.domainname":
			need = namespaces.UTS
		default:
			return fmt.Errorf("linux.sysctl %q: not in a separate kernel namespace: setting it would change the host (only IPC sysctls, fs.mqueue.*, net.* and kernel.hostname/domainname can be set, with their namespace)", k)
		}
		if namespaces.Has(kinds, need) {
			continue
		}
		if p, ok := join[need]; ok {
			own, err := namespaces.IsOwn(p, need)
			if err != nil {
				return fmt.Errorf("linux.sysctl %q: %v", k, err)
			}
			if !own {
				continue
			}
		}
		return fmt.Errorf("linux.sysctl %q: needs a %s namespace of the box's own in linux.namespaces, or it would change the host's", k, need)
	}
	return nil
}

// rlimits are the setrlimit(2) resources by their runtime-spec names.
var rlimits = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// TranslateProcess is the process part alone, for pbox exec --process;
// warnings name what is accepted but not applied.
func TranslateProcess(p *specs.Process) (Process, []string, error) {
	var cfg Config
	var warnings []string
	if err := translateProcess(p, &cfg, &warnings); err != nil {
		return Process{}, nil, fmt.Errorf("process.%w", err)
	}
	return cfg.Process, warnings, nil
}

func translateProcess(p *specs.Process, cfg *Config, warnings *[]string) error {
	if len(p.Args) == 0 || p.Args[0] == "" {
		return errors.New("args: empty: name the program to run")
	}
	if p.CommandLine != "" {
		return fmt.Errorf("commandLine: %w (Windows only): use args", ErrUnsupported)
	}
	if p.Cwd == "" || !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("cwd %q: must be an absolute path", p.Cwd)
	}
	for _, u := range []struct {
		set   bool
		field string
	}{
		{p.ApparmorProfile != "", "apparmorProfile"}, {p.SelinuxLabel != "", "selinuxLabel"},
		{p.User.Username != "", "user.username"},
	} {
		if u.set {
			return fmt.Errorf("%s: %w", u.field, ErrUnsupported)
		}
	}
	if err := translateScheduling(p, cfg); err != nil {
		return err
	}
	cfg.Args, cfg.Env, cfg.Cwd = p.Args, p.Env, p.Cwd
	if cfg.Env == nil {
		cfg.Env = []string{}
	}
	for _, kv := range p.Env {
		if !strings.Contains(kv, "=") {
			return fmt.Errorf("env %q: use KEY=VALUE", kv)
		}
	}
	cfg.Terminal = p.Terminal
	if p.ConsoleSize != nil && p.Terminal {
		if p.ConsoleSize.Height > 0xffff || p.ConsoleSize.Width > 0xffff {
			return fmt.Errorf("consoleSize %dx%d: a terminal has at most 65535 rows and columns", p.ConsoleSize.Height, p.ConsoleSize.Width)
		}
		cfg.ConsoleSize = &ConsoleSize{Rows: uint16(p.ConsoleSize.Height), Cols: uint16(p.ConsoleSize.Width)}
	}
	cfg.NoNewPrivileges = p.NoNewPrivileges
	cfg.OOMScoreAdj = p.OOMScoreAdj
	cfg.Umask = p.User.Umask
	if p.User.UID != 0 || p.User.GID != 0 || len(p.User.AdditionalGids) > 0 {
		cfg.User = &User{UID: p.User.UID, GID: p.User.GID, Groups: p.User.AdditionalGids}
	}
	for i, r := range p.Rlimits {
		n, ok := rlimits[r.Type]
		if !ok {
			return fmt.Errorf("rlimits[%d].type %q: not a Linux rlimit (RLIMIT_NOFILE, RLIMIT_NPROC, ...)", i, r.Type)
		}
		if r.Soft > r.Hard {
			return fmt.Errorf("rlimits[%d] (%s): soft %d is above hard %d", i, r.Type, r.Soft, r.Hard)
		}
		cfg.Rlimits = append(cfg.Rlimits, Rlimit{Name: r.Type, Resource: n, Soft: r.Soft, Hard: r.Hard})
	}
	caps, err := translateCapabilities(p.Capabilities)
	if err != nil {
		return err
	}
	cfg.Capabilities, cfg.Inheritable, cfg.Ambient = caps.bounding, caps.inheritable, caps.ambient
	*warnings = append(*warnings, caps.warnings...)
	return nil
}

type capSets struct {
	bounding, inheritable, ambient []int
	warnings                       []string
}

// translateCapabilities maps the five OCI sets onto what pbox sets, as
// runc sets them: the bounding set, then (after the change of user) the
// inheritable set and the ambient set, raised one by one. What exec(2)
// gives the process follows from those (capabilities(7)): root gets its
// bounding and inheritable sets as effective and permitted, another user
// its ambient set; the config's effective and permitted sets are checked
// and accepted, as runc accepts them, but exec recomputes both (containerd
// sends the default set there for every non-root Kubernetes container).
//
// What the kernel would refuse at start is refused here, by field: an
// inheritable capability outside the bounding set (capset) and any
// capability pbox does not hold itself (runc and crun refuse those too).
// An ambient one that is not inheritable, which the kernel will not raise,
// is left out with a warning, as runc warns and goes on: `runc spec` and
// `crun spec` write exactly that (ambient without inheritable).
func translateCapabilities(c *specs.LinuxCapabilities) (capSets, error) {
	var out capSets
	if c == nil {
		out.bounding = []int{} // no capabilities at all, as runc does
		return out, nil
	}
	held := map[int]bool{}
	for _, v := range heldCapabilities() {
		held[v] = true
	}
	parse := func(field string, names []string) ([]int, map[int]bool, error) {
		var list []int
		set := map[int]bool{}
		for _, n := range names {
			v, ok := capnames.Parse(n)
			if !ok {
				return nil, nil, fmt.Errorf("capabilities.%s: %q is not a capability (see capabilities(7))", field, n)
			}
			if !held[v] {
				return nil, nil, fmt.Errorf("capabilities.%s: %s: pbox does not hold it (it is not in pbox's own bounding set, see CapBnd in /proc/self/status), so no box it starts can: leave it out", field, capnames.Name(v))
			}
			if !set[v] {
				list = append(list, v)
				set[v] = true
			}
		}
		return list, set, nil
	}
	bounding, bset, err := parse("bounding", c.Bounding)
	if err != nil {
		return out, err
	}
	for _, f := range []struct {
		name  string
		names []string
	}{{"effective", c.Effective}, {"permitted", c.Permitted}} {
		if _, _, err := parse(f.name, f.names); err != nil {
			return out, err
		}
	}
	inheritable, iset, err := parse("inheritable", c.Inheritable)
	if err != nil {
		return out, err
	}
	ambient, _, err := parse("ambient", c.Ambient)
	if err != nil {
		return out, err
	}
	for _, v := range inheritable {
		if !bset[v] {
			return out, fmt.Errorf("capabilities.inheritable: %s is not in the bounding set (the kernel refuses an inheritable capability beyond it): add it to bounding, or leave it out", capnames.Name(v))
		}
	}
	var raised []int
	for _, v := range ambient {
		if !iset[v] {
			out.warnings = append(out.warnings, fmt.Sprintf("process.capabilities.ambient: %s is not raised: it is not in the inheritable set (the kernel raises an ambient capability only if it is permitted and inheritable; runc skips it too): add it to inheritable", capnames.Name(v)))
			continue
		}
		raised = append(raised, v)
	}
	ambient = raised
	out.bounding = bounding
	if out.bounding == nil {
		out.bounding = []int{}
	}
	out.inheritable, out.ambient = inheritable, ambient
	return out, nil
}

// selinuxEnabled reports whether SELinux is on (its filesystem mounted and
// enforcing or permissive): then a mount label would mean something.
func selinuxEnabled() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

// intelRdtWhy says why linux.intelRdt is refused on this host.
func intelRdtWhy() string {
	if _, err := os.Stat("/sys/fs/resctrl/schemata"); err != nil {
		return "resctrl is not mounted at /sys/fs/resctrl (mount -t resctrl resctrl /sys/fs/resctrl), and pbox makes no resctrl groups"
	}
	return "pbox makes no resctrl groups (cache and memory-bandwidth allocation)"
}

// ociNamespaces maps the runtime-spec's namespace names to pbox's kinds.
var ociNamespaces = map[specs.LinuxNamespaceType]namespaces.Kind{
	specs.PIDNamespace: namespaces.PID, specs.NetworkNamespace: namespaces.Net,
	specs.MountNamespace: namespaces.Mount, specs.IPCNamespace: namespaces.IPC,
	specs.UTSNamespace: namespaces.UTS, specs.CgroupNamespace: namespaces.Cgroup,
}

func (s Store) translateLinux(spec *specs.Spec, bundle, root string, b *Plan) error {
	l := spec.Linux
	cfg, opt := &b.Config, &b.Options
	for _, u := range []struct {
		set   bool
		field string
		why   string
	}{
		{l.MountLabel != "" && selinuxEnabled(), "linux.mountLabel", "SELinux is on here, and pbox has no SELinux support: its label would not be applied"},
		{l.IntelRdt != nil, "linux.intelRdt", intelRdtWhy()},
		{l.Personality != nil, "linux.personality", ""},
		{l.TimeOffsets != nil, "linux.timeOffsets", "no time namespaces"},
		{l.MemoryPolicy != nil, "linux.memoryPolicy", ""},
		{len(l.NetDevices) > 0, "linux.netDevices", ""},
	} {
		if u.set {
			if u.why != "" {
				return fmt.Errorf("%s: %w: %s", u.field, ErrUnsupported, u.why)
			}
			return fmt.Errorf("%s: %w", u.field, ErrUnsupported)
		}
	}
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range l.Namespaces {
		if seen[ns.Type] {
			return fmt.Errorf("linux.namespaces[%d]: %s is listed twice", i, ns.Type)
		}
		seen[ns.Type] = true
		k, ok := ociNamespaces[ns.Type]
		if ns.Type == specs.UserNamespace {
			if ns.Path != "" {
				return fmt.Errorf("linux.namespaces[%d]: user with a path: %w: joining a user namespace needs a single-threaded process (cgo); pbox can only make a new one", i, ErrUnsupported)
			}
			k, ok = namespaces.User, true
		}
		if !ok {
			return fmt.Errorf("linux.namespaces[%d]: type %q: %w", i, ns.Type, ErrUnsupported)
		}
		if ns.Path != "" {
			if _, err := os.Stat(ns.Path); err != nil {
				return fmt.Errorf("linux.namespaces[%d].path: %w", i, err)
			}
			if opt.Join == nil {
				opt.Join = map[namespaces.Kind]string{}
			}
			opt.Join[k] = ns.Path
			continue
		}
		cfg.Namespaces = append(cfg.Namespaces, k)
	}
	if seen[specs.UserNamespace] != (len(l.UIDMappings) > 0) || seen[specs.UserNamespace] != (len(l.GIDMappings) > 0) {
		return errors.New("linux.uidMappings and linux.gidMappings: give both with a new user namespace, and neither without one")
	}
	for _, m := range l.UIDMappings {
		opt.UIDMappings = append(opt.UIDMappings, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	for _, m := range l.GIDMappings {
		opt.GIDMappings = append(opt.GIDMappings, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	if !seen[specs.MountNamespace] {
		// Without a mount namespace the box shares the host's mounts and
		// root, as runc allows: nothing can be mounted, masked or made
		// read-only for it alone, so a config that asks for any of that
		// is refused by field rather than half done.
		if err := checkNoMountNamespace(spec, root, b); err != nil {
			return err
		}
	}
	if cfg.Hostname != "" && !namespaces.Has(cfg.Namespaces, namespaces.UTS) {
		// A UTS namespace joined by path takes the hostname too (as runc),
		// unless it is the host's own.
		p, joined := opt.Join[namespaces.UTS]
		own := true
		if joined {
			var err error
			if own, err = namespaces.IsOwn(p, namespaces.UTS); err != nil {
				return fmt.Errorf("hostname: %v", err)
			}
		}
		if own {
			return errors.New("hostname: needs a uts namespace of the box's own in linux.namespaces (new, or joined by path), or the host's hostname would change")
		}
		cfg.HostnameInJoinedUTS = true
	}
	if err := translateResources(l, b); err != nil {
		return err
	}
	if err := checkSysctls(l.Sysctl, cfg.Namespaces, opt.Join); err != nil {
		return err
	}
	if l.Seccomp != nil {
		var err error
		if cfg.Seccomp, err = seccomp.CompileCached(s.seccompCache(), l.Seccomp); err != nil {
			return err
		}
	}
	{
		// Every box starts from no device at all (a config without rules
		// gets no more than one that denies all first, as containerd's
		// and podman's do); the config's rules come next; the standard
		// nodes stay usable whatever the rules say, as in runc (a box
		// cannot work without /dev/null), and so do the nodes the config
		// creates, unless a rule of its own says what it may do with one
		// (docker run --device HOST:BOX:r sends the node and an "r" rule).
		devs := append(cgroups.DefaultDeviceRules()[:1], opt.Limits.Devices...)
		devs = append(devs, cgroups.DefaultDeviceRules()[1:]...)
		for _, d := range l.Devices {
			if d.Type == "c" || d.Type == "b" || d.Type == "u" {
				t := byte('c')
				if d.Type == "b" {
					t = 'b'
				}
				if !namesDevice(opt.Limits.Devices, t, d.Major, d.Minor) {
					devs = append(devs, cgroups.DeviceRule{Allow: true, Type: t, Major: d.Major, Minor: d.Minor, Access: "rwm"})
				}
			}
		}
		opt.Limits.Devices = devs
	}
	cgPath := l.CgroupsPath
	if s.SystemdCgroup {
		// runc's systemd driver: the path is SLICE:PREFIX:NAME, by default
		// system.slice and the runtime's name; the cgroup is a scope.
		if cgPath == "" {
			cgPath = s.systemdCgroupsPath("system.slice", cfg.Name)
		} else if !strings.Contains(cgPath, ":") {
			return fmt.Errorf("linux.cgroupsPath: expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got %q instead", cgPath)
		}
		opt.SystemdScope = true
	}
	parent, name, err := cgroupPath(cgPath)
	if err != nil {
		return err
	}
	if cgPath == "" {
		// pbox/<id>, unique to this state root (CgroupLeaf), as pbox run.
		parent, name = "pbox", s.CgroupLeaf(cfg.Name)
	}
	opt.CgroupParent, opt.CgroupName = parent, name

	fs := rootfs.BundleSpec{Root: root, ReadOnly: spec.Root.Readonly, MaskedPaths: l.MaskedPaths, ReadOnlyPaths: l.ReadonlyPaths, Sysctl: l.Sysctl}
	switch l.RootfsPropagation {
	case "", "private", "rprivate":
	case "slave", "rslave":
		fs.Propagation = rootfs.PropagationSlave
	case "shared", "rshared":
		// As runc: the mounts are shared from the start, so that a mount
		// shared with the host (a volume of a shared host directory)
		// stays its peer; PlanBundle makes private only what pivot_root
		// requires, and / is shared again after it.
		_, prop, _ := rootfs.ParseMountOptions([]string{l.RootfsPropagation})
		fs.Propagation, fs.RootPropagation = prop, prop
	case "unbindable", "runbindable":
		// Unbindable, the root could not be bound onto itself: given
		// after pivot_root, as crun does.
		_, prop, _ := rootfs.ParseMountOptions([]string{l.RootfsPropagation})
		fs.RootPropagation = prop
	default:
		return fmt.Errorf("linux.rootfsPropagation %q: use private, slave, shared or unbindable (each also with r)", l.RootfsPropagation)
	}
	for i, m := range spec.Mounts {
		if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
			return fmt.Errorf("mounts[%d]: uidMappings/gidMappings: %w", i, ErrUnsupported)
		}
		src := m.Source
		flags, _, _ := rootfs.ParseMountOptions(m.Options)
		if (m.Type == "bind" || flags&rootfs.BindFlag != 0) && !filepath.IsAbs(src) {
			src = filepath.Join(bundle, src)
		}
		fs.Mounts = append(fs.Mounts, rootfs.Mount{Source: src, Target: m.Destination, Type: m.Type, Options: m.Options})
	}
	for i, d := range l.Devices {
		if len(d.Type) != 1 || !strings.Contains("cbup", d.Type) {
			return fmt.Errorf("linux.devices[%d].type %q: use c, b, u or p", i, d.Type)
		}
		dev := rootfs.Device{Path: d.Path, Type: d.Type[0], Major: uint32(d.Major), Minor: uint32(d.Minor)}
		if d.FileMode != nil {
			dev.Mode = uint32(*d.FileMode)
		}
		if d.UID != nil {
			dev.UID = *d.UID
		}
		if d.GID != nil {
			dev.GID = *d.GID
		}
		fs.Devices = append(fs.Devices, dev)
	}
	if seen[specs.MountNamespace] {
		b.Options.Filesystem = &fs
	}
	return nil
}

// namesDevice reports whether a rule of rules names the device itself.
func namesDevice(rules []cgroups.DeviceRule, typ byte, major, minor int64) bool {
	for _, r := range rules {
		if r.Type == typ && r.Major == major && r.Minor == minor {
			return true
		}
	}
	return false
}

// cgroupPath splits linux.cgroupsPath into the parent and the leaf (""
// for an empty path): "/a/b" (cgroupfs), or "SLICE:PREFIX:NAME" (the
// systemd form containerd writes under Kubernetes' systemd driver) at the
// path runc's systemd driver gives it (cgroups.SystemdPath).
func cgroupPath(p string) (parent, name string, err error) {
	if p == "" {
		return "", "", nil
	}
	if strings.Contains(p, ":") {
		if p, err = cgroups.SystemdPath(p); err != nil {
			return "", "", fmt.Errorf("linux.cgroupsPath %w", err)
		}
	}
	if err := cgroups.ValidPath(p); err != nil {
		return "", "", fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	clean := strings.Trim(filepath.Clean("/"+p), "/")
	dir, leaf := filepath.Split(clean)
	dir = strings.Trim(dir, "/")
	if leaf == "" {
		return "", "", fmt.Errorf("linux.cgroupsPath %q: names no cgroup", p)
	}
	return dir, leaf, nil // dir "" is the top of each hierarchy
}

func translateResources(l *specs.Linux, b *Plan) error {
	if l.Resources == nil {
		return nil
	}
	warnings, err := MergeResources(&b.Options.Limits, l.Resources)
	b.Warnings = append(b.Warnings, warnings...)
	return err
}

// MergeResources applies linux.resources onto lim (for create and for
// pbox update, where what is not given stays as it is). warnings name
// the fields accepted and not applied, as runc 1.2 warns of them.
func MergeResources(lim *cgroups.Limits, r *specs.LinuxResources) (warnings []string, err error) {
	if err := mergeBlockIO(lim, r.BlockIO); err != nil {
		return nil, err
	}
	for i, h := range r.HugepageLimits {
		if !validPageSize(h.Pagesize) {
			return nil, fmt.Errorf("linux.resources.hugepageLimits[%d].pageSize %q: give a size such as 2MB or 1GB", i, h.Pagesize)
		}
		lim.Hugetlb = append(lim.Hugetlb, cgroups.HugepageLimit{PageSize: h.Pagesize, Limit: h.Limit})
	}
	for k, v := range r.Rdma {
		if k == "" || strings.ContainsAny(k, " \n") {
			return nil, fmt.Errorf("linux.resources.rdma: %q is not an RDMA device's name", k)
		}
		var parts []string
		if v.HcaHandles != nil {
			parts = append(parts, fmt.Sprintf("hca_handle=%d", *v.HcaHandles))
		}
		if v.HcaObjects != nil {
			parts = append(parts, fmt.Sprintf("hca_object=%d", *v.HcaObjects))
		}
		if len(parts) > 0 {
			if lim.Rdma == nil {
				lim.Rdma = map[string]string{}
			}
			lim.Rdma[k] = strings.Join(parts, " ")
		}
	}
	if n := r.Network; n != nil {
		if n.ClassID != nil {
			v := *n.ClassID
			lim.NetClassID = &v
		}
		for i, p := range n.Priorities {
			if p.Name == "" || strings.ContainsAny(p.Name, " \n/") {
				return nil, fmt.Errorf("linux.resources.network.priorities[%d].name %q: give an interface's name", i, p.Name)
			}
			if lim.NetPriorities == nil {
				lim.NetPriorities = map[string]uint32{}
			}
			lim.NetPriorities[p.Name] = p.Priority
		}
	}
	for k, v := range r.Unified {
		if err := cgroups.ValidUnifiedKey(k); err != nil {
			return nil, fmt.Errorf("linux.resources.unified: %v", err)
		}
		if lim.Unified == nil {
			lim.Unified = map[string]string{}
		}
		lim.Unified[k] = v
	}
	if m := r.Memory; m != nil {
		// Kernel memory limits: gone from cgroup v2 and deprecated on v1
		// since Linux 5.4; runc 1.2 accepts them with a warning and does
		// not apply them, and so does pbox.
		for _, k := range []struct {
			v     *int64
			field string
		}{{m.Kernel, "kernel"}, {m.KernelTCP, "kernelTCP"}} {
			if k.v != nil && *k.v != 0 {
				warnings = append(warnings, fmt.Sprintf("linux.resources.memory.%s: kernel memory limits are not applied (deprecated by the kernel; runc 1.2 ignores them too)", k.field))
			}
		}
		if m.UseHierarchy != nil && !*m.UseHierarchy {
			return nil, fmt.Errorf("linux.resources.memory.useHierarchy false: %w: memory cgroups are always hierarchical on this kernel", ErrUnsupported)
		}
		if m.Swappiness != nil {
			if *m.Swappiness > 100 {
				return nil, fmt.Errorf("linux.resources.memory.swappiness %d: give 0 to 100", *m.Swappiness)
			}
			v := *m.Swappiness
			lim.MemorySwappiness = &v
		}
		if m.DisableOOMKiller != nil {
			lim.DisableOOMKiller = *m.DisableOOMKiller
		}
		if m.CheckBeforeUpdate != nil {
			lim.CheckBeforeUpdate = *m.CheckBeforeUpdate
		}
		if m.Limit != nil && (*m.Limit < -1 || (*m.Limit > 0 && *m.Limit < cgroups.MinMemory)) {
			// -1 is no limit and 0 unset (runc); runc's kernel refuses the
			// other negatives (EINVAL). A limit below what a box needs to
			// start would get pbox's own init OOM-killed mid-setup.
			return nil, fmt.Errorf("linux.resources.memory.limit %d: give -1 (no limit) or at least %d bytes (6 MiB, Docker's floor): pbox's init starts the box under this limit", *m.Limit, int64(cgroups.MinMemory))
		}
		if m.Limit != nil && *m.Limit > 0 {
			lim.MemoryBytes = *m.Limit
			lim.SwapBytes = 0 // no swap unless asked for
		}
		if m.Swap != nil {
			// memory+swap, as runc: equal to the limit is no swap, -1 any.
			switch sw := *m.Swap; {
			case lim.MemoryBytes <= 0 && sw > 0:
				return nil, fmt.Errorf("linux.resources.memory.swap %d: needs memory.limit (swap is memory plus swap)", sw)
			case sw == -1 || sw == 0:
				lim.SwapBytes = sw
			case sw < lim.MemoryBytes:
				return nil, fmt.Errorf("linux.resources.memory.swap %d: below memory.limit %d (it is memory plus swap, as in runc)", sw, lim.MemoryBytes)
			case sw == lim.MemoryBytes:
				lim.SwapBytes = 0
			default:
				lim.SwapBytes = sw
			}
		}
		if m.Reservation != nil && *m.Reservation > 0 {
			lim.MemoryReservation = *m.Reservation
		}
	}
	if c := r.CPU; c != nil {
		if c.RealtimeRuntime != nil {
			lim.CPURealtimeRuntime = *c.RealtimeRuntime
		}
		if c.RealtimePeriod != nil {
			lim.CPURealtimePeriod = *c.RealtimePeriod
		}
		if c.Idle != nil {
			if *c.Idle != 0 && *c.Idle != 1 {
				return nil, fmt.Errorf("linux.resources.cpu.idle %d: give 0 or 1", *c.Idle)
			}
			v := *c.Idle
			lim.CPUIdle = &v
		}
		if c.Burst != nil {
			v := *c.Burst
			lim.CPUBurst = &v
		}
		if c.Quota != nil && *c.Quota > 0 {
			lim.CPUQuota = *c.Quota
			lim.CPUPeriod = cgroups.DefaultCPUPeriod
			if c.Period != nil && *c.Period > 0 {
				lim.CPUPeriod = *c.Period
			}
		}
		if c.Shares != nil && *c.Shares > 0 {
			lim.CPUShares = *c.Shares
		}
		if c.Cpus != "" {
			lim.CpusetCpus = c.Cpus
		}
		if c.Mems != "" {
			lim.CpusetMems = c.Mems
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil && *r.Pids.Limit > 0 {
		if *r.Pids.Limit < MinPidsLimit {
			// As pbox run --pids-limit: pbox-init counts, and COMMAND.
			return nil, fmt.Errorf("linux.resources.pids.limit %d: pbox-init counts against the limit, and COMMAND: give at least %d", *r.Pids.Limit, MinPidsLimit)
		}
		lim.PidsMax = *r.Pids.Limit
	}
	for i, d := range r.Devices {
		rule := cgroups.DeviceRule{Allow: d.Allow, Type: 'a', Major: -1, Minor: -1, Access: d.Access}
		switch d.Type {
		case "", "a":
		case "c", "b":
			rule.Type = d.Type[0]
		default:
			return nil, fmt.Errorf("linux.resources.devices[%d].type %q: use a, c or b", i, d.Type)
		}
		if d.Major != nil {
			rule.Major = *d.Major
		}
		if d.Minor != nil {
			rule.Minor = *d.Minor
		}
		if rule.Access == "" {
			rule.Access = "rwm"
		}
		if strings.Trim(rule.Access, "rwm") != "" {
			return nil, fmt.Errorf("linux.resources.devices[%d].access %q: use letters of rwm", i, d.Access)
		}
		lim.Devices = append(lim.Devices, rule)
	}
	return warnings, nil
}

func translateHooks(h *specs.Hooks, b *Plan) error {
	if h == nil {
		return nil
	}
	conv := func(field string, hooks []specs.Hook) ([]Hook, error) {
		var out []Hook
		for i, x := range hooks {
			if !filepath.IsAbs(x.Path) {
				return nil, fmt.Errorf("hooks.%s[%d].path %q: must be absolute", field, i, x.Path)
			}
			hk := Hook{Path: x.Path, Args: x.Args, Env: x.Env}
			if x.Timeout != nil {
				if *x.Timeout <= 0 {
					return nil, fmt.Errorf("hooks.%s[%d].timeout: must be more than 0", field, i)
				}
				hk.Timeout = *x.Timeout
			}
			out = append(out, hk)
		}
		return out, nil
	}
	var err error
	var prestart, createRuntime []Hook
	if prestart, err = conv("prestart", h.Prestart); err != nil { //nolint:staticcheck // still in use by containerd
		return err
	}
	if createRuntime, err = conv("createRuntime", h.CreateRuntime); err != nil {
		return err
	}
	b.Options.RuntimeHooks = append(prestart, createRuntime...)
	if b.Config.CreateContainer, err = conv("createContainer", h.CreateContainer); err != nil {
		return err
	}
	if b.Config.StartContainer, err = conv("startContainer", h.StartContainer); err != nil {
		return err
	}
	if b.Poststart, err = conv("poststart", h.Poststart); err != nil {
		return err
	}
	b.Poststop, err = conv("poststop", h.Poststop)
	return err
}

// mergeBlockIO applies linux.resources.blockIO. A weight of 0 is unset,
// as runc reads it: Docker sends blockIO {"weight": 0} with every
// container.
func mergeBlockIO(lim *cgroups.Limits, b *specs.LinuxBlockIO) error {
	if b == nil {
		return nil
	}
	weight := func(field string, w *uint16) (uint16, error) {
		if w == nil || *w == 0 {
			return 0, nil
		}
		if *w < 10 || *w > 1000 {
			return 0, fmt.Errorf("linux.resources.blockIO.%s %d: give 10 to 1000 (0: unset)", field, *w)
		}
		return *w, nil
	}
	var err error
	if lim.BlkioWeight, err = weight("weight", b.Weight); err != nil {
		return err
	}
	if lim.BlkioLeafWeight, err = weight("leafWeight", b.LeafWeight); err != nil {
		return err
	}
	for i, d := range b.WeightDevice {
		wd := cgroups.WeightDevice{Major: d.Major, Minor: d.Minor}
		if wd.Weight, err = weight(fmt.Sprintf("weightDevice[%d].weight", i), d.Weight); err != nil {
			return err
		}
		if wd.LeafWeight, err = weight(fmt.Sprintf("weightDevice[%d].leafWeight", i), d.LeafWeight); err != nil {
			return err
		}
		lim.BlkioWeightDevice = append(lim.BlkioWeightDevice, wd)
	}
	for _, t := range []struct {
		kind, field string
		devs        []specs.LinuxThrottleDevice
	}{
		{"rbps", "throttleReadBpsDevice", b.ThrottleReadBpsDevice}, {"wbps", "throttleWriteBpsDevice", b.ThrottleWriteBpsDevice},
		{"riops", "throttleReadIOPSDevice", b.ThrottleReadIOPSDevice}, {"wiops", "throttleWriteIOPSDevice", b.ThrottleWriteIOPSDevice},
	} {
		for i, d := range t.devs {
			if d.Major < 0 || d.Minor < 0 {
				return fmt.Errorf("linux.resources.blockIO.%s[%d]: major and minor are a block device's numbers", t.field, i)
			}
			lim.BlkioThrottle = append(lim.BlkioThrottle, cgroups.ThrottleDevice{Kind: t.kind, Major: d.Major, Minor: d.Minor, Rate: d.Rate})
		}
	}
	return nil
}

// validPageSize is a hugepage size as the runtime-spec writes it: a
// number and a unit (KB, MB, GB), as in hugetlb.2MB.max.
func validPageSize(s string) bool {
	n := strings.TrimRight(s, "KMGB")
	unit := s[len(n):]
	if unit != "KB" && unit != "MB" && unit != "GB" {
		return false
	}
	_, err := strconv.ParseUint(n, 10, 64)
	return err == nil
}
