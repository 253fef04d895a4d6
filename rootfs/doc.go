// Package rootfs plans and builds a box's filesystem in two halves.
//
// Planning runs on the host, in pbox, before the box exists: PlanBundle
// takes an OCI config's root, mounts, devices, masked and read-only paths
// (pbox run's --rootfs, --volume, --tmpfs and --read-only become such a
// config first; DefaultMounts are the runtime-spec's defaults), checks
// what was asked — sources exist, targets stay inside the root (resolved
// as securejoin does) — and turns it
// into an ordered list of Ops (mount, mkdir, device node, mask, pivot),
// bubblewrap's SetupOp list in Go: data that `pbox run -v` prints and
// that can be tested without root.
//
// Applying is not this package's: the ops are executed, single-threaded,
// by pbox's box builder (box/plan.go, box/tinyinit/tinyinit.c), inside
// the box's new mount namespace: it makes every mount point private, so
// nothing the box mounts propagates back to the host, and replays the
// ops, each target opened with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)
// and checked against the path the plan resolved before anything is
// mounted on it. Op's fields are the builder's record (box/plan.go's
// encodeOp); a failed start removes the directories made for targets.
package rootfs
