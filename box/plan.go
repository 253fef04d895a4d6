package box

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/image"
	"github.com/pbox-dev/pbox/internal/capnames"
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/network"
	"github.com/pbox-dev/pbox/rootfs"
	"github.com/pbox-dev/pbox/seccomp"
	"golang.org/x/sys/unix"
)

// pbox run's flags become a box here: the command line only gathers them
// (RunRequest), so every rule about what a flag may say lives next to
// the box it makes.

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

// DefaultNamespaces are a box's namespaces unless --ns says otherwise:
// Docker's on cgroup v2 (a private IPC and cgroup namespace) without net.
// Without a private IPC namespace a box could read, overwrite and remove
// the host's SysV shared memory, semaphores and message queues (runc's
// default spec and Docker unshare it too).
const DefaultNamespaces = "pid,mnt,uts,ipc,cgroup"

// RunRequest is what `pbox run` was asked, as its flags' raw values: the
// command line parses nothing itself, PlanRun checks and turns them into
// the box's config (and can be tested without a command line).
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
	SeccompCache                              string // "" compiles every time
	// Docker's habits: -u USER[:GROUP] (names from the box's own files),
	// --env-file (before -e), -t (a new pty), --network none, host,
	// bridge, container:NAME or a CNI network's name, -p, --dns.
	User     string
	EnvFiles []string
	TTY      bool
	Network  string
	Ports    []string // -p [HOSTIP:]HOSTPORT:BOXPORT[/PROTO]
	DNS      []string
}

