package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// The scripts are urfave/cli's (autocomplete/), fixed to the name pbox:
// they ask `pbox ... --generate-bash-completion` for the candidates.
const bashCompletion = `# bash completion for pbox
_pbox_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  if [[ "$cur" == "-"* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _pbox_complete pbox ./pbox
`

const zshCompletion = `#compdef pbox
# zsh completion for pbox
_pbox() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _pbox pbox ./pbox
`

const fishCompletion = `# fish completion for pbox
function __pbox_complete
    set -l args (commandline -opc)
    set -l cur (commandline -ct)
    if string match -q -- '-*' $cur
        $args $cur --generate-bash-completion 2>/dev/null
    else
        $args --generate-bash-completion 2>/dev/null
    end
end
complete -c pbox -f -a '(__pbox_complete)'
`

func newCompletionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: `Prints a script that completes pbox's commands, flags, and the names
	of boxes where a command takes them (pbox stop <TAB>).
	
	example: pbox completion bash | sudo tee /etc/bash_completion.d/pbox
	         pbox completion zsh > "${fpath[1]}/_pbox"
	         pbox completion fish > ~/.config/fish/completions/pbox.fish`,
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "bash":
				fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion)
			case "fish":
				fmt.Fprint(c.App.Writer, fishCompletion)
			default:
				return fail(statusUsage, "completion: give bash, zsh or fish (usage: pbox completion bash|zsh|fish)")
			}
			return nil
		},
	}
}
