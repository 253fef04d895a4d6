package seccomp

import (
	"fmt"
	"os"

	profiles "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Default is Docker's default profile for a box whose bounding set is
// caps (names such as "CAP_SYS_ADMIN"): Docker allows some syscalls only
// to a container that holds the matching capability (mount with
// CAP_SYS_ADMIN, ptrace with CAP_SYS_PTRACE, ...), and so does pbox.
func Default(caps []string) (*specs.LinuxSeccomp, error) {
	return profiles.GetDefaultProfile(specWithCaps(caps))
}

// LoadFile reads a profile in Docker's format (what `docker run
// --security-opt seccomp=FILE` takes; a runtime-spec linux.seccomp object
// is a valid one too), resolved for a box whose bounding set is caps.
func LoadFile(path string, caps []string) (*specs.LinuxSeccomp, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := profiles.LoadProfile(string(data), specWithCaps(caps))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if s == nil {
		return nil, fmt.Errorf("%s: no defaultAction and no syscalls: an empty profile; use --security-opt seccomp=unconfined for no filter", path)
	}
	return s, nil
}

func specWithCaps(caps []string) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
}
