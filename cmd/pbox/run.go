package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/internal/capnames"
	"github.com/pbox-dev/pbox/internal/humanize"
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/rootfs"
	"github.com/pbox-dev/pbox/seccomp"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func newRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run COMMAND in a new box and wait for it",
		ArgsUsage: "[--] COMMAND [ARG...]",
		Description: `Starts COMMAND in new PID, mount and UTS namespaces (see --ns) under
	cgroup limits, with pbox-init as PID 1: it reaps orphans, forwards
	signals, and exits with COMMAND's status.
	
	example: sudo pbox run --hostname lab --memory 64M --cpus 0.5 --pids-limit 50 -- sh`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "box name, also its cgroup directory (default: pbox-<6 hex>)"},
			&cli.StringFlag{Name: "hostname", Usage: "hostname inside the box (default: the box name)"},
			&cli.StringSliceFlag{Name: "ns", Usage: "namespaces to create, comma-separated and/or repeated: pid, mnt, uts, ipc, net, cgroup (cgroup: the box sees its own cgroup as /; left out of the default on a kernel without cgroup namespaces) (default: " + defaultNamespaces + ")"},
			&cli.BoolFlag{Name: "no-init", Usage: "no pbox-init: COMMAND itself is PID 1 (orphans become zombies, signals without a handler are ignored)"},
			&cli.StringFlag{Name: "memory", Usage: "memory limit, e.g. 64M, 1G, 512MiB or bytes; the box is OOM-killed above it"},
			&cli.StringFlag{Name: "cpus", Usage: "CPU limit as a number of CPUs, e.g. 0.5 (= quota 50000 per 100000 µs period)"},
			&cli.StringFlag{Name: "pids-limit", Usage: "most processes and threads the box may have at once"},
			&cli.StringFlag{Name: "cgroup-parent", Value: "pbox", Usage: "cgroup under which the box's cgroup is created"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set KEY=VALUE in the box (repeatable); the box starts from pbox's environment"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory of COMMAND inside the box"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "explain each step: clone flags, cgroup files, each mount in order"},
			&cli.StringFlag{Name: "rootfs", Usage: "directory that becomes the box's / (pivot_root); COMMAND defaults to /bin/sh"},
			&cli.BoolFlag{Name: "read-only", Usage: "make the box's / read-only (/proc, /dev, --tmpfs and volumes as declared)"},
			&cli.StringSliceFlag{Name: "volume", Usage: "bind-mount SRC:DST[:ro] into the box (repeatable); -v SRC:DST works too"},
			&cli.StringSliceFlag{Name: "tmpfs", Usage: "mount a tmpfs at DST[:size=64M,...] (repeatable)"},
			&cli.StringSliceFlag{Name: "cap-add", Usage: "add a capability to COMMAND's set (repeatable; ALL for every one)"},
			&cli.StringSliceFlag{Name: "cap-drop", Usage: "drop a capability from COMMAND's set (repeatable; ALL for every one)"},
			&cli.BoolFlag{Name: "privileged", Usage: "keep every capability even with --rootfs"},
			&cli.BoolFlag{Name: "no-new-privileges", Usage: "set no_new_privs: setuid binaries and file capabilities cannot raise privileges"},
			&cli.StringSliceFlag{Name: "security-opt", Usage: "seccomp=unconfined, seccomp=PROFILE.json (Docker's profile format) or no-new-privileges (repeatable); without it a box gets Docker's default seccomp profile"},
			&cli.StringSliceFlag{Name: "device", Usage: "give the box a host device, HOST[:BOX][:PERMS] with PERMS of r, w, m (default rwm), as docker run --device (repeatable)"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run in the background: print the box's name and return; see pbox ps, logs, stop, rm"},
			&cli.IntFlag{Name: "preserve-fds", Usage: "pass N more file descriptors (3 to 3+N-1) to COMMAND; no other descriptor of the caller reaches the box (LISTEN_FDS of socket activation are passed first)"},
		},
		Action: runAction,
	}
}

