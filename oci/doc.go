// Package oci reads OCI runtime bundles (config.json, through the
// runtime-spec's Go types) and turns them into what package box starts:
// a box.Config for the init, box.Options for the parent, the mount plan.
// It is what makes `pbox create`, `start`, `exec --process` and friends
// the same command line as runc's, so containerd can drive pbox.
//
// Every field of config.json is either implemented or refused by name
// with ErrUnsupported: a sandbox that quietly drops a seccomp profile or
// a user namespace would look safer than it is.
//
// Not for: building images or bundles (see pbox rootfs), or anything a
// container engine does above the runtime (networks, image pulls).
package oci
