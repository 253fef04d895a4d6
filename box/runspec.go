package box

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/image"
	"github.com/pbox-dev/pbox/internal/capnames"
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/network"
	"github.com/pbox-dev/pbox/rootfs"
	"github.com/pbox-dev/pbox/seccomp"
	"golang.org/x/sys/unix"
)

// pbox run's flags become a box here, Docker's way: RunSpec turns them
// into the config.json an engine would hand a runtime (pbox run
// --print-config shows it), and PlanRun sends that through Translate,
// the one translator every door uses. What a run adds beyond the config
// is RunExtras, said once. The command line only gathers the flags
// (RunRequest), so every rule about what a flag may say lives here.

// PassFDs passes the descriptors the user asked for to COMMAND: the
// LISTEN_FDS of systemd's socket activation first (as runc does), then
// --preserve-fds more. COMMAND's LISTEN_PID is 1 with --no-init in its
// own PID namespace (as runc sets it); under pbox-init COMMAND's pid is
// not known in advance (the init's threads take pids too), and
// LISTEN_PID is dropped.
func PassFDs(cfg *Config, opt *Options, n int) error {
	listen := listenFDs()
	if err := CheckPreservedFDs(listen + n); err != nil {
		return err
	}
	opt.PreserveFDs = listen + n
	if listen == 0 {
		return nil
	}
	env := cfg.Env[:0:0]
	for _, kv := range cfg.Env {
		if !strings.HasPrefix(kv, "LISTEN_PID=") && !strings.HasPrefix(kv, "LISTEN_FDS=") {
			env = append(env, kv)
		}
	}
	env = append(env, fmt.Sprintf("LISTEN_FDS=%d", listen))
	if cfg.has(namespaces.PID) && cfg.NoInit {
		env = append(env, "LISTEN_PID=1")
	}
	cfg.Env = env
	return nil
}

// CheckWorkdir refuses a relative -w, as docker does: relative to what is
// not something a box has (its working directory is what -w sets).
func CheckWorkdir(dir string) error {
	if dir != "" && !strings.HasPrefix(dir, "/") {
		return fmt.Errorf("-w %q: the working directory must be an absolute path inside the box (e.g. /%s)", dir, dir)
	}
	return nil
}

// DefaultPath is a --rootfs box's PATH unless its image sets one:
// Docker's.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultNamespaces are a box's namespaces unless --ns says otherwise:
// Docker's on cgroup v2 (a private IPC and cgroup namespace) without net.
// Without a private IPC namespace a box could read, overwrite and remove
// the host's SysV shared memory, semaphores and message queues (runc's
// default spec and Docker unshare it too).
const DefaultNamespaces = "pid,mnt,uts,ipc,cgroup"

// RunRequest is what `pbox run` was asked, as its flags' raw values: the
// command line parses nothing itself, RunSpec checks them and turns them
// into a config (and can be tested without a command line).
type RunRequest struct {
	Name, Hostname, Namespaces                string
	NoInit                                    bool
	Memory, CPUs, Pids, CgroupParent, Workdir string
	Env, Args                                 []string
	Verbose                                   bool
	Rootfs                                    string
	ReadOnly, Privileged, NoNewPrivs          bool
	Volumes, Tmpfs, CapAdd, CapDrop           []string
	SecurityOpts, Devices                     []string
	// Docker's habits: -u USER[:GROUP] (names from the box's own files),
	// --env-file (before -e), -t (a new pty), --network none, host,
	// bridge, container:NAME or a CNI network's name, -p, --dns.
	User     string
	EnvFiles []string
	TTY      bool
	Network  string
	Ports    []string // -p [HOSTIP:]HOSTPORT:BOXPORT[/PROTO]
	DNS      []string
	// --add-host NAME:IP lines for the box's /etc/hosts.
	AddHosts []string
	// --userns auto|host, --uidmap and --gidmap CONTAINER:HOST:SIZE: a
	// user namespace for a box root starts (userns.go).
	UserNS           string
	UIDMaps, GIDMaps []string
	// DryRun: only print the config (--print-config): claim nothing.
	DryRun bool
	// CDISpecDirs are where --device's CDI names are looked up
	// (--cdi-spec-dir); nil: DefaultCDISpecDirs.
	CDISpecDirs []string
	// GPUs is docker's --gpus (gpus.go).
	GPUs string
}

