package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/cgroups"
	"github.com/pbox-dev/pbox/oci"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// oneID checks that a command got exactly one box id.
func oneID(c *cli.Context) (string, error) {
	if c.NArg() < 1 {
		return "", fail(usageStatus(c.Command.Name), "%s: give a box id (see 'pbox ps -a'): see 'pbox %s --help'", c.Command.Name, c.Command.Name)
	}
	if c.NArg() > 1 {
		return "", fail(usageStatus(c.Command.Name), "%s: takes one box id, got %d arguments: see 'pbox %s --help'", c.Command.Name, c.NArg(), c.Command.Name)
	}
	return checkID(c, c.Args().First())
}

func checkID(c *cli.Context, id string) (string, error) {
	if err := box.ValidID(id); err != nil {
		return "", fail(statusFailed, "%s: %v", c.Command.Name, err)
	}
	return id, nil
}

// readBox reads the box named on the command line, without locking it.
func readBox(c *cli.Context) (box.Store, *box.Record, error) {
	id, err := oneID(c)
	if err != nil {
		return box.Store{}, nil, err
	}
	return readBoxID(c, id)
}

func readBoxID(c *cli.Context, id string) (box.Store, *box.Record, error) {
	if _, err := checkID(c, id); err != nil {
		return box.Store{}, nil, err
	}
	st := store()
	rec, err := st.Read(id)
	if err != nil {
		return st, nil, fail(statusFailed, "%s: %v", c.Command.Name, err)
	}
	return st, rec, nil
}

// openBox locks the box named on the command line for a change (root only).
func openBox(c *cli.Context) (box.Store, *box.Record, *box.Lock, error) {
	id, err := oneID(c)
	if err != nil {
		return box.Store{}, nil, nil, err
	}
	return openBoxID(c, id)
}

func openBoxID(c *cli.Context, id string) (box.Store, *box.Record, *box.Lock, error) {
	if _, err := checkID(c, id); err != nil {
		return box.Store{}, nil, nil, err
	}
	if err := needRoot(c); err != nil {
		return box.Store{}, nil, nil, err
	}
	st := store()
	rec, lock, err := st.Open(id)
	if err != nil {
		return st, nil, nil, fail(statusFailed, "%s: %v", c.Command.Name, err)
	}
	return st, rec, lock, nil
}

// eachBox runs act for every box named on the command line (docker stop
// a b): each failure is printed as it happens, the others still run, and
// the status is 1 if any failed. One id gives act's own error.
func eachBox(c *cli.Context, ids []string, act func(id string) error) error {
	if len(ids) == 0 {
		return fail(usageStatus(c.Command.Name), "%s: give a box id (see 'pbox ps -a'): see 'pbox %s --help'", c.Command.Name, c.Command.Name)
	}
	if len(ids) == 1 {
		return act(ids[0])
	}
	failed := false
	for _, id := range ids {
		if err := act(id); err != nil {
			failed = true
			reportError(c.App.ErrWriter, err)
		}
	}
	if failed {
		return &exitError{code: statusFailed}
	}
	return nil
}

func needRoot(c *cli.Context) error {
	if os.Geteuid() != 0 {
		return fail(statusFailed, "%s: needs root: run it with sudo", c.Command.Name)
	}
	return nil
}

func newSpecCommand() *cli.Command {
	return &cli.Command{
		Name:  "spec",
		Usage: "write a default OCI config.json for a bundle (as runc spec)",
		Description: `Writes config.json for a bundle whose root filesystem is the directory
	"rootfs" next to it, like runc spec; edit it, then pbox create/start.
	
	example: mkdir -p b && sudo pbox rootfs busybox b/rootfs && pbox spec --bundle b`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "bundle directory to write config.json into"},
			&cli.BoolFlag{Name: "rootless", Usage: "refused: pbox has no rootless mode (it needs user namespaces)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("rootless") {
				return fail(statusFailed, "spec: --rootless: pbox has no rootless mode (boxes need root)")
			}
			path := filepath.Join(c.String("bundle"), "config.json")
			if _, err := os.Stat(path); err == nil {
				return fail(statusFailed, "spec: %s exists: remove it first", path)
			}
			data, err := json.MarshalIndent(oci.DefaultSpec(), "", "\t")
			if err != nil {
				return fail(statusFailed, "spec: %v", err)
			}
			if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
				return fail(statusFailed, "spec: %v", err)
			}
			return nil
		},
	}
}

