package box

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// RunHook runs an OCI hook with the box's state on its stdin, as the
// runtime-spec says: Args[0] is argv[0], a timeout kills it, and a
// non-zero exit is an error that carries what it wrote to stderr.
func RunHook(h Hook, st OCIState) error {
	state, err := json.Marshal(st)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(state)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %ds", h.Timeout)
		}
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return fmt.Errorf("hook %s: %w", h.Path, err)
	}
	return nil
}

// RunHooks runs hooks in order and stops at the first failure.
func RunHooks(hooks []Hook, st OCIState) error {
	for _, h := range hooks {
		if err := RunHook(h, st); err != nil {
			return err
		}
	}
	return nil
}