// cdiDirs are the CDI spec directories of a run.
func (f RunRequest) cdiDirs() []string {
	if len(f.CDISpecDirs) > 0 {
		return f.CDISpecDirs
	}
	return DefaultCDISpecDirs
}

// runGPUs turns --gpus into --device values (CDI names, or the host's
// nodes) and NVIDIA_VISIBLE_DEVICES (gpus.go).
func runGPUs(f *RunRequest, specs *cdiSpecs) error {
	if f.GPUs == "" {
		return nil
	}
	req, err := parseGPUs(f.GPUs)
	if err != nil {
		return err
	}
	cache, _ := specs.get() // unreadable specs: no CDI GPUs, as none
	if names, ok := gpuCDINames(req, cache); ok {
		f.Devices = append(f.Devices, names...)
		return nil
	}
	if f.Rootfs != "" {
		return fmt.Errorf("--gpus with --rootfs: the box needs the driver's libraries as well as its nodes, and only a CDI spec says which: make one (nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml), or run without --rootfs on the host's files")
	}
	nodes, visible, err := gpuNodes(req)
	if err != nil {
		return err
	}
	f.Devices = append(f.Devices, nodes...)
	f.Env = append([]string{"NVIDIA_VISIBLE_DEVICES=" + visible}, f.Env...) // -e may override it
	return nil
}

// RunExtras is everything pbox run adds beyond its config.json, which
// no runtime-spec field says: the box's name (create takes it as its
// argument), -v, and a CNI network to attach once the namespaces exist
// (-p and --dns with it). pbox-init as PID 1 is in the config, as an
// annotation (InitAnnotation); the pty relay of -t and the monitor of -d
// are the command line's and RunDetached's.
type RunExtras struct {
	Name       string
	Verbose    bool
	Network    *NetworkRequest
	ExtraHosts []network.ExtraHost // --add-host
	// Notes are for the user, on stderr: what the box lacks and how to
	// get it (a rootless box without subordinate ids).
	Notes []string
}

// PlanRun checks every flag of a pbox run and turns them into the box's
// config and options: RunSpec, then Translate, as pbox create would
// translate the printed config, then the extras. environ is the caller's
// environment, which the box starts from.
func (s Store) PlanRun(f RunRequest, environ []string) (Config, Options, error) {
	spec, extra, err := s.RunSpec(f, environ)
	if err != nil {
		return Config{}, Options{}, err
	}
	p, err := s.Translate(spec, "", extra.Name)
	if err != nil {
		// RunSpec checked every flag: this is pbox's own mistake.
		return Config{}, Options{}, fmt.Errorf("the config of these flags (see pbox run --print-config): %w", err)
	}
	cfg, opt := p.Config, p.Options
	cfg.Verbose = extra.Verbose
	if len(cfg.CreateContainer)+len(cfg.StartContainer)+len(opt.RuntimeHooks) == 0 {
		cfg.HookState = nil // hooks come to a run only from a CDI spec
	}
	opt.Network = extra.Network
	opt.ExtraHosts = extra.ExtraHosts
	opt.Notes = extra.Notes
	return cfg, opt, nil
}

