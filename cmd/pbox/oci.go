package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/oci"
	"github.com/urfave/cli/v2"
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

// lookBox opens the box named on the command line, to ask about it.
func lookBox(c *cli.Context) (*box.Handle, error) {
	id, err := oneID(c)
	if err != nil {
		return nil, err
	}
	return lookBoxID(c, id)
}

func lookBoxID(c *cli.Context, id string) (*box.Handle, error) {
	if _, err := checkID(c, id); err != nil {
		return nil, err
	}
	h, err := store().Look(id)
	if err != nil {
		return nil, fail(statusFailed, "%s: %v", c.Command.Name, err)
	}
	return h, nil
}

// lockBox opens the box named on the command line to change it (root
// only), holding its lock until Close.
func lockBox(c *cli.Context) (*box.Handle, error) {
	id, err := oneID(c)
	if err != nil {
		return nil, err
	}
	return lockBoxID(c, id)
}

func lockBoxID(c *cli.Context, id string) (*box.Handle, error) {
	if _, err := checkID(c, id); err != nil {
		return nil, err
	}
	if err := needRoot(c); err != nil {
		return nil, err
	}
	h, err := store().Lock(id)
	if err != nil {
		return nil, fail(statusFailed, "%s: %v", c.Command.Name, err)
	}
	return h, nil
}

// warnf prints a warning of a command that goes on (a failed poststart
// or poststop hook).
func warnf(c *cli.Context) func(error) {
	return func(err error) { fmt.Fprintf(c.App.ErrWriter, "pbox: %s: warning: %v\n", c.Command.Name, err) }
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
	// An ordinary user changes the boxes of a state root of its own (its
	// rootless boxes); any other root is root's.
	if box.Rootless() && !box.OwnedByCaller(store().Root) {
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
	spec, err := box.LoadSpec(bundle)
	if err != nil {
		return fail(statusFailed, "create: %v", err)
	}
	st := store()
	ob, err := st.Translate(spec, bundle, id)
	if err != nil {
		return fail(statusFailed, "create: config.json: %v", err)
	}
	if ob.Options.Filesystem != nil {
		ob.Options.Filesystem.NoPivot = c.Bool("no-pivot")
	}
	ob.Config.NoNewKeyring = c.Bool("no-new-keyring")
	for _, w := range ob.Warnings {
		warnf(c)(errors.New(w))
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
	mode, err := box.DetectCgroups()
	if err != nil {
		return fail(statusFailed, "create: %v", err)
	}

	opt := ob.Options
	opt.CgroupMode = mode
	opt.PreserveFDs = c.Int("preserve-fds")
	if c.Bool("verbose") || globals.debug {
		opt.Log = c.App.ErrWriter
		ob.Config.Verbose = true
	}
	if p := c.String("console-socket"); p != "" {
		f, err := box.DialUnix(p)
		if err != nil {
			return fail(statusFailed, "create: --console-socket: %v", err)
		}
		defer f.Close()
		opt.Console = f
	}
	err = st.Create(box.CreateRequest{
		ID: id, Config: ob.Config, Options: opt,
		Record: box.Record{Bundle: bundle, Annotations: spec.Annotations, Rootfs: ob.Rootfs,
			Poststart: ob.Poststart, Poststop: ob.Poststop},
		PidFile: c.String("pid-file"),
	}, warnf(c))
	if err != nil {
		return setupFailure("create", err)
	}
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

func newStartCommand() *cli.Command {
	return &cli.Command{
		Name:        "start",
		Usage:       "run the process of a created box (OCI)",
		ArgsUsage:   "ID",
		Description: "example: sudo pbox create --bundle ./b web && sudo pbox start web",
		Action: func(c *cli.Context) error {
			h, err := lockBox(c)
			if err != nil {
				return err
			}
			defer h.Close()
			if err := h.Start(warnf(c)); err != nil {
				return fail(statusFailed, "start: %v", err)
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
			h, err := lookBox(c)
			if err != nil {
				return err
			}
			data, _ := json.MarshalIndent(stateOf(h.Store, h.Record), "", "  ")
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

// removeBox is delete and rm: Handle.Destroy, which kills what runs if
// allowed, waits for a monitor to record the exit, removes the cgroup,
// runs poststop hooks and removes the state.
func removeBox(c *cli.Context, id, cmd string, force bool) error {
	h, err := lockBoxID(c, id)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.Destroy(force, warnf(c)); err != nil {
		return fail(statusFailed, "%s: %v", cmd, err)
	}
	return nil
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
	h, err := lockBox(c)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.Freeze(frozen); err != nil {
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
	h, err := lockBox(c)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.Allows(box.OpUpdate); err != nil {
		return fail(statusFailed, "update: %v", err)
	}
	lim := h.Record.Cgroup.Limits
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
		// The device list is the box's own for its life: runc update
		// ignores it too, and containerd's shim sends a container's whole
		// linux.resources, devices included (Kubernetes'
		// UpdateContainerResources).
		res.Devices = nil
		warnings, err := box.MergeResources(&lim, &res)
		if err != nil {
			return fail(statusFailed, "update: %v", err)
		}
		for _, w := range warnings {
			warnf(c)(errors.New(w))
		}
	}
	if lim, err = box.ParseLimitFlags(lim, c.String("memory"), c.String("cpus"), c.String("pids-limit")); err != nil {
		return fail(statusFailed, "update: %v", err)
	}
	if err := h.Update(lim); err != nil {
		return fail(statusFailed, "update: %v", err)
	}
	return nil
}
