package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pbox-dev/pbox/box"
	"github.com/pbox-dev/pbox/inspect"
	"github.com/pbox-dev/pbox/network"
	"github.com/urfave/cli/v2"
)

func newInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show one process as the host sees it and as its box sees it, side by side",
		ArgsUsage: "PID|BOX",
		Description: `PID is a host pid of any process: a pbox box, an unshare child, a runc
	or Docker container, or a plain process (then every namespace is "shared
	with host"). BOX is a name from 'pbox ps': its init is shown. It shows identity, namespaces, hostname, cgroup, mounts,
	privileges, PID 1 of the box, and the box's processes with both pids.
	
	example: sudo pbox inspect --tree $(pgrep -n sleep)
	example: sudo pbox inspect --svg web > web.svg`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON (schema: docs/inspect-json.md)"},
			&cli.BoolFlag{Name: "tree", Usage: "draw the box's processes as a tree under the host's processes that lead to it, each with its box pid and host pid, zombies marked Z"},
			&cli.BoolFlag{Name: "svg", Usage: "write an SVG picture (any browser shows it): badges (hostname, root, user, capabilities, seccomp), the process tree with the box's boundary, both pids, PID 1, zombies and the inspected process marked, identical siblings counted, the namespace matrix, the cgroup's limits with usage (CPU over 0.25 s), the network as a path, a legend; redirect it to a file"},
		},
		Action: inspectAction,
	}
}

func inspectAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return fail(statusUsage, "inspect: give exactly one PID (usage: pbox inspect [--json|--tree|--svg] PID): see 'pbox inspect --help'")
	}
	pid, err := strconv.Atoi(c.Args().First())
	if err != nil {
		// A box name: inspect its init.
		name := c.Args().First()
		if box.ValidID(name) != nil {
			return fail(statusUsage, "inspect: %q is neither a pid nor a box name: give a process id, e.g. $(pgrep -n sleep), or a name from 'pbox ps'", name)
		}
		st := store()
		rec, rerr := st.Read(name)
		if errors.Is(rerr, box.ErrNoSuchBox) {
			// Under another state root, if exactly one has it.
			switch roots := box.RootsWith(name, st.Root); len(roots) {
			case 0:
			case 1:
				globals.store = box.Store{Root: roots[0]}
				st = store()
				rec, rerr = st.Read(name)
			default:
				return fail(statusUsage, "inspect: no box %q under %s, and several other state roots have one: add --root (one of %s)", name, st.Root, strings.Join(roots, ", "))
			}
		}
		if errors.Is(rerr, box.ErrNoSuchBox) {
			return fail(statusUsage, "inspect: %q is not a pid, and no box has that name: give a process id, e.g. $(pgrep -n sleep), or a name from 'pbox ps'", name)
		}
		if rerr != nil {
			return fail(statusFailed, "inspect: %v", rerr)
		}
		if s := st.Status(rec); s == box.StatusStopped || rec.Pid <= 0 {
			return fail(statusFailed, "inspect: box %s is %s: no process to inspect", name, s)
		}
		pid = rec.Pid
	}
	if pid <= 0 {
		return fail(statusUsage, "inspect: %q is not a pid: give a positive process id, e.g. $(pgrep -n sleep)", c.Args().First())
	}
	views := 0
	for _, v := range []string{"json", "tree", "svg"} {
		if c.Bool(v) {
			views++
		}
	}
	if views > 1 {
		return fail(statusUsage, "inspect: --json, --tree and --svg exclude each other: pick one")
	}
	if c.Bool("svg") && isTerminal(os.Stdout) {
		return fail(statusUsage, "inspect: --svg writes a picture, not text: redirect it to a file (sudo pbox inspect --svg %s > box.svg) and open that in a browser", c.Args().First())
	}
	opts := inspect.Options{CgroupVersion: box.CgroupLayout()}
	if c.Bool("svg") {
		// The picture's CPU bar is use now, against the quota: a rate
		// needs two readings.
		opts.CPUWindow = 250 * time.Millisecond
	}
	// The box the process belongs to, in whichever state root holds it
	// (an engine's, for a container containerd made for Kubernetes).
	if st, rec, ok := box.FindProcess(pid); ok {
		info := &inspect.BoxInfo{ID: rec.ID, Root: st.Root, Status: st.Status(rec)}
		if k := box.KubernetesOf(rec); k != nil {
			info.Kubernetes = &inspect.KubernetesInfo{Type: k.Type, Pod: k.PodName, PodNamespace: k.PodNamespace,
				SandboxID: k.SandboxID, Container: k.ContainerName, Image: k.Image}
		}
		opts.Box = info
		for _, d := range rec.Cgroup.Limits.Devices {
			opts.DeviceRules = append(opts.DeviceRules, inspect.DeviceRule{Allow: d.Allow, Type: d.Type, Major: d.Major, Minor: d.Minor, Access: d.Access})
		}
	}
	// A box on a CNI network: its published ports and their NAT rules,
	// which only its state knows.
	if id := store().BoxOfProcess(pid); id != "" {
		ports, err := store().PublishedPorts(id)
		if err != nil {
			fmt.Fprintf(c.App.ErrWriter, "pbox: inspect: the published ports of box %s: %v\n", id, err)
		}
		for _, p := range ports {
			opts.Published = append(opts.Published, inspect.Published{Port: p.Port, Rules: p.Rules})
		}
		opts.HostNetns = store().PluginsNetns(id)
		var limit *network.PortmapCheckLimit
		if name, err := store().CheckNetwork(id); errors.As(err, &limit) {
			opts.CNICheck = limit.Error()
		} else if err != nil {
			opts.CNICheck = err.Error()
		} else if name != "" {
			opts.CNICheck = "ok: the plugins find the attachment to " + name + " as ADD made it"
		}
	}
	rep, err := inspect.Collect(pid, opts)
	if errors.Is(err, inspect.ErrNoProcess) {
		return fail(statusFailed, "inspect: no process with pid %d", pid)
	}
	if err != nil {
		return fail(statusFailed, "inspect: %v", err)
	}
	if os.Geteuid() != 0 && len(rep.Notes) > 0 {
		rep.Notes = append(rep.Notes, "run it with sudo to read the parts marked \"needs root\"")
	}
	out := c.App.Writer
	switch {
	case c.Bool("json"):
		err = inspect.RenderJSON(out, rep)
	case c.Bool("tree"):
		err = inspect.RenderTree(out, rep)
	case c.Bool("svg"):
		err = inspect.RenderSVG(out, rep)
	default:
		err = inspect.RenderText(out, rep)
	}
	if err != nil {
		return fail(statusFailed, "inspect: write output: %v", err)
	}
	return nil
}
