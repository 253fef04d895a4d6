// Package network gives a box a network the way Kubernetes does: through
// the reference CNI plugins (bridge, host-local, portmap, loopback, as
// Debian's containernetworking-plugins installs them), driven by the CNI
// library, libcni. It finds a network's config list (the built-in default
// "pbox", or a .conflist in /etc/pbox/net.d or /etc/cni/net.d), runs ADD,
// CHECK and DEL against a box's network namespace, parses -p port specs,
// and keeps in an Attachment everything DEL will need, so that the caller
// can store it with the box and undo the attachment on any exit path.
//
// Not for: making bridges, veths or NAT rules itself (the plugins do, and
// `pbox run -v` says which), or choosing a network: the caller says which.
// It is a leaf: it imports nothing of pbox's.
package network
