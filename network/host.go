package network

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pbox-dev/pbox/internal/flock"
	"golang.org/x/sys/unix"
)

// What a network makes on the host — the bridge and its subnet, the host
// ports portmap forwards, the NAT chains — is host-wide, whatever pbox
// state root (--root) a box was started under. So what hands it out is
// host-wide too: host-local's leases, the claims on host ports and the
// names boxes know each other by live in one directory, HostDir, and a
// claim names the file that keeps it alive (the box's attachment record
// in its state directory): a claim whose box is gone, even one whose
// pbox was killed and whose root was deleted, is dropped when next seen.
// HostDir is on /run: a reboot empties it, as it empties the bridge and
// the rules.

// HostDir is the host-wide directory of pbox's networks.
var HostDir = "/run/pbox-network"

// Host is HostDir, for the operations on it.
type Host struct{ Dir string }

// TheHost is the host's HostDir.
func TheHost() Host { return Host{Dir: HostDir} }

// LeaseDir is host-local's dataDir for the built-in network: one pool of
// addresses for every state root.
func (h Host) LeaseDir() string { return filepath.Join(h.Dir, "leases") }

// Claim is a box's claim on something host-wide: which box, the network
// namespace its plugins ran in (the "host" the bridge, the ports and the
// rules are in: a lab's namespaces are hosts of their own), and the file
// whose existence keeps the claim (it must name ContainerID).
type Claim struct {
	ContainerID string `json:"container_id"`
	Box         string `json:"box"`
	Netns       string `json:"netns"` // HostNetns at the claim
	Keep        string `json:"keep"`
}

// HostNetns names the calling thread's network namespace (its inode
// number), for Claim.Netns.
func HostNetns() string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return "unknown"
	}
	return strconv.FormatUint(st.Ino, 10)
}

// live reports whether the claim's box still holds it: its Keep file
// exists and names its container id.
func (c Claim) live() bool {
	data, err := os.ReadFile(c.Keep)
	return err == nil && strings.Contains(string(data), strconv.Quote(c.ContainerID))
}

// lock takes HostDir's lock (an flock, so a killed pbox never leaves it
// taken) and returns its release.
func (h Host) lock() (func(), error) {
	if err := os.MkdirAll(h.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("host-wide network directory: %w", err)
	}
	l, err := flock.File(filepath.Join(h.Dir, "lock"), flock.Exclusive)
	if err != nil {
		return nil, fmt.Errorf("host-wide network lock: %w", err)
	}
	return l.Unlock, nil
}

func (h Host) portsDir() string { return filepath.Join(h.Dir, "ports") }

func portFile(netns string, p Port) string {
	ip := p.HostIP
	if ip == "" {
		ip = "any"
	}
	return fmt.Sprintf("%s-%s-%d-%s", netns, p.Protocol, p.HostPort, strings.ReplaceAll(ip, ":", "_"))
}

// portClaim is one file of the ports directory: a box's claim on one
// host port.
type portClaim struct {
	Claim
	Port Port `json:"port"`
}

// readPortClaim reads one claim file; ok is false if there is none or it
// is not a claim.
func readPortClaim(path string) (portClaim, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return portClaim{}, false
	}
	var c portClaim
	return c, json.Unmarshal(data, &c) == nil && c.ContainerID != ""
}

// PortTaken is the live claim of another box on one of ports in network
// namespace netns (with the port), if there is one: a second DNAT rule
// for a host port would sit behind the first, and the first box would
// keep the traffic. A port bound to one address collides with the same
// port bound to any.
func (h Host) PortTaken(ports []Port, containerID, netns string) (Claim, Port, bool) {
	ents, _ := os.ReadDir(h.portsDir())
	for _, e := range ents {
		c, ok := readPortClaim(filepath.Join(h.portsDir(), e.Name()))
		if !ok || c.ContainerID == containerID || c.Netns != netns || !c.live() {
			continue
		}
		for _, p := range ports {
			if p.Protocol == c.Port.Protocol && p.HostPort == c.Port.HostPort && (p.HostIP == "" || c.Port.HostIP == "" || p.HostIP == c.Port.HostIP) {
				return c.Claim, p, true
			}
		}
	}
	return Claim{}, Port{}, false
}

// ClaimPorts claims ports for c's box, under the lock, or says whose
// they are. Claims of boxes that are gone are dropped on the way (only
// here, under the lock: a check without it could drop a claim being
// made).
func (h Host) ClaimPorts(c Claim, ports []Port) error {
	if len(ports) == 0 {
		return nil
	}
	unlock, err := h.lock()
	if err != nil {
		return err
	}
	defer unlock()
	ents, _ := os.ReadDir(h.portsDir())
	for _, e := range ents {
		p := filepath.Join(h.portsDir(), e.Name())
		if old, ok := readPortClaim(p); !ok || !old.live() {
			os.Remove(p)
		}
	}
	if other, p, taken := h.PortTaken(ports, c.ContainerID, c.Netns); taken {
		return &PortTakenError{Port: p, By: other}
	}
	if err := os.MkdirAll(h.portsDir(), 0o700); err != nil {
		return err
	}
	for _, p := range ports {
		data, _ := json.Marshal(portClaim{Claim: c, Port: p})
		if err := os.WriteFile(filepath.Join(h.portsDir(), portFile(c.Netns, p)), data, 0o600); err != nil {
			return fmt.Errorf("claim host port %s: %w", p, err)
		}
	}
	return nil
}

// PortTakenError says which box holds a host port.
type PortTakenError struct {
	Port Port
	By   Claim
}