func newFeaturesCommand() *cli.Command {
	return &cli.Command{
		Name:        "features",
		Usage:       "print what this pbox implements, as runtime-spec features JSON",
		Description: "example: pbox features | jq .linux.namespaces",
		Action: func(c *cli.Context) error {
			data, err := json.MarshalIndent(oci.Features(), "", "    ")
			if err != nil {
				return fail(statusFailed, "features: %v", err)
			}
			fmt.Fprintln(c.App.Writer, string(data))
			return nil
		},
	}
}

func newCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a box from an OCI bundle; its process waits for 'pbox start'",
		ArgsUsage: "ID",
		Description: `Sets up everything config.json asks for (namespaces, cgroup, root
	filesystem, mounts, hooks up to createContainer), writes --pid-file and
	returns while the box's init waits; 'pbox start ID' runs the process.
	The process gets pbox's stdin, stdout and stderr, or with
	process.terminal a new pty whose master goes to --console-socket.
	
	example: sudo pbox create --bundle ./b web && sudo pbox start web`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "bundle directory (holds config.json)"},
			&cli.StringFlag{Name: "pid-file", Usage: "write the box's init pid (host) to FILE"},
			&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master (with process.terminal)"},
			&cli.BoolFlag{Name: "no-pivot", Usage: "move the root over / and chroot instead of pivot_root (for an initramfs host)"},
			&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring instead of a new one for the box (as runc)"},
			&cli.IntFlag{Name: "preserve-fds", Usage: "pass N more file descriptors (3 to 3+N-1) to the process"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "explain each step"},
		},
		Action: createAction,
	}
}

func createAction(c *cli.Context) error {
	id, err := oneID(c)
	if err != nil {
		return err
	}
	if err := needRoot(c); err != nil {
		return err
	}
	bundle, err := filepath.Abs(c.String("bundle"))
	if err != nil {
		return fail(statusFailed, "create: --bundle: %v", err)
	}
	spec, err := oci.Load(bundle)
	if err != nil {
		return fail(statusFailed, "create: %v", err)
	}
	ob, err := oci.Translate(spec, bundle, id)
	if err != nil {
		return fail(statusFailed, "create: config.json: %v", err)
	}
	ob.Filesystem.NoPivot = c.Bool("no-pivot")
	ob.Config.NoNewKeyring = c.Bool("no-new-keyring")
	if err := ob.PlanMounts(); err != nil {
		return fail(statusFailed, "create: config.json: %v", err)
	}
	if err := box.CheckPreservedFDs(c.Int("preserve-fds")); err != nil {
		return fail(statusFailed, "create: --preserve-fds %d: %v", c.Int("preserve-fds"), err)
	}
	if ob.Config.Terminal && c.String("console-socket") == "" {
		return fail(statusFailed, "create: process.terminal is true: give --console-socket SOCK to receive the pty master (or set terminal to false)")
	}
	if !ob.Config.Terminal && c.String("console-socket") != "" {
		return fail(statusFailed, "create: --console-socket is only for process.terminal: true")
	}
	mode := cgroups.DetectMode()
	if mode == cgroups.Unavailable {
		return fail(statusFailed, "create: no cgroup filesystem at %s", cgroups.DefaultRoot)
	}

	st := store()
	lock, err := st.Claim(id)
	if err != nil {
		return fail(statusFailed, "create: %v", err)
	}
	defer lock.Unlock()
	ok := false
	defer func() {
		if !ok {
			st.Remove(id)
		}
	}()

	fifoPath := st.Path(id, "exec.fifo")
	if err := unix.Mkfifo(fifoPath, 0o600); err != nil {
		return fail(statusFailed, "create: mkfifo %s: %v", fifoPath, err)
	}
	// The init holds exec.fifo open for reading and writing (so opening
	// it never blocks) and waits for one byte; `pbox start` writes it.
	fifo, err := os.OpenFile(fifoPath, os.O_RDWR, 0)
	if err != nil {
		return fail(statusFailed, "create: %v", err)
	}
	defer fifo.Close()

	opt := ob.Options
	opt.CgroupMode = mode
	opt.Marks = &st
	if spec.Linux == nil || spec.Linux.CgroupsPath == "" {
		opt.CgroupName = st.CgroupLeaf(id) // pbox's choice: unique to this root
	}
	opt.Detach = true
	opt.StartFIFO = fifo
	opt.PreserveFDs = c.Int("preserve-fds")
	if c.Bool("verbose") || globals.debug {
		opt.Log = c.App.ErrWriter
		ob.Config.Verbose = true
	}
	if p := c.String("console-socket"); p != "" {
		f, err := dialUnix(p)
		if err != nil {
			return fail(statusFailed, "create: --console-socket: %v", err)
		}
		defer f.Close()
		opt.Console = f
	}
	rec := &box.Record{
		OCIVersion: oci.Version, ID: id, Status: box.StatusCreating, Bundle: bundle,
		Annotations: spec.Annotations, Created: time.Now().UTC(), Rootfs: ob.Rootfs,
		Poststart: ob.Poststart, Poststop: ob.Poststop, Monitor: os.Getpid(),
	}
	if err := st.Write(rec); err != nil {
		return fail(statusFailed, "create: %v", err)
	}
	b, err := box.Start(ob.Config, opt)
	if err != nil {
		var se *box.SetupError
		if errors.As(err, &se) && strings.Contains(se.Step, "hook") {
			// The runtime-spec: a failed prestart, createRuntime or
			// createContainer hook stops the container and the lifecycle
			// goes on at delete, whose poststop hooks run.
			rec.Status = box.StatusStopped
			for _, h := range ob.Poststop {
				if herr := box.RunHook(h, st.OCI(rec)); herr != nil {
					fmt.Fprintf(c.App.ErrWriter, "pbox: create: warning: poststop %v\n", herr)
				}
			}
		}
		return setupFailure("create", err)
	}
	b.Release()
	// Nobody in pbox waits for an OCI box (containerd's shim does).
	rec.Pid, rec.PidStart, rec.Status, rec.Monitor = b.Pid, b.PidStart, box.StatusCreated, 0
	rec.Config = ob.Config
	rec.Config.Mounts = nil // done; the record stays small
	rec.Cgroup = b.Cgroup.Save()
	if err := st.Write(rec); err != nil {
		killBox(st, rec)
		return fail(statusFailed, "create: %v", err)
	}
	if p := c.String("pid-file"); p != "" {
		if err := writePidFile(p, b.Pid); err != nil {
			killBox(st, rec)
			return fail(statusFailed, "create: --pid-file: %v", err)
		}
	}
	ok = true
	return nil
}