func runAction(c *cli.Context) error {
	if err := refuseEmptyValues(c, "ns"); err != nil {
		return err
	}
	ns := defaultNamespaces
	if c.IsSet("ns") {
		ns = strings.Join(c.StringSlice("ns"), ",")
	}
	mon := monitorPipe()
	name := c.String("name")
	if mon != nil && name == "" {
		name = monitorBoxName() // the name pbox run -d made up and printed
	}
	cfg, opt, err := buildRun(runFlags{
		name: name, hostname: c.String("hostname"), ns: ns,
		noInit: c.Bool("no-init"), memory: c.String("memory"), cpus: c.String("cpus"),
		pids: c.String("pids-limit"), cgroupParent: c.String("cgroup-parent"),
		env: c.StringSlice("env"), workdir: c.String("workdir"), verbose: c.Bool("verbose") || globals.debug,
		rootfs: c.String("rootfs"), readOnly: c.Bool("read-only"), volumes: c.StringSlice("volume"),
		tmpfs: c.StringSlice("tmpfs"), capAdd: c.StringSlice("cap-add"), capDrop: c.StringSlice("cap-drop"),
		privileged: c.Bool("privileged"), noNewPrivs: c.Bool("no-new-privileges"),
		securityOpts: c.StringSlice("security-opt"), devices: c.StringSlice("device"),
		seccompCache: seccompCacheDir(), args: c.Args().Slice(),
	}, callerEnv())
	if err != nil {
		return fail(statusSetup, "run: %v", err)
	}
	if err := preserveFDs(&cfg, &opt, c.Int("preserve-fds")); err != nil {
		return fail(statusSetup, "run: --preserve-fds %d: %v", c.Int("preserve-fds"), err)
	}
	if os.Geteuid() != 0 {
		return fail(statusSetup, "run: creating namespaces and cgroups needs root: run it with sudo (sudo pbox run ...)")
	}
	opt.CgroupMode = cgroups.DetectMode()
	if opt.CgroupMode == cgroups.Unavailable {
		return fail(statusSetup, "run: no cgroup filesystem at %s: mount cgroup2 (or the v1 controllers) there", cgroups.DefaultRoot)
	}
	if cfg.Verbose {
		opt.Log = c.App.ErrWriter
	}
	st := store()
	// The cgroup's name is unique to this state root, and marked in it
	// from before its mkdir, for pbox cleanup.
	opt.CgroupName, opt.Marks = st.CgroupLeaf(cfg.Name), &st
	if mon != nil {
		box.SetComm(monitorComm)
	}
	if mon == nil {
		// The state directory makes the name unique among boxes.
		lock, err := st.Claim(cfg.Name)
		if errors.Is(err, box.ErrBoxExists) && removeStaleForeground(st, cfg.Name) {
			lock, err = st.Claim(cfg.Name)
		}
		if errors.Is(err, box.ErrBoxExists) {
			return fail(statusSetup, "run: --name %s: a box with this name exists: pick another --name, or remove it with 'pbox rm %s' (see 'pbox ps -a')", cfg.Name, cfg.Name)
		}
		if err != nil {
			return fail(statusSetup, "run: %v", err)
		}
		// A first record before the lock goes: "creating", by this pbox
		// (so a SIGKILL of it reads as stopped, not as creating forever).
		first := &box.Record{OCIVersion: box.OCIVersion, ID: cfg.Name, Status: box.StatusCreating, Created: time.Now().UTC(),
			Detached: c.Bool("detach"), Foreground: !c.Bool("detach"), Monitor: os.Getpid()}
		err = st.Write(first)
		lock.Unlock()
		if err != nil {
			st.Remove(cfg.Name)
			return fail(statusSetup, "run: %v", err)
		}
		if c.Bool("detach") {
			return startMonitor(c, st, cfg.Name)
		}
	}
	rec := &box.Record{OCIVersion: box.OCIVersion, ID: cfg.Name, Status: box.StatusRunning, Created: time.Now().UTC(),
		Config: cfg, Rootfs: opt.Filesystem.Root, Detached: mon != nil, Foreground: mon == nil, Monitor: os.Getpid()}
	rec.Config.Mounts = nil
	var watch *oomWatch
	res, err := box.Run(cfg, opt, func(b *box.Box) error {
		rec.Pid, rec.PidStart, rec.Cgroup = b.Pid, b.PidStart, b.Cgroup.Save()
		// A box whose state cannot be written is one that ps, stop and rm
		// cannot find: Run kills it rather than let it live on unseen.
		if err := st.Write(rec); err != nil {
			return stateFailure("state", fmt.Errorf("record box %s: %w (is %s full or read-only?)", cfg.Name, err, st.Root))
		}
		if mon != nil {
			if err := st.AppendEvent(rec.ID, box.Event{Type: "start", Pid: b.Pid}); err != nil {
				return stateFailure("state", fmt.Errorf("record box %s: %w (is %s full or read-only?)", cfg.Name, err, st.Root))
			}
			fmt.Fprintf(mon, "ok\n")
			mon.Close()
			watch = watchOOM(st, rec.ID, b.Cgroup)
		}
		return nil
	})
	if watch != nil {
		watch.stop(res.OOMKills)
	}
	if mon != nil {
		if err != nil {
			// Tell the pbox run -d that waits; it prints the error.
			code, msg := statusSetup, err.Error()
			var se *box.SetupError
			if errors.As(err, &se) {
				code, msg = se.Code, se.Error()
			}
			// State first: once pbox run -d hears, it exits, and the
			// failed box must already be gone.
			st.Remove(cfg.Name)
			fmt.Fprintf(mon, "err %d %s\n", code, msg)
			return &exitError{code: code}
		}
		recordExit(st, rec.ID, res)
		return nil
	}
	st.Remove(cfg.Name)
	if res.OOMKills > 0 {
		fmt.Fprintf(c.App.ErrWriter, "pbox: box %s was OOM-killed (memory limit %s): raise --memory or use less memory\n",
			cfg.Name, humanize.Bytes(opt.Limits.MemoryBytes))
	}
	if err != nil {
		var se *box.SetupError
		if errors.As(err, &se) {
			return fail(se.Code, "%s", se.Error())
		}
		return fail(statusSetup, "run: %v", err)
	}
	if res.Status != 0 {
		return &exitError{code: res.Status}
	}
	return nil
}

