package inspect

// Report is everything pbox inspect shows about one process and its box.
// Its JSON form is a stable interface: see docs/inspect-json.md. Fields
// are only added, never renamed or removed.
type Report struct {
	Pid     int      `json:"pid"`     // host pid (as the inspector sees it)
	NSpid   []int    `json:"nspid"`   // pid at every namespace level, outermost first
	NStgid  []int    `json:"nstgid"`  // thread group id at every level
	NSpgid  []int    `json:"nspgid"`  // process group id at every level
	NSsid   []int    `json:"nssid"`   // session id at every level
	Comm    string   `json:"comm"`    // /proc/<pid>/comm
	Cmdline []string `json:"cmdline"` // argv
	State   string   `json:"state"`   // "S (sleeping)"
	Parent  Parent   `json:"parent"`

	Reference  Reference         `json:"reference"`  // what "host" means below
	Namespaces map[string]NSInfo `json:"namespaces"` // keyed by type: pid, mnt, uts, ipc, net, user, cgroup, time
	// ForChildren lists the *_for_children links that differ from the
	// process's own namespace (after setns or unshare).
	ForChildren map[string]NSInfo `json:"for_children,omitempty"`

	Hostname  Hostname  `json:"hostname"`
	Cgroup    Cgroup    `json:"cgroup"`
	Processes []Process `json:"processes"` // every process of the box, by host pid
	// Ancestry is the host's chain above the box: from the host's PID 1
	// down to the parent of the box's topmost process (pbox run, a shell).
	Ancestry []Process `json:"ancestry,omitempty"`
	// BoxProcCount is how many processes the box's own /proc lists (what
	// ps inside shows); 0 if unreadable or the PID namespace is the host's.
	BoxProcCount int      `json:"box_proc_count"`
	Mounts       Mounts   `json:"mounts"`
	Security     Security `json:"security"`
	PID1         PID1     `json:"pid1"` // PID 1 of the box's PID namespace
	// Network is the box's network namespace from inside and out.
	Network *Network `json:"network,omitempty"`
	// Devices are the device nodes in the box's /dev (a box with a mount
	// namespace of its own) and what its device rules allow with each.
	Devices []Device `json:"devices,omitempty"`
	// Box is the pbox box the process belongs to, as the caller found it
	// in a state root (absent for a process of no box pbox knows).
	Box *BoxInfo `json:"box,omitempty"`

	Warnings []string `json:"warnings"` // things a user should act on
	Notes    []string `json:"notes"`    // what could not be read, and why
}

// Parent is the process's parent, seen from both sides.
type Parent struct {
	Pid       int    `json:"pid"`        // host pid
	InsidePid int    `json:"inside_pid"` // in the box's PID namespace; 0 if the parent is outside the box
	Comm      string `json:"comm"`
}

// Reference names the process whose namespaces count as "the host's".
type Reference struct {
	Pid  int    `json:"pid"`
	Comm string `json:"comm"`
	Why  string `json:"why"`
}

// NSInfo compares one namespace of the process with the reference's.
type NSInfo struct {
	Inode     uint64 `json:"inode"`
	HostInode uint64 `json:"host_inode"`
	Isolated  bool   `json:"isolated"`
}

// Hostname is the UTS namespace's own hostname and the inspector's.
type Hostname struct {
	Inside  string `json:"inside"`
	Outside string `json:"outside"`
}

// Cgroup describes the process's cgroup from both sides.
type Cgroup struct {
	Version string `json:"version"` // "v1", "hybrid" or "v2"
	Inside  string `json:"inside"`  // path as the box sees it (its cgroup namespace)
	Outside string `json:"outside"` // path from the host's root (on hybrid: in cgroup2)
	// V1 is the path in each v1 hierarchy (v1 and hybrid hosts), keyed by
	// its controllers ("cpu,cpuacct", "name=systemd").
	V1       map[string]string `json:"v1,omitempty"`
	Limits   map[string]string `json:"limits"` // memory, pids, cpu: "max" when unlimited
	Usage    map[string]uint64 `json:"usage"`  // memory_bytes, pids, cpu_usec
	OOMKills uint64            `json:"oom_kills"`
	// CPUPercent is the CPU the box used over Options.CPUWindow (100 is
	// one CPU); absent unless the caller asked for it.
	CPUPercent *float64 `json:"cpu_percent,omitempty"`
}

// Process is one process of the box.
type Process struct {
	Pid   int    `json:"pid"`   // host pid
	NSpid []int  `json:"nspid"` // outermost first; the last is the box's pid
	PPid  int    `json:"ppid"`  // host pid of the parent
	Comm  string `json:"comm"`
	State string `json:"state"` // one letter: R, S, D, Z, T, ...
	// Args is its command line, cut at maxArgsText characters (the box
	// writes it: a picture must not grow with it); absent for a kernel
	// thread or a zombie.
	Args string `json:"args,omitempty"`
}

// Mounts compares the box's mount table with the host's.
type Mounts struct {
	InsideCount  int      `json:"inside_count"`
	OutsideCount int      `json:"outside_count"`
	Root         string   `json:"root"`         // what / is inside: "source (fstype), root dir"
	RootOutside  string   `json:"root_outside"` // what / is on the host
	ProcInside   string   `json:"proc_inside"`  // the /proc mount inside
	ProcOutside  string   `json:"proc_outside"` // the host's /proc mount
	OnlyInside   []string `json:"only_inside"`  // "mountpoint (fstype source)"
	OnlyOutside  []string `json:"only_outside"` // idem
}

// Security is the process's privileges.
type Security struct {
	UID int `json:"uid"` // effective, as the box sees it
	GID int `json:"gid"` // idem
	// UserNSOwner is the host uid that made the process's user namespace,
	// when that is not the host's: not 0 for a rootless box.
	UserNSOwner *int     `json:"userns_owner,omitempty"`
	UIDMap      []string `json:"uid_map"` // "inside outside count"
	GIDMap      []string `json:"gid_map"`
	CapEff      []string `json:"cap_eff"`
	CapEffHex   string   `json:"cap_eff_hex"`
	NoNewPrivs  bool     `json:"no_new_privs"`
	Seccomp     string   `json:"seccomp"` // disabled, strict, filter
	// SeccompFilters counts the filters attached (pbox's default: 1).
	SeccompFilters int `json:"seccomp_filters"`
}

// PID1 describes PID 1 of the box.
type PID1 struct {
	Pid         int    `json:"pid"` // host pid; 0 if not visible
	Comm        string `json:"comm"`
	Kind        string `json:"kind"` // "pbox-init", "init" (a known init), "application", "host init"
	Zombies     int    `json:"zombies"`
	HandlesTERM bool   `json:"handles_sigterm"`
	HandlesINT  bool   `json:"handles_sigint"`
}

// BoxInfo names the box a process belongs to, and for a container that
// containerd created for Kubernetes (its CRI annotations) the pod.
type BoxInfo struct {
	ID         string          `json:"id"`
	Root       string          `json:"root"` // the state root that holds it
	Status     string          `json:"status"`
	Kubernetes *KubernetesInfo `json:"kubernetes,omitempty"`
}

// KubernetesInfo is a CRI container's place in its pod.
type KubernetesInfo struct {
	Type         string `json:"type"` // sandbox (the pod's pause container) or container
	Pod          string `json:"pod"`
	PodNamespace string `json:"pod_namespace"`
	SandboxID    string `json:"sandbox_id"`
	Container    string `json:"container,omitempty"`
	Image        string `json:"image,omitempty"`
}
