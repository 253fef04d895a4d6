package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/internal/humanize"
	"github.com/pbox-dev/pbox/internal/logf"
	"github.com/pbox-dev/pbox/network"
	"github.com/urfave/cli/v2"
)

func newRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run COMMAND in a new box and wait for it",
		ArgsUsage: "[--] COMMAND [ARG...]",
		Description: `Starts COMMAND in new PID, mount and UTS namespaces (see --ns) under
	cgroup limits, with pbox-init as PID 1: it reaps orphans, forwards
	signals, and exits with COMMAND's status.
	
	example: sudo pbox run -it --hostname lab --memory 64M --cpus 0.5 --pids-limit 50 -- sh`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "box name, also its cgroup directory (default: pbox-<6 hex>)"},
			&cli.StringFlag{Name: "hostname", Usage: "hostname inside the box (default: the box name)"},
			&cli.StringFlag{Name: "userns", Usage: "auto: a user namespace with a block of 65536 of pbox's subordinate ids of the box's own (\"pbox\" in /etc/subuid and /etc/subgid), so root in the box is nobody outside; host: none (the default for root)"},
			&cli.StringSliceFlag{Name: "uidmap", Usage: "a user namespace mapping CONTAINER:HOST:SIZE uids (repeatable; alone, it maps gids too)"},
			&cli.StringSliceFlag{Name: "gidmap", Usage: "the user namespace's gids, CONTAINER:HOST:SIZE (repeatable; with --uidmap)"},
			&cli.StringSliceFlag{Name: "ns", Usage: "namespaces to create, comma-separated and/or repeated: pid, mnt, uts, ipc, net, cgroup (cgroup: the box sees its own cgroup as /; left out of the default on a kernel without cgroup namespaces) (default: " + box.DefaultNamespaces + ")"},
			&cli.BoolFlag{Name: "no-init", Usage: "no pbox-init: COMMAND itself is PID 1 (orphans become zombies, signals without a handler are ignored)"},
			&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "memory limit, e.g. 64M, 1G, 512MiB or bytes; the box is OOM-killed above it"},
			&cli.StringFlag{Name: "cpus", Usage: "CPU limit as a number of CPUs, e.g. 0.5 (= quota 50000 per 100000 µs period)"},
			&cli.StringFlag{Name: "pids-limit", Usage: "most processes and threads the box may have at once (at least 2: pbox-init counts, and COMMAND)"},
			&cli.StringFlag{Name: "cgroup-parent", Value: "pbox", Usage: "cgroup under which the box's cgroup is created"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set KEY=VALUE in the box (repeatable); a --rootfs box starts from Docker's clean environment (PATH, HOSTNAME, HOME, the image's Env), a box on the host's files from pbox's"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory of COMMAND inside the box"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "explain each step: clone flags, cgroup files, each mount in order"},
			&cli.StringFlag{Name: "rootfs", Usage: "directory that becomes the box's / (pivot_root); COMMAND defaults to the imported image's Entrypoint and Cmd (its Env, WorkingDir and User apply too), else /bin/sh"},
			&cli.BoolFlag{Name: "read-only", Usage: "make the box's / read-only (/proc, /dev, --tmpfs and volumes as declared)"},
			&cli.StringSliceFlag{Name: "volume", Usage: "bind-mount SRC:DST[:ro] into the box (repeatable); -v SRC:DST works too"},
			&cli.StringSliceFlag{Name: "tmpfs", Usage: "mount a tmpfs at DST[:size=64M,...] (repeatable)"},
			&cli.StringSliceFlag{Name: "cap-add", Usage: "add a capability to COMMAND's set (repeatable; ALL for every one)"},
			&cli.StringSliceFlag{Name: "cap-drop", Usage: "drop a capability from COMMAND's set (repeatable; ALL for every one)"},
			&cli.BoolFlag{Name: "privileged", Usage: "keep every capability even with --rootfs"},
			&cli.BoolFlag{Name: "no-new-privileges", Usage: "set no_new_privs: setuid binaries and file capabilities cannot raise privileges"},
			&cli.StringSliceFlag{Name: "security-opt", Usage: "seccomp=unconfined, seccomp=PROFILE.json (Docker's profile format) or no-new-privileges (repeatable); without it a box gets Docker's default seccomp profile"},
			&cli.StringSliceFlag{Name: "device", Usage: "give the box a host device, HOST[:BOX][:PERMS] with PERMS of r, w, m (default rwm), as docker run --device, or a CDI device by name, vendor.com/class=name (=all: every one of the class), as podman (repeatable)"},
			&cli.StringFlag{Name: "gpus", Usage: "NVIDIA GPUs, as docker run --gpus: all, a number, or device=ID[,ID] (index or UUID): the CDI devices of nvidia.com/gpu where a spec has them, else (on the host's files) the driver's nodes and NVIDIA_VISIBLE_DEVICES"},
			&cli.StringSliceFlag{Name: "cdi-spec-dir", Usage: "look CDI device names up in DIR instead of /etc/cdi and /var/run/cdi (repeatable; a later directory's spec wins)"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run in the background: print the box's name and return; see pbox ps, logs, stop, rm"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin attached: pbox run always passes its stdin on; with -t, your keystrokes reach the box"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give COMMAND a new terminal inside the box, connected to yours (-it for a shell)"},
			&cli.StringSliceFlag{Name: "log-opt", Usage: "with -d, the log's limits, as docker's local driver: max-size=SIZE (default 20m) of a file before it is rotated, max-file=N (default 5) files kept"},
			&cli.BoolFlag{Name: "rm", Usage: "remove the box when it ends: a foreground box always is; with -d its state goes too (no ps -a entry, no logs)"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "USER[:GROUP] COMMAND runs as: numbers, or names from the box's own /etc/passwd and /etc/group"},
			&cli.StringSliceFlag{Name: "env-file", Usage: "read KEY=VALUE lines from FILE (# comments; KEY alone takes pbox's own); before -e, repeatable"},
			&cli.StringFlag{Name: "network", Aliases: []string{"net"}, Usage: "host (the host's network: the default), none (a network namespace with only lo), bridge (the default CNI network \"pbox\": a veth pair to the host's pbox0 bridge, an address from 10.99.0.0/16, outbound NAT), container:BOX (join a running box's network namespace) or the name of a CNI network (a .conflist in /etc/pbox/net.d or /etc/cni/net.d), or the path of a .conflist file"},
			&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish the box's port on the host, [HOSTIP:]HOSTPORT:BOXPORT[/tcp|udp] (repeatable; with --network bridge or a CNI network: the portmap plugin's NAT rules)"},
			&cli.StringSliceFlag{Name: "dns", Usage: "nameserver for the box's /etc/resolv.conf (repeatable; with --rootfs and a CNI network; default: the host's, but its loopback ones)"},
			&cli.StringSliceFlag{Name: "add-host", Usage: "add NAME:IP to the box's /etc/hosts (repeatable, as docker's; IPv6 as NAME:[IP]); on a CNI network the file also names every box on it"},
			&cli.BoolFlag{Name: "init", Usage: "accepted for docker's habit: every box has pbox-init as PID 1 already (see --no-init)"},
			&cli.BoolFlag{Name: "print-config", Usage: "print the OCI config.json these flags become (what docker would hand runc) and run nothing: pbox create of it makes the same box; what run adds beyond a config (--no-init, -v, a CNI network, -d, -t's relay) is not in it"},
			&cli.IntFlag{Name: "preserve-fds", Usage: "pass N more file descriptors (3 to 3+N-1) to COMMAND; no other descriptor of the caller reaches the box (LISTEN_FDS of socket activation are passed first)"},
		},
		UseShortOptionHandling: true, // -it, -dit, as docker run
		Action:                 runAction,
	}
}