// preserveFDs passes the descriptors the user asked for to COMMAND: the
// LISTEN_FDS of systemd's socket activation first (as runc does), then
// --preserve-fds more. COMMAND's LISTEN_PID is 1 with --no-init in its
// own PID namespace (as runc sets it); under pbox-init COMMAND's pid is
// not known in advance (the init's threads take pids too), and
// LISTEN_PID is dropped.
func preserveFDs(cfg *box.Config, opt *box.Options, n int) error {
	listen := box.ListenFDs()
	if err := box.CheckPreservedFDs(listen + n); err != nil {
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
	if namespaces.Has(cfg.Namespaces, namespaces.PID) && cfg.NoInit {
		env = append(env, "LISTEN_PID=1")
	}
	cfg.Env = env
	return nil
}

// defaultNamespaces are a box's namespaces unless --ns says otherwise:
// Docker's on cgroup v2 (a private cgroup namespace) without ipc and net.
const defaultNamespaces = "pid,mnt,uts,cgroup"

// runFlags are the raw flag values, kept apart from urfave/cli so that
// buildRun can be tested without a command line.
type runFlags struct {
	name, hostname, ns                        string
	noInit                                    bool
	memory, cpus, pids, cgroupParent, workdir string
	env, args                                 []string
	verbose                                   bool
	rootfs                                    string
	readOnly, privileged, noNewPrivs          bool
	volumes, tmpfs, capAdd, capDrop           []string
	securityOpts, devices                     []string
	seccompCache                              string // "" compiles every time
}

// buildRun checks every flag and turns them into the box's config. Every
// message names the flag and says how to fix it.
func buildRun(f runFlags, environ []string) (box.Config, box.Options, error) {
	var cfg box.Config
	var opt box.Options
	if len(f.args) == 0 && f.rootfs != "" {
		f.args = []string{"/bin/sh"} // as docker run does for most images
	}
	if len(f.args) == 0 || f.args[0] == "" {
		return cfg, opt, fmt.Errorf("no COMMAND given (usage: pbox run [FLAGS] [--] COMMAND [ARG...])")
	}
	cfg.Args = f.args
	cfg.Name = f.name
	if cfg.Name == "" {
		cfg.Name = generateName()
	}
	if box.ValidID(cfg.Name) != nil {
		return cfg, opt, fmt.Errorf("--name %q: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", cfg.Name)
	}
	cfg.Hostname = f.hostname
	if cfg.Hostname == "" {
		cfg.Hostname = cfg.Name
	}
	if err := namespaces.ValidHostname(cfg.Hostname); err != nil {
		return cfg, opt, fmt.Errorf("--hostname: %v", err)
	}
	ns := f.ns
	if ns == defaultNamespaces && !namespaces.Supported(namespaces.Cgroup) {
		ns = "pid,mnt,uts"
	}
	kinds, err := namespaces.Parse(ns)
	if err != nil {
		return cfg, opt, fmt.Errorf("--ns %q: %v", f.ns, err)
	}
	cfg.Namespaces = kinds
	if f.hostname != "" && !namespaces.Has(kinds, namespaces.UTS) {
		return cfg, opt, fmt.Errorf("--hostname needs a new UTS namespace: add uts to --ns, or the host's hostname would change")
	}
	cfg.NoInit = f.noInit
	if f.memory != "" {
		if opt.Limits.MemoryBytes, err = cgroups.ParseMemory(f.memory); err != nil {
			return cfg, opt, fmt.Errorf("--memory: %v", err)
		}
	}
	if f.cpus != "" {
		if opt.Limits.CPUQuota, opt.Limits.CPUPeriod, err = cgroups.ParseCPUs(f.cpus); err != nil {
			return cfg, opt, fmt.Errorf("--cpus: %v", err)
		}
	}
	if f.pids != "" {
		if opt.Limits.PidsMax, err = parsePidsLimit(f.pids); err != nil {
			return cfg, opt, fmt.Errorf("--pids-limit: %v", err)
		}
	}
	if err := cgroups.ValidParent(f.cgroupParent); err != nil {
		return cfg, opt, fmt.Errorf("--cgroup-parent: %v", err)
	}
	opt.CgroupParent = f.cgroupParent
	if cfg.Env, err = mergeEnv(environ, f.env); err != nil {
		return cfg, opt, err
	}
	cfg.Workdir = f.workdir
	cfg.Verbose = f.verbose
	if opt.Filesystem, err = buildFilesystem(f); err != nil {
		return cfg, opt, err
	}
	hasFS := opt.Filesystem.Root != "" || opt.Filesystem.ReadOnly || len(opt.Filesystem.Volumes) > 0 || len(opt.Filesystem.Tmpfs) > 0
	if hasFS && !namespaces.Has(kinds, namespaces.Mount) {
		return cfg, opt, fmt.Errorf("--rootfs, --read-only, --volume and --tmpfs need a mount namespace: add mnt to --ns")
	}
	if cfg.Capabilities, err = buildCapabilities(f); err != nil {
		return cfg, opt, err
	}
	cfg.NoNewPrivileges = f.noNewPrivs
	if err := buildSecurity(f, &cfg); err != nil {
		return cfg, opt, err
	}
	if opt.Limits.Devices, opt.Filesystem.Devices, err = buildDevices(f); err != nil {
		return cfg, opt, err
	}
	return cfg, opt, nil
}

// buildSecurity reads --security-opt and picks the box's seccomp filter:
// Docker's default profile for the box's capabilities, a profile file, or
// none (seccomp=unconfined, or --privileged, as in Docker).
func buildSecurity(f runFlags, cfg *box.Config) error {
	profile := "default"
	for _, o := range f.securityOpts {
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
	if f.privileged || profile == "unconfined" {
		return nil
	}
	caps := capabilityNames(cfg.Capabilities)
	var err error
	if profile == "default" {
		cfg.Seccomp, err = seccomp.DefaultProgram(f.seccompCache, caps)
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

// buildDevices reads --device and gives every box (but a --privileged
// one) its device rules: the standard nodes, and the devices asked for.
func buildDevices(f runFlags) ([]cgroups.DeviceRule, []rootfs.Device, error) {
	if f.privileged {
		if len(f.devices) > 0 {
			return nil, nil, fmt.Errorf("--device with --privileged: a privileged box may use every device already")
		}
		return nil, nil, nil
	}
	rules := cgroups.DefaultDeviceRules()
	var nodes []rootfs.Device
	for _, spec := range f.devices {
		d, rule, err := box.ParseDevice(spec)
		if err != nil {
			return nil, nil, fmt.Errorf("--device %q: %v", spec, err)
		}
		rules = append(rules, rule)
		nodes = append(nodes, d)
	}
	return rules, nodes, nil
}

// seccompCacheDir is where compiled default profiles are kept: inside
// pbox's state root, which only root can write.
func seccompCacheDir() string {
	return filepath.Join(store().Root, ".seccomp")
}

// buildFilesystem reads --rootfs, --read-only, --volume and --tmpfs.
func buildFilesystem(f runFlags) (rootfs.Spec, error) {
	var fs rootfs.Spec
	if f.rootfs != "" {
		abs, err := filepath.Abs(f.rootfs)
		if err != nil {
			return fs, fmt.Errorf("--rootfs %q: %v", f.rootfs, err)
		}
		fs.Root = abs
	}
	fs.ReadOnly = f.readOnly
	for _, v := range f.volumes {
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
	for _, t := range f.tmpfs {
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
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// buildCapabilities computes COMMAND's capability set: nil (keep all, as
// before) unless --rootfs or a capability flag is given. Drops apply
// before adds, so --cap-drop ALL --cap-add NET_ADMIN keeps just that one.
func buildCapabilities(f runFlags) ([]int, error) {
	if f.rootfs == "" && !f.privileged && len(f.capAdd) == 0 && len(f.capDrop) == 0 {
		return nil, nil
	}
	set := map[int]bool{}
	all := func() {
		for i := range capnames.Names {
			set[i] = true
		}
	}
	switch {
	case f.privileged:
		all()
	case f.rootfs != "":
		for _, n := range DefaultCapabilities {
			c, _ := capnames.Parse(n)
			set[c] = true
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
	drop, dropAll, err := parse("--cap-drop", f.capDrop)
	if err != nil {
		return nil, err
	}
	add, addAll, err := parse("--cap-add", f.capAdd)
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

// mergeEnv applies -e KEY=VALUE settings over the caller's environment.
func mergeEnv(environ, sets []string) ([]string, error) {
	env := append([]string(nil), environ...)
	for _, kv := range sets {
		key, _, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("--env %q: use KEY=VALUE", kv)
		}
		replaced := false
		for i, old := range env {
			if strings.HasPrefix(old, key+"=") {
				env[i], replaced = kv, true
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return env, nil
}

// generateName makes "pbox-<6 hex>". getrandom(2) directly: crypto/rand
// would add its FIPS self-checks to every start of pbox and pbox-init.
func generateName() string {
	b := make([]byte, 3)
	unix.Getrandom(b, 0)
	return "pbox-" + hex.EncodeToString(b)
}

// removeStaleForeground removes the state a SIGKILLed foreground pbox run
// left under this name (its box died with it), so the name can be used
// again at once, as the empty cgroup it also left is. It decides under
// the box's lock, so it never removes a box another pbox is starting.
func removeStaleForeground(st box.Store, name string) bool {
	rec, lock, err := st.Open(name)
	if err != nil {
		return false
	}
	defer lock.Unlock()
	if !abandoned(st, rec) {
		return false
	}
	if cgroups.Reopen(rec.Cgroup, nil).Destroy() == nil {
		st.UnmarkCgroup(rec.Cgroup.Rel)
	}
	return st.Remove(name) == nil
}

// parsePidsLimit reads --pids-limit, which must leave room for pbox-init's
// own threads (they count against the limit) and for COMMAND: a lower
// limit would fail the init's start, or COMMAND's.
func parsePidsLimit(s string) (int64, error) {
	n, err := cgroups.ParsePids(s)
	if err == nil && n < box.MinPidsLimit {
		err = fmt.Errorf("%d is too low: pbox-init's own threads count against the limit (up to %d), so give at least %d", n, box.InitThreadsMax, box.MinPidsLimit)
	}
	return n, err
}

// refuseEmptyValues refuses a flag given an empty value (--cpus ”), which
// would otherwise read as not given at all; the flags in allowed mean
// something when empty (--ns ”: no namespaces).
func refuseEmptyValues(c *cli.Context, allowed ...string) error {
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if !c.IsSet(name) || slices.Contains(allowed, name) {
			continue
		}
		empty := false
		switch f.(type) {
		case *cli.StringFlag:
			empty = c.String(name) == ""
		case *cli.StringSliceFlag:
			empty = slices.Contains(c.StringSlice(name), "")
		}
		if empty {
			return fail(usageStatus(c.Command.Name), "%s: --%s is empty: give a value, or leave the flag out", c.Command.Name, name)
		}
	}
	return nil
}

// stateFailure is a failure to record a box: status 125, as the box's
// setup errors.
func stateFailure(step string, err error) error {
	return &box.SetupError{Step: step, Err: err.Error(), Code: statusSetup}
}
