package box

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Finding the box of a process, whichever state root holds it. pbox run
// uses /run/pbox; an engine passes its own root (containerd's runc shim:
// /run/containerd/runc/<namespace>), so each root other than the default
// registers itself in the default one (rootsDir) when it gets a box.

const rootsDir = ".roots"

// rootEntry is this root's entry in the default root ("" for the default
// root itself, which is always searched).
func (s Store) rootEntry() string {
	if s.Root == "" || s.Root == DefaultStateRoot {
		return ""
	}
	abs, err := filepath.Abs(s.Root)
	if err != nil {
		return ""
	}
	return filepath.Join(DefaultStateRoot, rootsDir, markEscaper.Replace(abs))
}

// registerRoot notes this root in the default root, for FindProcess and
// RootsWith (Claim calls it for every box: a stat when it is there).
func (s Store) registerRoot() {
	e := s.rootEntry()
	if e == "" {
		return
	}
	if _, err := os.Stat(e); err == nil {
		return
	}
	if os.MkdirAll(filepath.Dir(e), 0o700) == nil {
		os.WriteFile(e, nil, 0o600)
	}
}

// unregisterRoot forgets this root once it holds no box (called as a box
// is removed), so that no entry outlives its boxes.
func (s Store) unregisterRoot() {
	if e := s.rootEntry(); e != "" {
		if ids, _ := s.List(); len(ids) == 0 {
			os.Remove(e)
		}
	}
}

// KnownRoots are the default root and every root that registered itself
// and still exists.
func KnownRoots() []string {
	roots := []string{DefaultStateRoot}
	entries, _ := os.ReadDir(filepath.Join(DefaultStateRoot, rootsDir))
	for _, e := range entries {
		root := markUnescaper.Replace(e.Name())
		if _, err := os.Stat(root); err != nil {
			os.Remove(filepath.Join(DefaultStateRoot, rootsDir, e.Name()))
			continue
		}
		roots = append(roots, root)
	}
	return roots
}

// RootsWith lists the known roots other than except that hold a box
// named id (pbox inspect NAME typed without the box's --root).
func RootsWith(id, except string) []string {
	var out []string
	for _, root := range KnownRoots() {
		if root == except {
			continue
		}
		if _, err := (Store{Root: root}).Read(id); err == nil {
			out = append(out, root)
		}
	}
	return out
}

// FindProcess is the box pid belongs to — its init, or any process in its
// cgroup — in any known root; ok false if none.
func FindProcess(pid int) (s Store, rec *Record, ok bool) {
	cgroupOf, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	for _, root := range KnownRoots() {
		st := Store{Root: root}
		ids, _ := st.List()
		for _, id := range ids {
			r, err := st.Read(id)
			if err != nil || st.Status(r) == StatusStopped {
				continue
			}
			if r.Pid == pid || (r.Cgroup.Rel != "" && inCgroup(string(cgroupOf), r.Cgroup.Rel)) {
				return st, r, true
			}
		}
	}
	return Store{}, nil, false
}

// inCgroup reports whether /proc/<pid>/cgroup (the host's view) puts the
// process in rel or below it, in any hierarchy.
func inCgroup(procCgroup, rel string) bool {
	rel = "/" + strings.Trim(rel, "/")
	for _, line := range strings.Split(procCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && (parts[2] == rel || strings.HasPrefix(parts[2], rel+"/")) {
			return true
		}
	}
	return false
}

// Kubernetes is what the CRI's annotations say of a box that containerd
// created for Kubernetes; nil for any other box.
type Kubernetes struct {
	Type          string // "sandbox" (the pod's pause container) or "container"
	PodName       string
	PodNamespace  string
	SandboxID     string
	ContainerName string
	Image         string
}

// KubernetesOf reads the CRI annotations of a record.
func KubernetesOf(rec *Record) *Kubernetes {
	a := rec.Annotations
	typ := a["io.kubernetes.cri.container-type"]
	if typ == "" {
		return nil
	}
	return &Kubernetes{Type: typ, PodName: a["io.kubernetes.cri.sandbox-name"], PodNamespace: a["io.kubernetes.cri.sandbox-namespace"],
		SandboxID: a["io.kubernetes.cri.sandbox-id"], ContainerName: a["io.kubernetes.cri.container-name"], Image: a["io.kubernetes.cri.image-name"]}
}