func runAction(c *cli.Context) error {
	if mon := box.DetachedMonitor(); mon != nil {
		return monitorAction(c, mon)
	}
	st := store()
	if c.Bool("print-config") {
		req, err := runRequest(c, "")
		if err != nil {
			return err
		}
		return printRunConfig(c, st, req)
	}
	cfg, opt, err := planRun(c, st, "")
	if err != nil {
		return err
	}
	for _, n := range opt.Notes {
		fmt.Fprintf(c.App.ErrWriter, "pbox: note: %s\n", n)
	}
	logOpts, err := box.ParseLogOptions(c.StringSlice("log-opt"))
	if err != nil {
		return fail(statusSetup, "run: %v", err)
	}
	if c.IsSet("log-opt") && !c.Bool("detach") {
		return fail(statusSetup, "run: --log-opt is for a detached box's log (-d): a box in the foreground writes to your terminal")
	}
	var console *box.Console
	if cfg.Terminal {
		// The init makes COMMAND's pty inside the box and hands its master
		// over; pbox relays it to its own terminal, as pbox exec -t does.
		// With -d, the monitor keeps it, for pbox attach.
		if !c.Bool("detach") && !isTerminal(os.Stdin) {
			return fail(statusSetup, "run: --tty: stdin is not a terminal: leave out -t (stdin is passed on anyway), or run it from a terminal")
		}
		if !c.Bool("detach") {
			if console, err = box.NewConsole(); err != nil {
				return fail(statusSetup, "run: --tty: %v", err)
			}
			defer console.Close()
			opt.Console = console.Init
		}
	}
	// The state directory makes the name unique among boxes.
	err = st.ClaimRun(cfg.Name, c.Bool("detach"))
	if errors.Is(err, box.ErrBoxExists) {
		return fail(statusSetup, "run: --name %s: a box with this name exists: pick another --name, or remove it with 'pbox rm %s' (see 'pbox ps -a')", cfg.Name, cfg.Name)
	}
	if err != nil {
		return fail(statusSetup, "run: %v", err)
	}
	logf.To(opt.Log, "pbox: ")("state: %s claimed (the name is this box's now)", st.Dir(cfg.Name))
	if c.Bool("detach") {
		if err := st.RunDetached(cfg.Name, os.Args, c.Int("preserve-fds"), logOpts); err != nil {
			return fail(setupCode(err), "%v%s", err, imageNameHint(c, setupCode(err)))
		}
		fmt.Fprintln(c.App.Writer, cfg.Name)
		return nil
	}
	restore := func() {}
	res, err := st.RunRecorded(cfg, opt, false, c.Bool("rm"), func(b *box.Box) error {
		if console != nil {
			// Without the master nobody reads COMMAND's terminal: it would
			// block on its first full buffer, and pbox with it.
			master, err := console.Master()
			if err != nil {
				return &box.SetupError{Step: "terminal", Err: err.Error(), Code: statusSetup}
			}
			restore = relayTerminal(master, c.Bool("interactive"))
		}
		return nil
	})
	restore()
	if res.OOMKills > 0 {
		fmt.Fprintf(c.App.ErrWriter, "pbox: box %s was OOM-killed (memory limit %s): raise --memory or use less memory\n",
			cfg.Name, humanize.Bytes(opt.Limits.MemoryBytes))
	}
	if err != nil {
		var se *box.SetupError
		if errors.As(err, &se) {
			return fail(se.Code, "%s%s", se.Error(), imageNameHint(c, se.Code))
		}
		return fail(statusSetup, "run: %v", err)
	}
	if res.Status != 0 {
		return &exitError{code: res.Status}
	}
	return nil
}

