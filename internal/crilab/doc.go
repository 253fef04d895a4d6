// Package crilab is what the CRI end-to-end test (cmd/pbox) and the CRI
// benchmark (bench) share: an OCI image written from a root filesystem
// (no registry), and a private containerd with its CRI plugin and a
// runtime handler "pbox" beside "runc", in a mount namespace of its own
// with a tmpfs over /run/containerd (containerd 1.6 puts its shims'
// sockets there whatever its config says), and a CRI client. It is test
// and benchmark support: the pbox binary never imports it (nor grpc).
package crilab