// setupFailure turns a box.Start error into pbox's message and status.
func setupFailure(cmd string, err error) error {
	var se *box.SetupError
	if errors.As(err, &se) {
		return fail(statusFailed, "%s: %s", cmd, se.Error())
	}
	return fail(statusFailed, "%s: %v", cmd, err)
}

// writePidFile writes pid atomically, as runc does: a reader never sees
// an empty or partial file.
func writePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// killBox SIGKILLs everything in a box and removes its cgroup.
func killBox(st box.Store, rec *box.Record) error {
	if err := cgroups.Reopen(rec.Cgroup, nil).Destroy(); err != nil {
		return err
	}
	st.UnmarkCgroup(rec.Cgroup.Rel)
	return nil
}

func newStartCommand() *cli.Command {
	return &cli.Command{
		Name:        "start",
		Usage:       "run the process of a created box (OCI)",
		ArgsUsage:   "ID",
		Description: "example: sudo pbox create --bundle ./b web && sudo pbox start web",
		Action: func(c *cli.Context) error {
			st, rec, lock, err := openBox(c)
			if err != nil {
				return err
			}
			id := rec.ID
			defer lock.Unlock()
			if s := st.Status(rec); s != box.StatusCreated {
				return fail(statusFailed, "start: box %s is %s, not created: only a box made by 'pbox create' can be started, once", id, s)
			}
			fifoPath := st.Path(id, "exec.fifo")
			// O_NONBLOCK: if the init is gone there is no reader and the
			// open fails (ENXIO) instead of hanging.
			f, err := os.OpenFile(fifoPath, os.O_WRONLY|unix.O_NONBLOCK, 0)
			if err != nil {
				return fail(statusFailed, "start: box %s: its init is not waiting (%v)", id, err)
			}
			_, err = f.Write([]byte{0})
			f.Close()
			if err != nil {
				return fail(statusFailed, "start: write %s: %v", fifoPath, err)
			}
			os.Remove(fifoPath)
			rec.Status = box.StatusRunning
			if err := st.Write(rec); err != nil {
				return fail(statusFailed, "start: %v", err)
			}
			st.AppendEvent(id, box.Event{Type: "start", Pid: rec.Pid})
			// poststart hooks: a failure is reported, the box keeps running.
			oc := st.OCI(rec)
			for _, h := range rec.Poststart {
				if err := box.RunHook(h, oc); err != nil {
					fmt.Fprintf(c.App.ErrWriter, "pbox: start: warning: poststart %v\n", err)
				}
			}
			return nil
		},
	}
}