// RunSpec checks every flag of a pbox run and turns them into the
// config.json docker would hand runc for the same `docker run`. Every
// message names the flag and says how to fix it.
func (s Store) RunSpec(f RunRequest, environ []string) (*specs.Spec, RunExtras, error) {
	var ex RunExtras
	fail := func(format string, a ...any) (*specs.Spec, RunExtras, error) {
		return nil, ex, fmt.Errorf(format, a...)
	}
	// An imported image's config (next to its rootfs) gives what docker
	// would take from it; every flag still wins.
	var img *image.Config
	if f.Rootfs != "" {
		var err error
		if img, err = image.LoadConfig(f.Rootfs); err != nil {
			return fail("--rootfs %s: its image config %s: %v", f.Rootfs, image.ConfigPath(f.Rootfs), err)
		}
	}
	if len(f.Args) == 0 && img != nil && len(img.Entrypoint)+len(img.Cmd) > 0 {
		f.Args = append(append([]string(nil), img.Entrypoint...), img.Cmd...)
	}
	if len(f.Args) == 0 && f.Rootfs != "" {
		f.Args = []string{"/bin/sh"} // as docker run does for most images
	}
	if len(f.Args) == 0 || f.Args[0] == "" {
		return fail("no COMMAND given (usage: pbox run [FLAGS] [--] COMMAND [ARG...])")
	}
	cdiSpecs := &cdiSpecs{dirs: f.cdiDirs()}
	if err := runGPUs(&f, cdiSpecs); err != nil {
		return nil, ex, err
	}
	ex.Name = f.Name
	if ex.Name == "" {
		ex.Name = generateName()
	}
	if ValidID(ex.Name) != nil {
		return fail("--name %q: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", ex.Name)
	}
	ex.Verbose = f.Verbose
	hostname := f.Hostname
	if hostname == "" {
		hostname = ex.Name
	}
	if err := namespaces.ValidHostname(hostname); err != nil {
		return fail("--hostname: %v", err)
	}
	ns := f.Namespaces
	if ns == DefaultNamespaces && !namespaces.Supported(namespaces.Cgroup) {
		ns = "pid,mnt,uts,ipc"
	}
	kinds, err := namespaces.Parse(ns)
	if err != nil {
		return fail("--ns %q: %v", f.Namespaces, err)
	}
	joinNet := "" // --network container:NAME: that box's network namespace
	switch f.Network {
	case "":
	case "none": // as docker: a network namespace with only lo
		if !namespaces.Has(kinds, namespaces.Net) {
			kinds = append(kinds, namespaces.Net)
		}
	case "host":
		if namespaces.Has(kinds, namespaces.Net) {
			return fail("--network host with net in --ns: pick one (host keeps the host's network)")
		}
	default:
		if from, ok := strings.CutPrefix(f.Network, "container:"); ok {
			if ValidID(from) != nil {
				return fail("--network %q: name a box after container: (see pbox ps)", f.Network)
			}
			if namespaces.Has(kinds, namespaces.Net) {
				return fail("--network %s with net in --ns: pick one (the box joins %s's network namespace)", f.Network, from)
			}
			if joinNet, err = s.NetnsOf(from); errors.Is(err, ErrNoSuchBox) {
				return fail("--network %s: no such box (see pbox ps)", f.Network)
			} else if err != nil {
				return fail("--network %s: %v", f.Network, err)
			}
			break
		}
		name := f.Network
		if name == "bridge" {
			name = network.DefaultName
		}
		if !namespaces.Has(kinds, namespaces.Net) {
			kinds = append(kinds, namespaces.Net)
		}
		conf, err := network.Find(name)
		if err != nil {
			return fail("--network %s: %v", f.Network, err)
		}
		ex.Network = &NetworkRequest{Config: conf, DNS: f.DNS, EtcFiles: f.Rootfs != ""}
	}
	for _, spec := range f.Ports {
		if ex.Network == nil {
			return fail("-p %s: publishing a port needs a CNI network: add --network bridge (the box's own address, behind NAT)", spec)
		}
		port, err := network.ParsePort(spec)
		if err != nil {
			return nil, ex, err
		}
		for _, other := range ex.Network.Ports {
			if other.HostPort == port.HostPort && other.Protocol == port.Protocol {
				return fail("-p %s: host port %d/%s is published twice", spec, port.HostPort, port.Protocol)
			}
		}
		ex.Network.Ports = append(ex.Network.Ports, port)
	}
	for _, spec := range f.AddHosts {
		x, err := network.ParseExtraHost(spec)
		if err != nil {
			return nil, ex, err
		}
		if !namespaces.Has(kinds, namespaces.Mount) {
			return fail("--add-host writes the box's /etc/hosts, bound over its own: it needs a mount namespace (mnt in --ns)")
		}
		ex.ExtraHosts = append(ex.ExtraHosts, x)
	}
	if len(f.DNS) > 0 {
		if ex.Network == nil || f.Rootfs == "" {
			return fail("--dns writes the box's /etc/resolv.conf: it needs --rootfs and a CNI network (--network bridge)")
		}
		for _, d := range f.DNS {
			if net.ParseIP(d) == nil {
				return fail("--dns %q: give a nameserver's IP address", d)
			}
		}
	}
	if f.Hostname != "" && !namespaces.Has(kinds, namespaces.UTS) {
		return fail("--hostname needs a new UTS namespace: add uts to --ns, or the host's hostname would change")
	}
	if f.TTY && f.NoInit {
		return fail("-t with --no-init: pbox-init is what makes the terminal and hands it over: leave out one of them")
	}
	lim, err := ParseLimitFlags(Limits{}, f.Memory, f.CPUs, f.Pids)
	if err != nil {
		return nil, ex, err
	}
	if err := cgroups.ValidParent(f.CgroupParent); err != nil {
		return fail("--cgroup-parent: %v", err)
	}
	// A box on the host's files starts from pbox's own environment (as
	// unshare and sudo's would). A --rootfs box starts clean, as Docker's
	// containers do: never the caller's variables (a token in the
	// caller's environment is not the box's), but Docker's PATH,
	// HOSTNAME, TERM with -t, then the image's Env over them; HOME once
	// the user is known (below).
	env := append([]string(nil), environ...)
	if f.Rootfs != "" {
		env = []string{"PATH=" + DefaultPath, "HOSTNAME=" + hostname}
		if f.TTY {
			env = append(env, "TERM=xterm")
		}
	}
	if img != nil {
		for _, kv := range img.Env {
			k, _, _ := strings.Cut(kv, "=")
			env = setEnv(env, k, kv)
		}
	}
	for _, file := range f.EnvFiles {
		if env, err = readEnvFile(file, env, environ); err != nil {
			return nil, ex, err
		}
	}
	if env, err = MergeEnv(env, f.Env, environ); err != nil {
		return nil, ex, err
	}
	if err := CheckWorkdir(f.Workdir); err != nil {
		return nil, ex, err
	}
	root := "/" // without --rootfs the box keeps the host's files
	if f.Rootfs != "" {
		if root, err = filepath.Abs(f.Rootfs); err != nil {
			return fail("--rootfs %q: %v", f.Rootfs, err)
		}
	}
	cwd := f.Workdir
	if cwd == "" && img != nil {
		cwd = img.WorkingDir
	}
	if cwd == "" && f.Rootfs == "" {
		cwd, _ = os.Getwd() // the host's files: where pbox was started, as unshare
	}
	if cwd == "" {
		cwd = "/"
	}
	mounts, err := runMounts(f, kinds)
	if err != nil {
		return nil, ex, err
	}
	if (f.Rootfs != "" || f.ReadOnly || len(f.Volumes) > 0 || len(f.Tmpfs) > 0) && !namespaces.Has(kinds, namespaces.Mount) {
		return fail("--rootfs, --read-only, --volume and --tmpfs need a mount namespace: add mnt to --ns")
	}
	if f.User == "" && img != nil {
		f.User = img.User
	}
	var user specs.User
	if f.User != "" {
		u, err := ResolveUser(root, f.User)
		if err != nil {
			return fail("--user %v", err)
		}
		user = specs.User{UID: u.UID, GID: u.GID, AdditionalGids: u.Groups}
	}
	if _, set := lookupEnv(env, "HOME"); f.Rootfs != "" && !set {
		env = append(env, "HOME="+HomeOf(root, user.UID)) // as Docker: the user's, from the box's passwd
	}
	hostNetwork := !namespaces.Has(kinds, namespaces.Net) && joinNet == ""
	caps, err := runCapabilities(f, hostNetwork)
	if err != nil {
		return nil, ex, err
	}
	capNames := capabilityNames(caps)
	noNewPrivs, profile, err := runSecurity(f, capNames)
	if err != nil {
		return nil, ex, err
	}
	var cdiNames, paths []string
	for _, d := range f.Devices {
		if IsCDIName(d) {
			cdiNames = append(cdiNames, d)
		} else {
			paths = append(paths, d)
		}
	}
	f.Devices = paths
	rules, nodes, err := runDevices(f)
	if err != nil {
		return nil, ex, err
	}

	spec := &specs.Spec{
		Version: OCIVersion,
		Process: &specs.Process{
			Terminal: f.TTY, User: user, Args: f.Args, Env: env, Cwd: cwd,
			Capabilities:    &specs.LinuxCapabilities{Bounding: capNames, Effective: capNames, Permitted: capNames},
			NoNewPrivileges: noNewPrivs,
		},
		Root:   &specs.Root{Path: root, Readonly: f.ReadOnly},
		Mounts: mounts,
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{Devices: rules},
			Seccomp:   profile, Devices: nodes,
		},
	}
	if namespaces.Has(kinds, namespaces.UTS) {
		spec.Hostname = hostname
	}
	if !f.NoInit {
		spec.Annotations = map[string]string{InitAnnotation: "true"}
	}
	for _, k := range kinds {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: ociNamespaceOf(k)})
	}
	if joinNet != "" {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: joinNet})
	}
	if f.Rootfs != "" {
		// The runtime-spec's masked and read-only paths, as Docker's.
		spec.Linux.MaskedPaths = append([]string(nil), rootfs.MaskedPaths...)
		spec.Linux.ReadonlyPaths = append([]string(nil), rootfs.ReadOnlyPaths...)
	}
	switch {
	case s.SystemdCgroup && (f.CgroupParent == "" || f.CgroupParent == "pbox"):
		// Translate's default: system.slice:pbox:NAME.
	case s.SystemdCgroup:
		// As docker's --cgroup-parent under the systemd driver: a slice.
		if !strings.HasSuffix(f.CgroupParent, ".slice") || strings.Contains(f.CgroupParent, "/") {
			return fail("--cgroup-parent %q: with --systemd-cgroup the box's scope goes in a slice: give one such as machine.slice", f.CgroupParent)
		}
		spec.Linux.CgroupsPath = s.systemdCgroupsPath(f.CgroupParent, ex.Name)
	case f.CgroupParent != "" && f.CgroupParent != "pbox":
		spec.Linux.CgroupsPath = "/" + strings.Trim(f.CgroupParent, "/") + "/" + s.CgroupLeaf(ex.Name)
	}
	r := spec.Linux.Resources
	if lim.MemoryBytes > 0 {
		r.Memory = &specs.LinuxMemory{Limit: &lim.MemoryBytes}
	}
	if lim.CPUQuota > 0 {
		period := uint64(lim.CPUPeriod)
		r.CPU = &specs.LinuxCPU{Quota: &lim.CPUQuota, Period: &period}
	}
	if lim.PidsMax > 0 {
		r.Pids = &specs.LinuxPids{Limit: &lim.PidsMax}
	}
	if len(cdiNames) > 0 {
		if err := injectCDI(spec, "--device", cdiNames, cdiSpecs, f.Rootfs == ""); err != nil {
			return nil, ex, err
		}
	}
	if !Rootless() {
		uids, gids, err := s.runUserNS(f, ex.Name, f.DryRun)
		if err != nil {
			return nil, ex, err
		}
		if uids != nil {
			if u := spec.Process.User; !namespaces.Mapped(uids, int(u.UID)) || !namespaces.Mapped(gids, int(u.GID)) {
				if f.UserNS == "auto" && !f.DryRun {
					s.releaseAutoBlockIfUnused(ex.Name)
				}
				return fail("--user %d:%d: not mapped by the box's user namespace (--uidmap/--gidmap)", u.UID, u.GID)
			}
			withUserNS(spec, uids, gids, kinds)
		}
	}
	if Rootless() {
		if s.SystemdCgroup {
			return fail("--systemd-cgroup: a rootless box uses the cgroup subtree systemd delegated to your user, if any; leave it out")
		}
		if err := rootlessSpec(spec, f, &ex, kinds, s.CgroupLeaf(ex.Name)); err != nil {
			return nil, ex, err
		}
	}
	return spec, ex, nil
}