// monitorAction is pbox run as a detached box's monitor (box.RunDetached
// started it with the same command line): it runs the box pbox run -d
// claimed, tells that pbox once COMMAND runs or why it did not, and
// records the box's life until it ends.
func monitorAction(c *cli.Context, mon *box.Monitor) error {
	st := store()
	cfg, opt, err := planRun(c, st, mon.Name)
	if err != nil {
		return &exitError{code: mon.Failed(err)}
	}
	_, err = st.RunMonitored(cfg, opt, c.Bool("interactive"), c.Bool("rm"), func(*box.Box) error {
		mon.Started() // pbox run -d prints the name and returns
		return nil
	})
	if err != nil {
		// The failed box's state is already gone when pbox run -d hears.
		return &exitError{code: mon.Failed(err)}
	}
	return nil
}

// runRequest gathers run's flags; name, if not "", is the name pbox run
// -d made up and printed, for its monitor.
func runRequest(c *cli.Context, name string) (box.RunRequest, error) {
	if err := refuseEmptyValues(c, "ns"); err != nil {
		return box.RunRequest{}, err
	}
	ns := box.DefaultNamespaces
	if c.IsSet("ns") {
		ns = strings.Join(c.StringSlice("ns"), ",")
	}
	if c.String("name") != "" {
		name = c.String("name")
	}
	return box.RunRequest{
		Name: name, Hostname: c.String("hostname"), Namespaces: ns,
		NoInit: c.Bool("no-init"), Memory: c.String("memory"), CPUs: c.String("cpus"),
		Pids: c.String("pids-limit"), CgroupParent: c.String("cgroup-parent"),
		Env: c.StringSlice("env"), Workdir: c.String("workdir"), Verbose: c.Bool("verbose") || globals.debug,
		Rootfs: c.String("rootfs"), ReadOnly: c.Bool("read-only"), Volumes: c.StringSlice("volume"),
		Tmpfs: c.StringSlice("tmpfs"), CapAdd: c.StringSlice("cap-add"), CapDrop: c.StringSlice("cap-drop"),
		Privileged: c.Bool("privileged"), NoNewPrivs: c.Bool("no-new-privileges"),
		SecurityOpts: c.StringSlice("security-opt"), Devices: c.StringSlice("device"),
		Args: c.Args().Slice(),
		User: c.String("user"), EnvFiles: c.StringSlice("env-file"), TTY: c.Bool("tty"), Network: c.String("network"),
		Ports: c.StringSlice("publish"), DNS: c.StringSlice("dns"),
		AddHosts: c.StringSlice("add-host"),
		UserNS:   c.String("userns"), UIDMaps: c.StringSlice("uidmap"), GIDMaps: c.StringSlice("gidmap"),
		CDISpecDirs: c.StringSlice("cdi-spec-dir"), GPUs: c.String("gpus"),
	}, nil
}

