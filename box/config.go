package box

import (
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/rootfs"
)

// InitArg0 is the argv[0] of the re-executed init; main dispatches on it and
// ps inside the box shows it.
const InitArg0 = "pbox-init"

// Config is everything the init needs; it crosses to the init as JSON.
type Config struct {
	Name       string            `json:"name"`
	Hostname   string            `json:"hostname"`
	Namespaces []namespaces.Kind `json:"namespaces"`
	NoInit     bool              `json:"no_init,omitempty"`
	Args       []string          `json:"args"`
	Env        []string          `json:"env"`
	Workdir    string            `json:"workdir,omitempty"`
	Verbose    bool              `json:"verbose,omitempty"`
	// Mounts is the filesystem set-up, planned by pbox (rootfs.Plan) and
	// replayed by the init in the box's mount namespace.
	Mounts []rootfs.Op `json:"mounts,omitempty"`
	// Capabilities is COMMAND's bounding set (numbers); nil keeps all,
	// empty drops all (so no omitempty: [] and null differ).
	Capabilities    []int `json:"capabilities"`
	NoNewPrivileges bool  `json:"no_new_privileges,omitempty"`
}

// has reports whether the box gets a new namespace of kind k.
func (c *Config) has(k namespaces.Kind) bool { return namespaces.Has(c.Namespaces, k) }
