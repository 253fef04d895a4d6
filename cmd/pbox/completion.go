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
complete -o bashdefault -o default -F _pbox_complete pbox
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
compdef _pbox pbox
`

func newCompletionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash or zsh",
		ArgsUsage: "bash|zsh",
		Description: `Prints a script that completes pbox's commands and flags.
	
	example: pbox completion bash | sudo tee /etc/bash_completion.d/pbox
	         pbox completion zsh > "${fpath[1]}/_pbox"`,
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "bash":
				fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion)
			default:
				return fail(statusUsage, "completion: give bash or zsh (usage: pbox completion bash|zsh)")
			}
			return nil
		},
	}
}