// planRun turns run's flags into the box's config and options (one
// translator: box.PlanRun), with what only this process knows: its
// terminal's size, the descriptors it passes, its -v output.
func planRun(c *cli.Context, st box.Store, name string) (box.Config, box.Options, error) {
	req, err := runRequest(c, name)
	if err != nil {
		return box.Config{}, box.Options{}, err
	}
	cfg, opt, err := st.PlanRun(req, box.CallerEnv())
	if err != nil {
		return cfg, opt, fail(statusSetup, "run: %v", err)
	}
	if cfg.Terminal {
		cfg.ConsoleSize = ownTerminalSize()
		if cfg.ConsoleSize == nil {
			// A -dit box's monitor has no terminal: a VT100's size until
			// pbox attach gives the box its own.
			cfg.ConsoleSize = &box.ConsoleSize{Rows: 24, Cols: 80}
		}
	}
	if err := box.PassFDs(&cfg, &opt, c.Int("preserve-fds")); err != nil {
		return cfg, opt, fail(statusSetup, "run: --preserve-fds %d: %v", c.Int("preserve-fds"), err)
	}
	if err := box.CheckStateRoot(st.Root); err != nil {
		return cfg, opt, fail(statusSetup, "run: %v", err)
	}
	if opt.CgroupMode, err = box.DetectCgroups(); err != nil {
		return cfg, opt, fail(statusSetup, "run: %v", err)
	}
	if cfg.Verbose {
		opt.Log = c.App.ErrWriter
	}
	if opt.Network != nil {
		// Checked again, under a host-wide lock, when the box claims them.
		if other, port, taken := network.TheHost().PortTaken(opt.Network.Ports, "", network.HostNetns()); taken {
			return cfg, opt, fail(statusSetup, "run: %v", &network.PortTakenError{Port: port, By: other})
		}
	}
	return cfg, opt, nil
}