// ociStateJSON is `pbox state`'s output: the runtime-spec state plus
// what runc adds (rootfs, created, owner), which tools expect.
type ociStateJSON struct {
	box.OCIState
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

func stateOf(st box.Store, rec *box.Record) ociStateJSON {
	return ociStateJSON{OCIState: st.OCI(rec), Rootfs: rec.Rootfs, Created: rec.Created, Owner: ""}
}

func newStateCommand() *cli.Command {
	return &cli.Command{
		Name:        "state",
		Usage:       "print a box's state as OCI state JSON",
		ArgsUsage:   "ID",
		Description: "example: sudo pbox state web | jq -r .status",
		Action: func(c *cli.Context) error {
			st, rec, err := readBox(c)
			if err != nil {
				return err
			}
			data, _ := json.MarshalIndent(stateOf(st, rec), "", "  ")
			fmt.Fprintln(c.App.Writer, string(data))
			return nil
		},
	}
}

func newDeleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a stopped or created box: its cgroup and state (OCI; see also rm)",
		ArgsUsage: "ID",
		Description: `Runs the poststop hooks. A running box needs --force, which kills it.
	
	example: sudo pbox delete --force web`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the box first if it is running"},
		},
		Action: func(c *cli.Context) error {
			id, err := oneID(c)
			if err != nil {
				return err
			}
			return removeBox(c, id, "delete", c.Bool("force"))
		},
	}
}

// removeBox is delete and rm: kill what runs if allowed, wait for a
// monitor to record the exit, remove the cgroup, run poststop hooks,
// remove the state.
func removeBox(c *cli.Context, id, cmd string, force bool) error {
	st, rec, lock, err := openBoxID(c, id)
	if err != nil {
		return err
	}
	status := st.Status(rec)
	switch status {
	case box.StatusStopped, box.StatusCreated:
	default:
		if !force {
			lock.Unlock()
			return fail(statusFailed, "%s: box %s is %s: stop it first ('pbox stop %s') or use --force", cmd, id, status, id)
		}
	}
	lock.Unlock() // the monitor needs the lock to record the exit
	cg := cgroups.Reopen(rec.Cgroup, nil)
	if status == box.StatusPaused {
		cg.Freeze(false)
	}
	if status != box.StatusStopped || len(rec.Cgroup.V1Dirs) > 0 || rec.Cgroup.V2Dir != "" {
		if err := cg.Kill(); err != nil {
			return fail(statusFailed, "%s: %v", cmd, err)
		}
	}
	waitMonitor(rec)
	rec, lock, err = st.Open(id)
	if errors.Is(err, box.ErrNoSuchBox) {
		return nil // a foreground pbox run removed its own box on the way out
	}
	if err != nil {
		return fail(statusFailed, "%s: %v", cmd, err)
	}
	defer lock.Unlock()
	if err := killBox(st, rec); err != nil {
		return fail(statusFailed, "%s: %v", cmd, err)
	}
	oc := st.OCI(rec)
	for _, h := range rec.Poststop {
		if err := box.RunHook(h, oc); err != nil {
			fmt.Fprintf(c.App.ErrWriter, "pbox: %s: warning: poststop %v\n", cmd, err)
		}
	}
	if err := st.Remove(id); err != nil {
		return fail(statusFailed, "%s: %v", cmd, err)
	}
	return nil
}

// waitMonitor waits (up to 10 s) for the pbox that watches a box to
// record its exit and finish.
func waitMonitor(rec *box.Record) {
	if rec.Monitor <= 1 {
		return
	}
	for i := 0; i < 1000; i++ {
		if err := unix.Kill(rec.Monitor, 0); err != nil {
			return
		}
		if data, err := os.ReadFile("/proc/" + strconv.Itoa(rec.Monitor) + "/cmdline"); err != nil || len(data) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newListCommand() *cli.Command {
	return &cli.Command{
		Name:        "list",
		Usage:       "list boxes, as runc list (see also ps)",
		Description: "example: sudo pbox list --format json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "ids only"},
		},
		Action: func(c *cli.Context) error {
			st := store()
			ids, err := st.List()
			if err != nil {
				return fail(statusFailed, "list: %v", err)
			}
			var states []ociStateJSON
			for _, id := range ids {
				if rec, err := st.Read(id); err == nil {
					states = append(states, stateOf(st, rec))
				}
			}
			w := c.App.Writer
			switch {
			case c.Bool("quiet"):
				for _, s := range states {
					fmt.Fprintln(w, s.ID)
				}
			case c.String("format") == "json":
				if states == nil {
					states = []ociStateJSON{}
				}
				data, _ := json.Marshal(states)
				fmt.Fprintln(w, string(data))
			case c.String("format") == "table":
				tw := newTable(w, "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")
				for _, s := range states {
					tw.row(s.ID, strconv.Itoa(s.Pid), s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), "root")
				}
				tw.flush()
			default:
				return fail(statusFailed, "list: --format %q: use table or json", c.String("format"))
			}
			return nil
		},
	}
}

