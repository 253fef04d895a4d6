// Package rootfs sets up the mount namespace of a box from the inside:
// it makes every mount point private, so nothing the box mounts propagates
// back to the host, and mounts a fresh /proc for the box's PID namespace.
//
// Every function must run in the box's own mount namespace (the init calls
// them after clone(CLONE_NEWNS)). Called on the host they would change the
// host's mount table: do not use this package outside a new mount
// namespace. Each step reports what it does through a Logf, so `pbox run -v`
// can print the mount sequence as it happens.
package rootfs