// printRunConfig prints the config.json these flags become, what a
// container engine would hand a runtime: `pbox create` of it makes the
// same box (but for what pbox run adds beyond a config: --no-init, -v,
// a CNI network).
func printRunConfig(c *cli.Context, st box.Store, req box.RunRequest) error {
	req.DryRun = true
	spec, _, err := st.RunSpec(req, box.CallerEnv())
	if err != nil {
		return fail(statusSetup, "run: %v", err)
	}
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return fail(statusSetup, "run: --print-config: %v", err)
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s\n", data)
	return err
}

// refuseEmptyValues refuses a flag given an empty value (--cpus ""),
// which would otherwise read as not given at all; the flags in allowed
// mean something when empty (--ns "": no namespaces). It looks only at
// the flags given (c.LocalFlagNames): urfave/cli's IsSet of a flag not
// given compares every flag's names through a regexp, which for run's 60
// flags cost ~0.4 ms of every start.
func refuseEmptyValues(c *cli.Context, allowed ...string) error {
	given := map[string]bool{}
	for _, n := range c.LocalFlagNames() {
		given[n] = true
	}
	for _, f := range c.Command.Flags {
		var name string
		var aliases []string
		empty := false
		switch f := f.(type) {
		case *cli.StringFlag:
			name, aliases = f.Name, f.Aliases
			empty = c.String(name) == ""
		case *cli.StringSliceFlag:
			name, aliases = f.Name, f.Aliases
			empty = slices.Contains(c.StringSlice(name), "")
		default:
			continue
		}
		if !empty || slices.Contains(allowed, name) || !(given[name] || slices.ContainsFunc(aliases, func(a string) bool { return given[a] })) {
			continue
		}
		return fail(usageStatus(c.Command.Name), "%s: --%s is empty: give a value, or leave the flag out", c.Command.Name, name)
	}
	return nil
}

// imageReference is what an image name a docker user would type where
// COMMAND goes looks like: alpine, nginx:1.27, library/redis. (Compiled
// only on the failure path: nothing at every pbox process's start.)
const imageReference = `^[a-z0-9][a-z0-9._-]*(/[a-z0-9._-]+)*(:[A-Za-z0-9._-]+)?$`

// imageNameHint answers `pbox run alpine sh` (docker's habit: an image's
// name where COMMAND goes): when a box on the host's files could not find
// COMMAND (status 127) and COMMAND looks like an image's name, it says
// that pbox runs commands, not images, and how to get an image's files.
// It runs only after the box's own lookup failed: nothing is added to
// the path of a start.
func imageNameHint(c *cli.Context, code int) string {
	args := c.Args().Slice()
	if code != box.StatusNotFound || c.String("rootfs") != "" || len(args) == 0 || !regexp.MustCompile(imageReference).MatchString(args[0]) {
		return ""
	}
	name, _, _ := strings.Cut(args[0], ":")
	base := name[strings.LastIndex(name, "/")+1:]
	then := "pbox run --rootfs ./" + base
	if len(args) > 1 {
		then += " -- " + strings.Join(args[1:], " ")
	}
	return fmt.Sprintf("; pbox runs commands, not images: if %s is an image, docker save %s -o %s.tar && pbox rootfs import %s.tar ./%s, then %s",
		args[0], args[0], base, base, base, then)
}