// PlanRun checks every flag of a pbox run and turns them into the box's
// config and options. Every message names the flag and says how to fix
// it. environ is the caller's environment, which the box starts from.
func PlanRun(f RunRequest, environ []string) (Config, Options, error) {
	var cfg Config
	var opt Options
	// An imported image's config (next to its rootfs) gives what docker
	// would take from it; every flag still wins.
	var img *image.Config
	if f.Rootfs != "" {
		var err error
		if img, err = image.LoadConfig(f.Rootfs); err != nil {
			return cfg, opt, fmt.Errorf("--rootfs %s: its image config %s: %v", f.Rootfs, image.ConfigPath(f.Rootfs), err)
		}
	}
	if len(f.Args) == 0 && img != nil && len(img.Entrypoint)+len(img.Cmd) > 0 {
		f.Args = append(append([]string(nil), img.Entrypoint...), img.Cmd...)
	}
	if len(f.Args) == 0 && f.Rootfs != "" {
		f.Args = []string{"/bin/sh"} // as docker run does for most images
	}
	if len(f.Args) == 0 || f.Args[0] == "" {
		return cfg, opt, fmt.Errorf("no COMMAND given (usage: pbox run [FLAGS] [--] COMMAND [ARG...])")
	}
	cfg.Args = f.Args
	cfg.Name = f.Name
	if cfg.Name == "" {
		cfg.Name = generateName()
	}
	if ValidID(cfg.Name) != nil {
		return cfg, opt, fmt.Errorf("--name %q: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", cfg.Name)
	}
	cfg.Hostname = f.Hostname
	if cfg.Hostname == "" {
		cfg.Hostname = cfg.Name
	}
	if err := namespaces.ValidHostname(cfg.Hostname); err != nil {
		return cfg, opt, fmt.Errorf("--hostname: %v", err)
	}
	ns := f.Namespaces
	if ns == DefaultNamespaces && !namespaces.Supported(namespaces.Cgroup) {
		ns = "pid,mnt,uts,ipc"
	}
	kinds, err := namespaces.Parse(ns)
	if err != nil {
		return cfg, opt, fmt.Errorf("--ns %q: %v", f.Namespaces, err)
	}
	switch f.Network {
	case "":
	case "none": // as docker: a network namespace with only lo
		if !namespaces.Has(kinds, namespaces.Net) {
			kinds = append(kinds, namespaces.Net)
		}
	case "host":
		if namespaces.Has(kinds, namespaces.Net) {
			return cfg, opt, fmt.Errorf("--network host with net in --ns: pick one (host keeps the host's network)")
		}
	default:
		if from, ok := strings.CutPrefix(f.Network, "container:"); ok {
			// The namespace is another box's: the caller resolves it
			// (Store.NetnsOf) into opt.Join once it has the state root.
			if ValidID(from) != nil {
				return cfg, opt, fmt.Errorf("--network %q: name a box after container: (see pbox ps)", f.Network)
			}
			if namespaces.Has(kinds, namespaces.Net) {
				return cfg, opt, fmt.Errorf("--network %s with net in --ns: pick one (the box joins %s's network namespace)", f.Network, from)
			}
			opt.NetworkFrom = from
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
			return cfg, opt, fmt.Errorf("--network %s: %v", f.Network, err)
		}
		opt.Network = &NetworkRequest{Config: conf, DNS: f.DNS, EtcFiles: f.Rootfs != ""}
	}
	for _, spec := range f.Ports {
		if opt.Network == nil {
			return cfg, opt, fmt.Errorf("-p %s: publishing a port needs a CNI network: add --network bridge (the box's own address, behind NAT)", spec)
		}
		port, err := network.ParsePort(spec)
		if err != nil {
			return cfg, opt, err
		}
		for _, other := range opt.Network.Ports {
			if other.HostPort == port.HostPort && other.Protocol == port.Protocol {
				return cfg, opt, fmt.Errorf("-p %s: host port %d/%s is published twice", spec, port.HostPort, port.Protocol)
			}
		}
		opt.Network.Ports = append(opt.Network.Ports, port)
	}
	if len(f.DNS) > 0 {
		if opt.Network == nil || f.Rootfs == "" {
			return cfg, opt, fmt.Errorf("--dns writes the box's /etc/resolv.conf: it needs --rootfs and a CNI network (--network bridge)")
		}
		for _, d := range f.DNS {
			if net.ParseIP(d) == nil {
				return cfg, opt, fmt.Errorf("--dns %q: give a nameserver's IP address", d)
			}
		}
	}
	cfg.Namespaces = kinds
	if f.Hostname != "" && !namespaces.Has(kinds, namespaces.UTS) {
		return cfg, opt, fmt.Errorf("--hostname needs a new UTS namespace: add uts to --ns, or the host's hostname would change")
	}
	cfg.NoInit = f.NoInit
	cfg.Terminal = f.TTY
	if f.TTY && f.NoInit {
		return cfg, opt, fmt.Errorf("-t with --no-init: pbox-init is what makes the terminal and hands it over: leave out one of them")
	}
	if opt.Limits, err = ParseLimitFlags(opt.Limits, f.Memory, f.CPUs, f.Pids); err != nil {
		return cfg, opt, err
	}
	if err := cgroups.ValidParent(f.CgroupParent); err != nil {
		return cfg, opt, fmt.Errorf("--cgroup-parent: %v", err)
	}
	opt.CgroupParent = f.CgroupParent
	// The box starts from pbox's own environment, or the image's (its
	// PATH, not the caller's with their home directory in it).
	cfg.Env = append([]string(nil), environ...)
	if img != nil && len(img.Env) > 0 {
		cfg.Env = append([]string(nil), img.Env...)
	}
	for _, file := range f.EnvFiles {
		if cfg.Env, err = readEnvFile(file, cfg.Env, environ); err != nil {
			return cfg, opt, err
		}
	}
	if cfg.Env, err = MergeEnv(cfg.Env, f.Env, environ); err != nil {
		return cfg, opt, err
	}
	if err := CheckWorkdir(f.Workdir); err != nil {
		return cfg, opt, err
	}
	cfg.Cwd = f.Workdir
	if cfg.Cwd == "" && img != nil {
		cfg.Cwd = img.WorkingDir
	}
	cfg.Verbose = f.Verbose
	if opt.Filesystem, err = planVolumes(f); err != nil {
		return cfg, opt, err
	}
	if f.User == "" && img != nil {
		f.User = img.User
	}
	if f.User != "" {
		root := opt.Filesystem.Root
		if root == "" {
			root = "/" // the box sees the host's files
		}
		if cfg.User, err = ResolveUser(root, f.User); err != nil {
			return cfg, opt, fmt.Errorf("--user %v", err)
		}
	}
	hasFS := opt.Filesystem.Root != "" || opt.Filesystem.ReadOnly || len(opt.Filesystem.Volumes) > 0 || len(opt.Filesystem.Tmpfs) > 0
	if hasFS && !namespaces.Has(kinds, namespaces.Mount) {
		return cfg, opt, fmt.Errorf("--rootfs, --read-only, --volume and --tmpfs need a mount namespace: add mnt to --ns")
	}
	hostNetwork := !namespaces.Has(kinds, namespaces.Net) && opt.NetworkFrom == ""
	if cfg.Capabilities, err = planCapabilities(f, hostNetwork); err != nil {
		return cfg, opt, err
	}
	cfg.NoNewPrivileges = f.NoNewPrivs
	if err := planSecurity(f, &cfg); err != nil {
		return cfg, opt, err
	}
	if opt.Limits.Devices, opt.Filesystem.Devices, err = planDevices(f); err != nil {
		return cfg, opt, err
	}
	return cfg, opt, nil
}

