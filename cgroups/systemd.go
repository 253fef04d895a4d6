package cgroups

import (
	"fmt"
	"strings"
)

// SystemdPath is where systemd's naming puts the cgroup of a
// cgroupsPath written "SLICE:PREFIX:NAME" (what containerd writes under
// the systemd cgroup driver, kubeadm's default): the slice expanded into
// its parents, then the unit PREFIX-NAME.scope, or NAME itself when it is
// a slice. An empty SLICE is system.slice, "-.slice" the root. So
// "kubepods-besteffort-pod1.slice:cri-containerd:ab" is
// /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-ab.scope,
// as runc's systemd driver names it. pbox makes those directories itself
// (it writes cgroupfs; it does not ask systemd for a scope).
func SystemdPath(spec string) (string, error) {
	parts := strings.Split(spec, ":")
	if len(parts) != 3 {
		return "", fmt.Errorf("%q: the systemd form is SLICE:PREFIX:NAME (three parts)", spec)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = "system.slice"
	}
	parent, err := expandSlice(slice)
	if err != nil {
		return "", fmt.Errorf("%q: %w", spec, err)
	}
	if name == "" || strings.Contains(name, "/") || name == "." || name == ".." {
		return "", fmt.Errorf("%q: NAME %q is not a unit name", spec, name)
	}
	unit := name
	if !strings.HasSuffix(name, ".slice") {
		if prefix == "" || strings.Contains(prefix, "/") {
			return "", fmt.Errorf("%q: PREFIX %q is not a unit name's prefix", spec, prefix)
		}
		unit = prefix + "-" + name + ".scope"
	}
	return strings.TrimSuffix(parent, "/") + "/" + unit, nil
}

// expandSlice turns a slice's name into its path: each dash is a level
// of the hierarchy, whose slices are named by the dashes before it
// (a-b.slice is /a.slice/a-b.slice), as systemd.slice(5) says.
func expandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" || strings.Contains(slice, "/") {
		return "", fmt.Errorf("slice %q: a slice's name ends in .slice and has no /", slice)
	}
	if base == "-" {
		return "/", nil
	}
	var path, prefix strings.Builder
	for _, part := range strings.Split(base, "-") {
		if part == "" {
			return "", fmt.Errorf("slice %q: an empty part between dashes (systemd.slice(5))", slice)
		}
		path.WriteString("/" + prefix.String() + part + ".slice")
		prefix.WriteString(part + "-")
	}
	return path.String(), nil
}