func newPauseCommand() *cli.Command {
	return &cli.Command{
		Name:        "pause",
		Usage:       "freeze every process of a box (cgroup freezer)",
		ArgsUsage:   "ID",
		Description: "example: sudo pbox pause web && sudo pbox resume web",
		Action:      func(c *cli.Context) error { return freeze(c, true) },
	}
}

func newResumeCommand() *cli.Command {
	return &cli.Command{
		Name:        "resume",
		Usage:       "thaw a paused box",
		ArgsUsage:   "ID",
		Description: "example: sudo pbox resume web",
		Action:      func(c *cli.Context) error { return freeze(c, false) },
	}
}

func freeze(c *cli.Context, frozen bool) error {
	st, rec, lock, err := openBox(c)
	if err != nil {
		return err
	}
	id := rec.ID
	defer lock.Unlock()
	want := box.StatusRunning
	if !frozen {
		want = box.StatusPaused
	}
	if s := st.Status(rec); s != want {
		return fail(statusFailed, "%s: box %s is %s, not %s", c.Command.Name, id, s, want)
	}
	if err := cgroups.Reopen(rec.Cgroup, nil).Freeze(frozen); err != nil {
		return fail(statusFailed, "%s: %v", c.Command.Name, err)
	}
	return nil
}

func newUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change the limits of a running box",
		ArgsUsage: "ID",
		Description: `--resources takes linux.resources of config.json (memory, cpu, pids);
	the flags are shorthands. A box gets new values only for controllers it
	was created with.
	
	example: echo '{"memory":{"limit":134217728}}' | sudo pbox update --resources - web`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "FILE (or - for stdin) with OCI linux.resources JSON"},
			&cli.StringFlag{Name: "memory", Usage: "memory limit, e.g. 128M"},
			&cli.StringFlag{Name: "cpus", Usage: "CPU limit as a number of CPUs, e.g. 0.5"},
			&cli.StringFlag{Name: "pids-limit", Usage: "most processes and threads"},
		},
		Action: updateAction,
	}
}

func updateAction(c *cli.Context) error {
	st, rec, lock, err := openBox(c)
	if err != nil {
		return err
	}
	id := rec.ID
	defer lock.Unlock()
	if s := st.Status(rec); s == box.StatusStopped {
		return fail(statusFailed, "update: box %s is stopped", id)
	}
	lim := rec.Cgroup.Limits
	lim.Devices = nil
	if p := c.String("resources"); p != "" {
		var r io.Reader = os.Stdin
		if p != "-" {
			f, err := os.Open(p)
			if err != nil {
				return fail(statusFailed, "update: --resources: %v", err)
			}
			defer f.Close()
			r = f
		}
		var res specs.LinuxResources
		if err := json.NewDecoder(r).Decode(&res); err != nil {
			return fail(statusFailed, "update: --resources: invalid JSON: %v", err)
		}
		if err := oci.MergeResources(&lim, &res); err != nil {
			return fail(statusFailed, "update: %v", err)
		}
	}
	if v := c.String("memory"); v != "" {
		if lim.MemoryBytes, err = cgroups.ParseMemory(v); err != nil {
			return fail(statusFailed, "update: --memory: %v", err)
		}
	}
	if v := c.String("cpus"); v != "" {
		if lim.CPUQuota, lim.CPUPeriod, err = cgroups.ParseCPUs(v); err != nil {
			return fail(statusFailed, "update: --cpus: %v", err)
		}
	}
	if v := c.String("pids-limit"); v != "" {
		if lim.PidsMax, err = parsePidsLimit(v); err != nil {
			return fail(statusFailed, "update: --pids-limit: %v", err)
		}
	}
	cg := cgroups.Reopen(rec.Cgroup, nil)
	if err := cg.Update(lim); err != nil {
		return fail(statusFailed, "update: %v", err)
	}
	devices := rec.Cgroup.Limits.Devices
	rec.Cgroup = cg.Save()
	rec.Cgroup.Limits.Devices = devices
	if err := st.Write(rec); err != nil {
		return fail(statusFailed, "update: %v", err)
	}
	return nil
}

// dialUnix connects to a unix socket. (Not package net: it would make a
// plain go build of pbox link libc for its DNS resolver.)
func dialUnix(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}