// planSecurity reads --security-opt and picks the box's seccomp filter:
// Docker's default profile for the box's capabilities, a profile file, or
// none (seccomp=unconfined, or --privileged, as in Docker).
func planSecurity(f RunRequest, cfg *Config) error {
	profile := "default"
	for _, o := range f.SecurityOpts {
		key, val, _ := strings.Cut(o, "=")
		if k, v, ok := strings.Cut(o, ":"); ok && key == o { // Docker's older key:value form
			key, val = k, v
		}
		switch key {
		case "seccomp":
			if val == "" {
				return fmt.Errorf("--security-opt %q: give seccomp=unconfined or seccomp=PROFILE.json", o)
			}
			profile = val
		case "no-new-privileges":
			switch val {
			case "", "true":
				cfg.NoNewPrivileges = true
			case "false":
				cfg.NoNewPrivileges = false
			default:
				return fmt.Errorf("--security-opt %q: no-new-privileges takes true or false", o)
			}
		case "apparmor", "label", "systempaths", "mask", "unmask", "proc-opts":
			return fmt.Errorf("--security-opt %q: not supported: pbox has no AppArmor or SELinux support and masks the runtime-spec's paths", o)
		default:
			return fmt.Errorf("--security-opt %q: unknown option (pbox knows seccomp=unconfined, seccomp=PROFILE.json, no-new-privileges)", o)
		}
	}
	if f.Privileged || profile == "unconfined" {
		return nil
	}
	caps := capabilityNames(cfg.Capabilities)
	var err error
	if profile == "default" {
		cfg.Seccomp, err = seccomp.DefaultProgram(f.SeccompCache, caps)
		return err
	}
	spec, err := seccomp.LoadFile(profile, caps)
	if err != nil {
		return fmt.Errorf("--security-opt seccomp=%s: %v", profile, err)
	}
	if cfg.Seccomp, err = seccomp.Compile(spec); err != nil {
		return fmt.Errorf("--security-opt seccomp=%s: %v", profile, err)
	}
	return nil
}

// capabilityNames names a bounding set (nil: every capability).
func capabilityNames(caps []int) []string {
	var names []string
	if caps == nil {
		return append(names, capnames.Names...)
	}
	for _, c := range caps {
		names = append(names, capnames.Name(c))
	}
	return names
}

// planDevices reads --device and gives every box (but a --privileged
// one) its device rules: the standard nodes, and the devices asked for.
func planDevices(f RunRequest) ([]cgroups.DeviceRule, []rootfs.Device, error) {
	if f.Privileged {
		if len(f.Devices) > 0 {
			return nil, nil, fmt.Errorf("--device with --privileged: a privileged box may use every device already")
		}
		return nil, nil, nil
	}
	rules := cgroups.DefaultDeviceRules()
	var nodes []rootfs.Device
	for _, spec := range f.Devices {
		d, rule, err := ParseDevice(spec)
		if err != nil {
			return nil, nil, fmt.Errorf("--device %q: %v", spec, err)
		}
		rules = append(rules, rule)
		nodes = append(nodes, d)
	}
	return rules, nodes, nil
}

