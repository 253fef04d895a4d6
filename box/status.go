package box

import (
	"errors"
	"fmt"
	"syscall"
)

// Exit statuses, as a shell reports them.
const (
	StatusSetupFailed   = 125 // pbox failed before COMMAND ran
	StatusNotExecutable = 126 // COMMAND found but cannot be executed
	StatusNotFound      = 127 // COMMAND not found
	statusSignalBase    = 128 // + N: killed by signal N
)

// WaitStatusCode turns a wait status into a shell-style exit status.
func WaitStatusCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return statusSignalBase + int(ws.Signal())
	}
	return StatusSetupFailed
}

// execErrorCode maps an execve errno to 126 or 127, as bash does.
func execErrorCode(err error) int {
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
		return StatusNotFound
	}
	return StatusNotExecutable
}

// SetupError is a failure before COMMAND ran, in the parent or reported by
// the init over the sync socket. Step names what failed.
type SetupError struct {
	Step string
	Err  string
	Code int
}

func (e *SetupError) Error() string {
	if e.Step == "" {
		return e.Err // already worded in full (a run -d monitor's message)
	}
	return fmt.Sprintf("%s: %s", e.Step, e.Err)
}

// The steps that are OCI hooks (prestart and createRuntime run in pbox;
// createContainer and startContainer in the box).
const (
	stepRuntimeHook         = "hook"
	stepCreateContainerHook = "createContainer hook"
	stepStartContainerHook  = "startContainer hook"
)

// HookFailed says if the failed step was an OCI hook: the runtime-spec
// then stops the container and the lifecycle goes on at delete.
func (e *SetupError) HookFailed() bool {
	switch e.Step {
	case stepRuntimeHook, stepCreateContainerHook, stepStartContainerHook:
		return true
	}
	return false
}

func setupErr(step string, err error) *SetupError {
	return &SetupError{Step: step, Err: err.Error(), Code: StatusSetupFailed}
}