// ociNamespaceOf names a namespace kind as the runtime-spec does.
func ociNamespaceOf(k namespaces.Kind) specs.LinuxNamespaceType {
	for t, kind := range ociNamespaces {
		if kind == k {
			return t
		}
	}
	return specs.UserNamespace
}

// runSecurity reads --security-opt and picks the box's seccomp profile:
// Docker's default profile for the box's capabilities, a profile file,
// or none (seccomp=unconfined, or --privileged, as in Docker).
func runSecurity(f RunRequest, caps []string) (noNewPrivs bool, profile *specs.LinuxSeccomp, err error) {
	noNewPrivs = f.NoNewPrivs
	file := "default"
	for _, o := range f.SecurityOpts {
		key, val, _ := strings.Cut(o, "=")
		if k, v, ok := strings.Cut(o, ":"); ok && key == o { // Docker's older key:value form
			key, val = k, v
		}
		switch key {
		case "seccomp":
			if val == "" {
				return false, nil, fmt.Errorf("--security-opt %q: give seccomp=unconfined or seccomp=PROFILE.json", o)
			}
			file = val
		case "no-new-privileges":
			switch val {
			case "", "true":
				noNewPrivs = true
			case "false":
				noNewPrivs = false
			default:
				return false, nil, fmt.Errorf("--security-opt %q: no-new-privileges takes true or false", o)
			}
		case "apparmor", "label", "systempaths", "mask", "unmask", "proc-opts":
			return false, nil, fmt.Errorf("--security-opt %q: not supported: pbox has no AppArmor or SELinux support and masks the runtime-spec's paths", o)
		default:
			return false, nil, fmt.Errorf("--security-opt %q: unknown option (pbox knows seccomp=unconfined, seccomp=PROFILE.json, no-new-privileges)", o)
		}
	}
	if f.Privileged || file == "unconfined" {
		return noNewPrivs, nil, nil
	}
	if file == "default" {
		if profile, err = seccomp.Default(caps); err != nil {
			return false, nil, fmt.Errorf("Docker's default seccomp profile: %w", err)
		}
		return noNewPrivs, profile, nil
	}
	if profile, err = seccomp.LoadFile(file, caps); err != nil {
		return false, nil, fmt.Errorf("--security-opt seccomp=%s: %v", file, err)
	}
	// Compiled here too, so that an error names the flag, not the config.
	if _, err := seccomp.Compile(profile); err != nil {
		return false, nil, fmt.Errorf("--security-opt seccomp=%s: %v", file, err)
	}
	return noNewPrivs, profile, nil
}

