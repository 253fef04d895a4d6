package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// manPages renders a man page (section 8: it needs root) for pbox and for
// each subcommand, from the same definitions the command line uses.
// docs/man/ holds them; go test ./cmd/pbox -run TestManPages -update
// rewrites them, and CI fails if they are out of date.
func manPages() (map[string]string, error) {
	app := newApp(nil, nil)
	pages := map[string]string{}
	top, err := app.ToManWithSection(8)
	if err != nil {
		return nil, err
	}
	pages["pbox.8"] = top
	for _, cmd := range app.Commands {
		if cmd.Hidden {
			continue
		}
		usage := "pbox " + cmd.Name
		if cmd.ArgsUsage != "" {
			usage += " [FLAGS] " + cmd.ArgsUsage
		}
		sub := &cli.App{
			Name:        "pbox-" + cmd.Name,
			Usage:       cmd.Usage,
			UsageText:   usage,
			Description: cmd.Description,
			Flags:       cmd.Flags,
			Commands:    cmd.Subcommands,
			HideHelp:    true,
		}
		page, err := sub.ToManWithSection(8)
		if err != nil {
			return nil, err
		}
		pages["pbox-"+cmd.Name+".8"] = strings.ReplaceAll(page, "pbox-"+cmd.Name, "pbox "+cmd.Name)
	}
	return pages, nil
}
