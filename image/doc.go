// Package image makes root filesystems for pbox run --rootfs without
// Docker: a small one from the host's static busybox (Busybox), or one
// unpacked from an image that `docker save` or an OCI image layout wrote
// (Import). It writes only below the directory it is given: Import goes
// through an os.Root, so no layer entry, symlink or hard link escapes it.
//
// It reads tar with the standard library's archive/tar (measured: its
// package initialisation takes ~1 µs in every pbox start, and with
// CGO_ENABLED=0 the os/user it imports is pure Go), and the OCI index and
// manifest with the image-spec's types (spec.go).
//
// Not for: pulling from registries (pbox has no network code), keeping or
// sharing image layers (the result is a plain directory, owned by the
// caller), or zstd layers (refused by name).
package image