// capabilityNames names a set of capabilities.
func capabilityNames(caps []int) []string {
	names := []string{}
	for _, c := range caps {
		names = append(names, capnames.Name(c))
	}
	return names
}

// heldCapabilities is pbox's own bounding set: what "every capability"
// can give a box (as docker --privileged lists the daemon's). Read once:
// RunSpec and Translate both ask, and it does not change.
var heldCapabilities = sync.OnceValue(func() []int {
	var held []int
	for c := range capnames.Names {
		if ok, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil && ok == 1 {
			held = append(held, c)
		}
	}
	return held
})

// runDevices reads --device: the device rules of the box's cgroup (after
// "deny every device", or "allow every device" with --privileged, as in
// Docker's config) and, with --rootfs, the nodes to make in its /dev.
func runDevices(f RunRequest) ([]specs.LinuxDeviceCgroup, []specs.LinuxDevice, error) {
	if f.Privileged {
		if len(f.Devices) > 0 {
			return nil, nil, fmt.Errorf("--device with --privileged: a privileged box may use every device already")
		}
		return []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}, nil, nil
	}
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	var nodes []specs.LinuxDevice
	for _, spec := range f.Devices {
		d, rule, err := ParseDevice(spec)
		if err != nil {
			return nil, nil, fmt.Errorf("--device %q: %v", spec, err)
		}
		major, minor := rule.Major, rule.Minor
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: string(rule.Type), Major: &major, Minor: &minor, Access: rule.Access})
		if f.Rootfs != "" {
			mode := os.FileMode(d.Mode)
			uid, gid := d.UID, d.GID
			nodes = append(nodes, specs.LinuxDevice{Path: d.Path, Type: string(d.Type), Major: int64(d.Major), Minor: int64(d.Minor), FileMode: &mode, UID: &uid, GID: &gid})
		}
	}
	return rules, nodes, nil
}

