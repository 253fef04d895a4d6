package box

import (
	"github.com/pbox-dev/pbox/namespaces"
	"github.com/pbox-dev/pbox/rootfs"
	"github.com/pbox-dev/pbox/seccomp"
)

// InitArg0 is the box builder's argv[0]: the mode of the tiny C program
// (tinyinit.c dispatches on it), and what ps inside the box shows as PID 1.
const InitArg0 = "pbox-init"

// Config is the box as pbox plans it; the init gets it as a plan
// (plan.go), and the state record keeps it as JSON.
type Config struct {
	// Process is COMMAND: the one process type of pbox-init's COMMAND and
	// of every process pbox exec starts (its fields are Config's in JSON).
	Process
	Name     string `json:"name"`
	Hostname string `json:"hostname"`
	// HostnameInJoinedUTS sets Hostname in a UTS namespace the box joined
	// by path (an OCI config; never the host's).
	HostnameInJoinedUTS bool              `json:"hostname_in_joined_uts,omitempty"`
	Namespaces          []namespaces.Kind `json:"namespaces"`
	NoInit              bool              `json:"no_init,omitempty"`
	// DiesWithPbox: the init was cloned with PR_SET_PDEATHSIG (not for
	// pbox create, whose caller adopts the box). The setting is per task
	// and a change of user clears it, so the thread that exec's COMMAND or
	// the tiny init sets it again.
	DiesWithPbox bool `json:"dies_with_pbox,omitempty"`
	Verbose      bool `json:"verbose,omitempty"`
	// Mounts is the filesystem set-up, planned by pbox (rootfs.PlanBundle) and
	// replayed by the init in the box's mount namespace.
	Mounts []rootfs.Op `json:"mounts,omitempty"`
	// NoNewKeyring keeps the caller's session keyring (pbox create
	// --no-new-keyring, as runc); otherwise COMMAND gets a new, empty one.
	NoNewKeyring bool `json:"no_new_keyring,omitempty"`
	// Seccomp is COMMAND's filter, compiled by pbox; nil: none
	// (--security-opt seccomp=unconfined, --privileged).
	Seccomp *seccomp.Program `json:"seccomp,omitempty"`

	// What the OCI runtime command line adds (pbox create): the hooks the
	// init runs itself (createContainer before pivot_root, startContainer
	// once `pbox start` came) and the state they read. Where the console
	// socket, exec.fifo and preserved fds are is the plan's (initLayout).
	CreateContainer []Hook    `json:"create_container,omitempty"`
	StartContainer  []Hook    `json:"start_container,omitempty"`
	HookState       *OCIState `json:"hook_state,omitempty"`
}

// Process is a process pbox starts in a box, COMMAND or one of pbox exec:
// what it runs, as whom, where, and what it inherits.
type Process struct {
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Cwd  string   `json:"workdir,omitempty"` // inside the box; "" = / (exec: the box's)
	User *User    `json:"user,omitempty"`    // nil = root
	// Capabilities is the bounding set (numbers); nil keeps all (exec: the
	// box's), empty drops all (so no omitempty: [] and null differ).
	Capabilities    []int    `json:"capabilities"`
	Inheritable     []int    `json:"inheritable,omitempty"` // the inheritable set
	Ambient         []int    `json:"ambient,omitempty"`     // ambient capabilities (inheritable too)
	NoNewPrivileges bool     `json:"no_new_privileges,omitempty"`
	Rlimits         []Rlimit `json:"rlimits,omitempty"`
	OOMScoreAdj     *int     `json:"oom_score_adj,omitempty"`
	Umask           *uint32  `json:"umask,omitempty"`
	// IOPriority (ioprio_set's class<<13 | level; 0: unset), Scheduler
	// (sched_setattr; nil: unset) and CPUAffinity (CPUs; nil: unset) are
	// how the process is scheduled (sched.go).
	IOPriority  int        `json:"io_priority,omitempty"`
	Scheduler   *SchedAttr `json:"scheduler,omitempty"`
	CPUAffinity []int      `json:"cpu_affinity,omitempty"`
	// Terminal gives the process a new pty of the box's.
	Terminal bool `json:"terminal,omitempty"`
	// ConsoleSize is the pty's size before the process starts (OCI
	// process.consoleSize; pbox run -t and exec -t pass their terminal's),
	// so a first `stty size` or a full-screen program never sees 0x0.
	ConsoleSize *ConsoleSize `json:"console_size,omitempty"`
}

// ConsoleSize is a terminal's size in characters.
type ConsoleSize struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// User is who COMMAND runs as (the init itself stays root).
type User struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
}

// Rlimit is one setrlimit(2) for COMMAND.
type Rlimit struct {
	Name     string `json:"name,omitempty"` // RLIMIT_NOFILE, for messages
	Resource int    `json:"resource"`
	Soft     uint64 `json:"soft"`
	Hard     uint64 `json:"hard"`
}

// has reports whether the box gets a new namespace of kind k.
func (c *Config) has(k namespaces.Kind) bool { return namespaces.Has(c.Namespaces, k) }
