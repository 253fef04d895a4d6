package main

import (
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// placeholders name what each flag's value is in --help and the man
// pages (urfave/cli writes "value" for every one): --memory BYTES, not
// --memory value. One table for every command: a flag name means the
// same thing wherever it appears.
var placeholders = map[string]string{
	"add-host": "NAME:IP", "bundle": "DIR", "cap-add": "CAP", "cap-drop": "CAP", "cgroup-parent": "PATH",
	"console-socket": "SOCKET", "cpus": "N", "cwd": "DIR", "cdi-spec-dir": "DIR", "gpus": "GPUS", "detach-keys": "KEYS", "device": "DEVICE", "dns": "IP",
	"env": "KEY=VALUE", "env-file": "FILE", "format": "FORMAT", "hostname": "NAME", "log": "FILE",
	"log-format": "text|json", "log-opt": "KEY=VALUE", "memory": "BYTES", "name": "NAME",
	"network": "MODE", "ns": "LIST", "pid-file": "FILE", "pids-limit": "N", "preserve-fds": "N",
	"process": "FILE", "publish": "HOST:BOX",
	"resources": "FILE", "root": "DIR", "rootfs": "DIR", "security-opt": "OPT", "signal": "SIGNAL",
	"since": "TIME", "tail": "N", "time": "SECONDS", "tmpfs": "DST[:OPTS]", "until": "TIME",
	"user": "USER[:GROUP]", "userns": "auto|host", "uidmap": "C:H:SIZE", "gidmap": "C:H:SIZE", "volume": "SRC:DST", "workdir": "DIR", "max-size": "BYTES",
}

// flagWithPlaceholder is urfave/cli's flag line with each "NAME value"
// given its placeholder, and the usage on the lines below the names (a
// table column would push it past helpWidth).
func flagWithPlaceholder(f cli.Flag) string {
	line := defaultFlagStringer(f)
	names, usage, _ := strings.Cut(line, "\t")
	ph, ok := placeholders[f.Names()[0]] // the flag's name says; its aliases follow
	if !ok {
		return names + "\n" + usage
	}
	for _, n := range f.Names() {
		dash := "--"
		if len(n) == 1 {
			dash = "-"
		}
		names = strings.ReplaceAll(names, dash+n+" value", dash+n+" "+ph)
	}
	return names + "\n" + usage // the usage below, indented: lines fit helpWidth
}

// defaultFlagStringer is urfave/cli's own, kept before init replaces it.
var defaultFlagStringer = cli.FlagStringer

func init() { cli.FlagStringer = flagWithPlaceholder }

// helpWidth is where --help wraps its lines.
const helpWidth = 100

func init() {
	cli.HelpPrinter = func(w io.Writer, templ string, data any) {
		cli.HelpPrinterCustom(w, templ, data, map[string]any{"wrapAt": func() int { return helpWidth }})
	}
}