// runMounts reads --volume and --tmpfs: after the runtime-spec's default
// mounts with --rootfs, or only a fresh /proc (with a PID namespace) on
// the host's files.
func runMounts(f RunRequest, kinds []namespaces.Kind) ([]specs.Mount, error) {
	var mounts []specs.Mount
	add := func(m rootfs.Mount) {
		mounts = append(mounts, specs.Mount{Destination: m.Target, Type: m.Type, Source: m.Source, Options: m.Options})
	}
	if namespaces.Has(kinds, namespaces.Mount) {
		for _, m := range rootfs.DefaultMounts() {
			switch {
			case m.Type == "proc" && !namespaces.Has(kinds, namespaces.PID),
				m.Type == "mqueue" && !namespaces.Has(kinds, namespaces.IPC),
				m.Type != "proc" && f.Rootfs == "":
				continue
			}
			add(m)
		}
	}
	for _, v := range f.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("--volume %q: use SRC:DST or SRC:DST:ro", v)
		}
		opts := []string{"rbind"}
		if len(parts) == 3 {
			switch parts[2] {
			case "ro":
				// Read-only below too, as Docker 25's :ro where the
				// kernel has mount_setattr: a submount of SRC stays
				// read-only in the box.
				opts = append(opts, "ro", "rro")
			case "rw":
			default:
				return nil, fmt.Errorf("--volume %q: the third part must be ro or rw", v)
			}
		}
		src, err := filepath.Abs(parts[0])
		if err != nil {
			return nil, fmt.Errorf("--volume %q: %v", v, err)
		}
		if !filepath.IsAbs(parts[1]) {
			return nil, fmt.Errorf("--volume %q: DST must be an absolute path inside the box", v)
		}
		if err := rootfs.CheckVolumeSource(rootfs.Volume{Source: src, Target: parts[1]}); err != nil {
			return nil, fmt.Errorf("--volume %q: %v", v, err)
		}
		add(rootfs.Mount{Source: src, Target: parts[1], Type: "bind", Options: opts})
	}
	for _, t := range f.Tmpfs {
		dst, data, _ := strings.Cut(t, ":")
		if !filepath.IsAbs(dst) {
			return nil, fmt.Errorf("--tmpfs %q: DST must be an absolute path inside the box, e.g. /tmp:size=64M", t)
		}
		opts := []string{"nosuid", "nodev"}
		if data != "" {
			opts = append(opts, strings.Split(data, ",")...)
		}
		add(rootfs.Mount{Source: "tmpfs", Target: dst, Type: "tmpfs", Options: opts})
	}
	return mounts, nil
}

