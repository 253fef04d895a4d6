package box

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"tags.cncf.io/container-device-interface/pkg/cdi"
	"tags.cncf.io/container-device-interface/pkg/parser"
)

// Devices the way engines pass them: CDI (the Container Device Interface).
// A vendor's tool (nvidia-ctk cdi generate, ...) writes a spec to
// /etc/cdi or /var/run/cdi naming devices vendor.com/class=name and the
// edits a container needs for each: device nodes, mounts, environment,
// hooks, additional groups. pbox run --device vendor.com/class=name
// resolves the name there and applies the edits to the box's config, with
// the CDI project's own library (as podman and containerd do). Its
// package initialisation costs every pbox start about 0.2 ms (YAML, name
// validation: measured with GODEBUG=inittrace=1), a price paid for not
// keeping a second reading of the spec format.

// DefaultCDISpecDirs are where vendors' tools write CDI specs, lowest
// priority first (a later directory's spec wins), as the CDI library's.
var DefaultCDISpecDirs = cdi.DefaultSpecDirs

// IsCDIName reports whether a --device value is a CDI device name
// (vendor.com/class=name) rather than a host path.
func IsCDIName(v string) bool { return parser.IsQualifiedName(v) }

// injectCDI resolves the CDI device names in the spec directories dirs and
// applies their edits to spec. A name vendor.com/class=all that no spec
// defines is every device of that class. onHostFiles: the box keeps the
// host's /dev, so a node must be the host's own at the same path (the box
// reaches it through the device rules; no node is made).
func injectCDI(spec *specs.Spec, what string, names []string, c *cdiSpecs, onHostFiles bool) error {
	cache, err := c.get()
	if err != nil {
		return err
	}
	dirs := c.dirs
	known := cache.ListDevices()
	var want []string
	for _, n := range names {
		if vendorClass, dev, _ := strings.Cut(n, "="); dev == "all" && cache.GetDevice(n) == nil {
			for _, k := range known {
				if strings.HasPrefix(k, vendorClass+"=") {
					want = append(want, k)
				}
			}
			continue
		}
		want = append(want, n)
	}
	unresolved, err := cache.InjectDevices(spec, want...)
	if len(unresolved) > 0 || err != nil {
		return cdiError(what, names, unresolved, err, cache, dirs)
	}
	if onHostFiles {
		for _, d := range spec.Linux.Devices {
			var st os.FileInfo
			if st, err = os.Stat(d.Path); err != nil || st.Mode()&os.ModeDevice == 0 {
				return fmt.Errorf("%s %s: its spec puts a node at %s, which the host has not: a box on the host's files sees the host's /dev; give it --rootfs", what, strings.Join(names, ","), d.Path)
			}
		}
		// The host's nodes are the box's already: make none.
		spec.Linux.Devices = nil
	}
	return nil
}

// cdiSpecs are the CDI specs of some directories, read once, when first
// asked for (--gpus and --device of one run share them).
type cdiSpecs struct {
	dirs  []string
	cache *cdi.Cache
	err   error
}

func (c *cdiSpecs) get() (*cdi.Cache, error) {
	if c.cache == nil && c.err == nil {
		// A spec that cannot be read is not an error here: it is named
		// when a device of it is asked for (cdiError).
		c.cache, c.err = cdi.NewCache(cdi.WithSpecDirs(c.dirs...), cdi.WithAutoRefresh(false))
		if c.cache != nil {
			c.err = nil
		} else {
			c.err = fmt.Errorf("CDI specs in %s: %v", strings.Join(c.dirs, ", "), c.err)
		}
	}
	return c.cache, c.err
}

// cdiError says which names are unknown and what the specs offer, or
// which spec file is malformed and why.
func cdiError(what string, names, unresolved []string, err error, cache *cdi.Cache, dirs []string) error {
	var bad []string
	for path, errs := range cache.GetErrors() {
		for _, e := range errs {
			bad = append(bad, fmt.Sprintf("%s: %v", path, e))
		}
	}
	sort.Strings(bad)
	if len(unresolved) == 0 {
		var files []string
		for _, n := range names {
			if d := cache.GetDevice(n); d != nil {
				files = append(files, d.GetSpec().GetPath())
			}
		}
		return fmt.Errorf("%s %s: the CDI spec %s: %v", what, strings.Join(names, ","), strings.Join(files, ", "), err)
	}
	known := cache.ListDevices()
	msg := fmt.Sprintf("%s %s: no such CDI device in %s", what, strings.Join(unresolved, ","), strings.Join(dirs, ", "))
	if len(known) > 0 {
		msg += "; known: " + strings.Join(known, ", ")
	} else {
		msg += " (no CDI spec there: a vendor's tool writes one, e.g. nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml)"
	}
	if len(bad) > 0 {
		msg += "; specs that could not be read: " + strings.Join(bad, "; ")
	}
	return fmt.Errorf("%s", msg)
}

// cdiAnnotations are the CDI devices an OCI config's annotations name
// (cdi.k8s.io/KEY: vendor.com/class=name,...), without duplicates.
func cdiAnnotations(annotations map[string]string) ([]string, error) {
	_, devices, err := cdi.ParseAnnotations(annotations)
	if err != nil {
		return nil, fmt.Errorf("annotations: CDI devices: %v", err)
	}
	var out []string
	seen := map[string]bool{}
	for _, d := range devices {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out, nil
}