// planVolumes reads --rootfs, --read-only, --volume and --tmpfs.
func planVolumes(f RunRequest) (rootfs.Spec, error) {
	var fs rootfs.Spec
	if f.Rootfs != "" {
		abs, err := filepath.Abs(f.Rootfs)
		if err != nil {
			return fs, fmt.Errorf("--rootfs %q: %v", f.Rootfs, err)
		}
		fs.Root = abs
	}
	fs.ReadOnly = f.ReadOnly
	for _, v := range f.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return fs, fmt.Errorf("--volume %q: use SRC:DST or SRC:DST:ro", v)
		}
		vol := rootfs.Volume{Source: parts[0], Target: parts[1]}
		if len(parts) == 3 {
			switch parts[2] {
			case "ro":
				vol.ReadOnly = true
			case "rw":
			default:
				return fs, fmt.Errorf("--volume %q: the third part must be ro or rw", v)
			}
		}
		src, err := filepath.Abs(vol.Source)
		if err != nil {
			return fs, fmt.Errorf("--volume %q: %v", v, err)
		}
		vol.Source = src
		if !filepath.IsAbs(vol.Target) {
			return fs, fmt.Errorf("--volume %q: DST must be an absolute path inside the box", v)
		}
		fs.Volumes = append(fs.Volumes, vol)
	}
	for _, t := range f.Tmpfs {
		dst, opts, _ := strings.Cut(t, ":")
		if !filepath.IsAbs(dst) {
			return fs, fmt.Errorf("--tmpfs %q: DST must be an absolute path inside the box, e.g. /tmp:size=64M", t)
		}
		fs.Tmpfs = append(fs.Tmpfs, rootfs.Tmpfs{Target: dst, Options: opts})
	}
	return fs, nil
}

// DefaultCapabilities are what a box with --rootfs keeps, as Docker and
// `runc spec` do: enough for ordinary programs run as root, and no
// CAP_SYS_ADMIN, so root in the box cannot undo its mounts.
var DefaultCapabilities = capnames.DockerDefault

// planCapabilities computes COMMAND's capability set: nil (keep all, as
// before) unless --rootfs or a capability flag is given. Drops apply
// before adds, so --cap-drop ALL --cap-add NET_ADMIN keeps just that one.
//
// On the host's network (no network namespace of its own) the default set
// leaves out CAP_NET_RAW, which Docker's keeps: Docker never puts a box on
// the host's network by default, and there a raw or packet socket reads
// every packet of the host, loopback included. --cap-add NET_RAW gives it
// back; a box with its own network keeps Docker's set.
func planCapabilities(f RunRequest, hostNetwork bool) ([]int, error) {
	if f.Rootfs == "" && !f.Privileged && len(f.CapAdd) == 0 && len(f.CapDrop) == 0 {
		return nil, nil
	}
	set := map[int]bool{}
	all := func() {
		for i := range capnames.Names {
			set[i] = true
		}
	}
	switch {
	case f.Privileged:
		all()
	case f.Rootfs != "":
		for _, n := range DefaultCapabilities {
			c, _ := capnames.Parse(n)
			set[c] = true
		}
		if hostNetwork {
			set[unix.CAP_NET_RAW] = false
		}
	default:
		all()
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

// parsePidsLimit reads --pids-limit, which must leave room for pbox-init's
// own threads (they count against the limit) and for COMMAND: a lower
// limit would fail the init's start, or COMMAND's.
func parsePidsLimit(s string) (int64, error) {
	n, err := cgroups.ParsePids(s)
	if err == nil && n < MinPidsLimit {
		err = fmt.Errorf("%d is too low: pbox-init's own threads count against the limit (up to %d), so give at least %d", n, InitThreadsMax, MinPidsLimit)
	}
	return n, err
}

// DetectCgroups finds the host's cgroup layout (v1, hybrid, v2), or says
// how to get one.
func DetectCgroups() (cgroups.Mode, error) {
	mode := cgroups.DetectMode()
	if mode == cgroups.Unavailable {
		return mode, fmt.Errorf("no cgroup filesystem at %s: mount cgroup2 (or the v1 controllers) there", cgroups.DefaultRoot)
	}
	return mode, nil
}

// CgroupLayout names the host's cgroup layout: "v1", "hybrid" or "v2".
func CgroupLayout() string { return cgroups.DetectMode().String() }

// ValidCgroupParent checks a --cgroup-parent: a relative path inside the
// hierarchy (cgroups.ValidParent).
func ValidCgroupParent(p string) error { return cgroups.ValidParent(p) }