// DefaultCapabilities are what a box with --rootfs keeps, as Docker and
// `runc spec` do: enough for ordinary programs run as root, and no
// CAP_SYS_ADMIN, so root in the box cannot undo its mounts.
var DefaultCapabilities = capnames.DockerDefault

// runCapabilities computes COMMAND's capability set: every capability
// pbox holds unless --rootfs or a capability flag is given. Drops apply
// before adds, so --cap-drop ALL --cap-add NET_ADMIN keeps just that one.
//
// On the host's network (no network namespace of its own) the default set
// leaves out CAP_NET_RAW, which Docker's keeps: Docker never puts a box on
// the host's network by default, and there a raw or packet socket reads
// every packet of the host, loopback included. --cap-add NET_RAW gives it
// back; a box with its own network keeps Docker's set.
func runCapabilities(f RunRequest, hostNetwork bool) ([]int, error) {
	held := heldCapabilities()
	set := map[int]bool{}
	all := func() {
		for _, c := range held {
			set[c] = true
		}
	}
	switch {
	case f.Privileged, f.Rootfs == "":
		all()
	default:
		for _, n := range DefaultCapabilities {
			c, _ := capnames.Parse(n)
			set[c] = true
		}
		if hostNetwork {
			set[unix.CAP_NET_RAW] = false
		}
	}
	parse := func(flag string, names []string) (map[int]bool, bool, error) {
		out, hasAll := map[int]bool{}, false
		for _, n := range names {
			if strings.EqualFold(n, "ALL") {
				hasAll = true
				continue
			}
			c, ok := capnames.Parse(n)
			if !ok {
				return nil, false, fmt.Errorf("%s %q: not a capability name (e.g. NET_ADMIN or CAP_NET_ADMIN; see capabilities(7))", flag, n)
			}
			out[c] = true
		}
		return out, hasAll, nil
	}
	drop, dropAll, err := parse("--cap-drop", f.CapDrop)
	if err != nil {
		return nil, err
	}
	add, addAll, err := parse("--cap-add", f.CapAdd)
	if err != nil {
		return nil, err
	}
	// As docker run: ALL in --cap-add keeps everything but the named
	// drops; ALL in --cap-drop keeps only the named adds.
	switch {
	case addAll:
		all()
	case dropAll:
		set = map[int]bool{}
	}
	for c := range drop {
		set[c] = false
	}
	for c := range add {
		if !addAll {
			set[c] = true
		}
	}
	caps := []int{}
	for i := range capnames.Names {
		if set[i] {
			caps = append(caps, i)
		}
	}
	return caps, nil
}

// MergeEnv applies -e settings over base: KEY=VALUE sets it, and KEY
// alone takes KEY from caller (pbox's own environment), or, as docker
// does, leaves it out if the caller has none.
func MergeEnv(base, sets, caller []string) ([]string, error) {
	env := append([]string(nil), base...)
	for _, kv := range sets {
		key, _, ok := strings.Cut(kv, "=")
		if key == "" || strings.ContainsAny(key, " \t\n") {
			return nil, fmt.Errorf("--env %q: use KEY=VALUE, or KEY to pass pbox's own", kv)
		}
		if !ok {
			v, found := lookupEnv(caller, key)
			if !found {
				continue
			}
			kv = key + "=" + v
		}
		env = setEnv(env, key, kv)
	}
	return env, nil
}

