// Package image makes root filesystems for pbox run --rootfs without
// Docker: a small one from the host's static busybox. It writes only
// below the directory it is given.
//
// Not for: pulling from registries (pbox has no network code), or for
// keeping images: the result is a plain directory, owned by the caller.
package image