func (e *PortTakenError) Error() string {
	return fmt.Sprintf("-p %s: box %s publishes host port %d/%s already (its state is in %s): pick another host port, or stop %s",
		e.Port, e.By.Box, e.Port.HostPort, e.Port.Protocol, filepath.Dir(e.By.Keep), e.By.Box)
}

// Release drops every claim of containerID's box: its ports and its
// names (and rewrites the hosts files of the boxes that knew it).
func (h Host) Release(containerID string) error {
	unlock, err := h.lock()
	if err != nil {
		return err
	}
	defer unlock()
	ents, _ := os.ReadDir(h.portsDir())
	for _, e := range ents {
		p := filepath.Join(h.portsDir(), e.Name())
		if c, ok := readPortClaim(p); ok && c.ContainerID == containerID {
			os.Remove(p)
		}
	}
	return h.forgetName(containerID)
}

// Names: on a network, the boxes know each other by name, as on a Docker
// user-defined network. Each box on it has an entry in HostDir; every
// box's /etc/hosts (a file in its state directory, bound into the box) is
// written from them whenever a box comes or goes, in place, so that the
// bind mount keeps showing it. A box that goes leaves no name behind.

// HostsEntry is one box's place in the names of its network, and what
// its own /etc/hosts says beyond them.
type HostsEntry struct {
	Claim
	Network   string      `json:"network"`
	Addresses []string    `json:"addresses"` // bare IPs
	Names     []string    `json:"names"`     // the box's name, its hostname
	Extra     []ExtraHost `json:"extra,omitempty"`
	HostsFile string      `json:"hosts_file"` // "": the box has none to keep current
}

// ExtraHost is one --add-host NAME:IP.
type ExtraHost struct {
	Name string `json:"name"`
	IP   string `json:"ip"`
}

// ParseExtraHost reads --add-host NAME:IP (IPv6 addresses may be given
// in brackets, as docker takes them).
func ParseExtraHost(spec string) (ExtraHost, error) {
	name, ip, ok := strings.Cut(spec, ":")
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if !ok || !hostName(name) || net.ParseIP(ip) == nil {
		return ExtraHost{}, fmt.Errorf("--add-host %q: give NAME:IP (e.g. db:10.0.0.5, or db:[fd00::5])", spec)
	}
	return ExtraHost{Name: name, IP: ip}, nil
}

// hostName reports whether name may stand in /etc/hosts: letters,
// digits, '.', '-' and '_' (nothing that breaks the line or comments it
// out).
func hostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Hosts is the text of a box's /etc/hosts, as Docker writes it: the
// loopback names, the --add-host lines, the box's own addresses and
// names, then the other boxes of its network.
func Hosts(own HostsEntry, others []HostsEntry) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, x := range own.Extra {
		fmt.Fprintf(&b, "%s\t%s\n", x.IP, x.Name)
	}
	line := func(e HostsEntry) {
		if len(e.Names) == 0 {
			return
		}
		for _, ip := range e.Addresses {
			fmt.Fprintf(&b, "%s\t%s\n", ip, strings.Join(e.Names, " "))
		}
	}
	line(own)
	for _, o := range others {
		if o.ContainerID != own.ContainerID {
			line(o)
		}
	}
	return b.String()
}

// namesDir holds the names of one network in one network namespace.
func (h Host) namesDir(netns, network string) string {
	return filepath.Join(h.Dir, "names", netns+"-"+network)
}

// JoinNames enters e into its network's names and rewrites the /etc/hosts
// of every box on it (e's own included).
func (h Host) JoinNames(e HostsEntry) error {
	unlock, err := h.lock()
	if err != nil {
		return err
	}
	defer unlock()
	dir := h.namesDir(e.Netns, e.Network)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, _ := json.Marshal(e)
	if err := os.WriteFile(filepath.Join(dir, e.ContainerID), data, 0o600); err != nil {
		return err
	}
	return h.writeHostsFiles(dir, e.ContainerID)
}

// forgetName takes containerID's box out of the names of its network and
// rewrites the others' /etc/hosts. Under the lock.
func (h Host) forgetName(containerID string) error {
	nets, _ := os.ReadDir(filepath.Join(h.Dir, "names"))
	for _, n := range nets {
		dir := filepath.Join(h.Dir, "names", n.Name())
		if _, err := os.Stat(filepath.Join(dir, containerID)); err == nil {
			os.Remove(filepath.Join(dir, containerID))
			return h.writeHostsFiles(dir, "")
		}
	}
	return nil
}

// writeHostsFiles writes the /etc/hosts of every live box named in dir
// (one network in one namespace), and drops the entries of boxes that
// are gone. Under the lock. Only the file of box own (a container id;
// "" for none) can make it fail: another box's file that cannot be
// written keeps its old names, and never stops this box's start or rm.
func (h Host) writeHostsFiles(dir, own string) error {
	ents, _ := os.ReadDir(dir)
	var live []HostsEntry
	for _, ent := range ents {
		p := filepath.Join(dir, ent.Name())
		data, err := os.ReadFile(p)
		var e HostsEntry
		if err != nil || json.Unmarshal(data, &e) != nil || !e.live() {
			os.Remove(p)
			continue
		}
		live = append(live, e)
	}
	for _, e := range live {
		if e.HostsFile == "" {
			continue
		}
		if err := writeInPlace(e.HostsFile, Hosts(e, live)); err != nil && e.ContainerID == own {
			return fmt.Errorf("box %s's /etc/hosts: %w", e.Box, err)
		}
	}
	return nil
}

// writeInPlace rewrites the file at path without replacing it (a rename
// would leave the box's bind mount on the old file); it never follows a
// link, and never opens what is not a regular file.
func writeInPlace(path, text string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt([]byte(text), 0)
	return err
}