// readEnvFile reads docker's --env-file: KEY=VALUE per line, blank lines
// and # comments skipped, KEY alone taken from the caller's environment
// (an error if the caller has none: the file asked for it by name).
func readEnvFile(path string, env, caller []string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsRune(line, 0) {
			return nil, fmt.Errorf("--env-file %s:%d: a NUL byte, which no environment variable can hold: is it a text file?", path, n+1)
		}
		key, _, ok := strings.Cut(line, "=")
		if key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("--env-file %s:%d: %q: use KEY=VALUE", path, n+1, line)
		}
		if !ok {
			v, found := lookupEnv(caller, key)
			if !found {
				return nil, fmt.Errorf("--env-file %s:%d: %s has no '=' and pbox's environment has no %s: write %s=VALUE", path, n+1, key, key, key)
			}
			line = key + "=" + v
		}
		env = setEnv(env, key, line)
	}
	return env, nil
}

func lookupEnv(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

// setEnv replaces KEY's entry in env with kv, or adds it.
func setEnv(env []string, key, kv string) []string {
	for i, old := range env {
		if strings.HasPrefix(old, key+"=") {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// generateName makes "pbox-<6 hex>". getrandom(2) directly: crypto/rand
// would add its FIPS self-checks to every start of pbox and pbox-init.
func generateName() string {
	b := make([]byte, 3)
	unix.Getrandom(b, 0)
	return "pbox-" + hex.EncodeToString(b)
}

// ParseLimitFlags applies --memory, --cpus and --pids-limit, each only if
// given, over base: the one parser of limit flags, for run and update.
func ParseLimitFlags(base Limits, memory, cpus, pids string) (Limits, error) {
	var err error
	if memory != "" {
		if base.MemoryBytes, err = cgroups.ParseMemory(memory); err != nil {
			return base, fmt.Errorf("--memory: %v", err)
		}
	}
	if cpus != "" {
		if base.CPUQuota, base.CPUPeriod, err = cgroups.ParseCPUs(cpus); err != nil {
			return base, fmt.Errorf("--cpus: %v", err)
		}
	}
	if pids != "" {
		if base.PidsMax, err = parsePidsLimit(pids); err != nil {
			return base, fmt.Errorf("--pids-limit: %v", err)
		}
	}
	return base, nil
}

// parsePidsLimit reads --pids-limit, which must leave room for pbox-init
// (it counts against the limit) and for COMMAND: a lower limit would fail
// COMMAND's start.
func parsePidsLimit(s string) (int64, error) {
	n, err := cgroups.ParsePids(s)
	if err == nil && n < MinPidsLimit {
		err = fmt.Errorf("%d is too low: pbox-init counts against the limit, and COMMAND, so give at least %d", n, MinPidsLimit)
	}
	return n, err
}

// DetectCgroups finds the host's cgroup layout (v1, hybrid, v2), or says
// how to get one.
func DetectCgroups() (cgroups.Mode, error) {
	if Rootless() {
		if DelegatedCgroup() != "" {
			return cgroups.V2, nil // in the user's delegated subtree
		}
		return cgroups.None, nil // see rootless.go
	}
	if _, err := cgroups.MountMissing(nil); err != nil {
		return cgroups.Unavailable, err
	}
	mode := cgroups.DetectMode()
	if mode == cgroups.Unavailable {
		return mode, fmt.Errorf("no cgroup filesystem at %s: mount cgroup2 (or the v1 controllers) there", cgroups.DefaultRoot)
	}
	return mode, nil
}

// CgroupLayout names the host's cgroup layout: "v1", "hybrid" or "v2".
func CgroupLayout() string { return cgroups.DetectMode().String() }

// MountMissingCgroups mounts the cgroup hierarchies where a mount
// namespace of pbox's own lacks them (`ip netns exec`): every command
// calls it first; run reports its error (DetectCgroups).
func MountMissingCgroups() { cgroups.MountMissing(nil) }

// ValidCgroupParent checks a --cgroup-parent: a relative path inside the
// hierarchy (cgroups.ValidParent).
func ValidCgroupParent(p string) error { return cgroups.ValidParent(p) }
