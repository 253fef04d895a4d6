package box

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pbox-dev/pbox/internal/flock"
	"github.com/pbox-dev/pbox/internal/logf"
	"github.com/pbox-dev/pbox/internal/osthread"
	"github.com/pbox-dev/pbox/network"
	"github.com/pbox-dev/pbox/rootfs"
	"golang.org/x/sys/unix"
)

// A box on a CNI network (pbox run --network bridge, or a named one):
// pbox pins the box's network namespace with a bind mount in the box's
// state directory, records what it asks of the plugins there before it
// asks (network.json), runs ADD while the init waits with nothing mounted
// yet, and on every way out — the box's exit, a failed start, pbox rm,
// pbox cleanup after a killed pbox — runs DEL with the namespace still
// pinned (the bridge plugin reads the box's addresses from it to remove
// their NAT rules), then unpins it.

// NetworkRequest is a box's CNI network (Options.Network).
type NetworkRequest struct {
	Config network.Config // found and checked when the run was planned
	Ports  []network.Port // -p
	DNS    []string       // --dns: nameservers for /etc/resolv.conf
	// EtcFiles writes /etc/hosts, /etc/resolv.conf and /etc/hostname for
	// the box (a --rootfs box: they are bind-mounted over the image's).
	EtcFiles bool
}

// The state directory's network files.
const (
	networkFile = "network.json" // the network.Attachment
	netnsPin    = "netns"        // bind mount of the box's network namespace
	// pluginsPin pins the network namespace the plugins ran in (pbox's
	// own at ADD: the host's, or the one `ip netns exec` or a test put it
	// in), where the bridge, the veth's other end and the NAT rules are:
	// DEL, CHECK and the rules' reading run there, wherever pbox rm or
	// inspect is typed.
	pluginsPin  = "plugins-netns"
	hostsFile   = "hosts"        // the box's /etc/hosts
	networkLock = "network.lock" // held while CNI DEL runs
)

// etcFiles are the files a box gets, as Docker writes them: state file
// name -> path in the box. Every box on a CNI network (and one given
// --add-host) gets /etc/hosts, kept current with the names of the boxes
// on its network; a --rootfs box on one also its resolv.conf and
// hostname (a box on the host's files keeps the host's).
var etcFiles = map[string]string{hostsFile: "/etc/hosts", "resolv.conf": "/etc/resolv.conf", "hostname": "/etc/hostname"}

// cniCacheDir keeps libcni's result cache under the state root; the
// leases of the built-in network are host-wide (network.Host).
func (s Store) cniCacheDir() string { return filepath.Join(s.Root, ".cni", "cache") }

// containerID is the box's CNI container id: unique on the host, as the
// cgroup leaf is ('@' is not allowed in one).
func (s Store) containerID(id string) string { return s.plainLeaf(id) }

// etcMounts creates the box's /etc files and returns their bind mounts
// for the plan. On a CNI network they start empty and attachNetwork
// fills them once ADD gave an address; without one, /etc/hosts is
// written now: --add-host's lines after the host's own file (a box on
// the host's files) or the loopback names (a --rootfs box).
func (s Store) etcMounts(id string, req *NetworkRequest, extra []network.ExtraHost, hostFiles bool) ([]rootfs.Mount, error) {
	names := []string{hostsFile}
	if req != nil && req.EtcFiles {
		names = append(names, "resolv.conf", "hostname")
	}
	var out []rootfs.Mount
	for _, name := range names {
		var text []byte
		if req == nil { // --add-host alone
			if hostFiles {
				text, _ = os.ReadFile("/etc/hosts")
				if len(text) > 0 && text[len(text)-1] != '\n' {
					text = append(text, '\n')
				}
				for _, x := range extra {
					text = fmt.Appendf(text, "%s\t%s\n", x.IP, x.Name)
				}
			} else {
				text = []byte(network.Hosts(network.HostsEntry{Extra: extra}, nil))
			}
		}
		p := filepath.Join(s.Dir(id), name)
		if err := os.WriteFile(p, text, 0o644); err != nil {
			return nil, err
		}
		out = append(out, rootfs.Mount{Source: p, Target: etcFiles[name], Type: "bind", Options: []string{"bind"}})
	}
	return out, nil
}

// attachNetwork puts the box whose init is pid on its network. The
// caller records ADD's answer (writeNetwork) once COMMAND may go on.
func (s Store) attachNetwork(id, hostname string, req *NetworkRequest, extra []network.ExtraHost, pid int, log logf.Logf) (*network.Attachment, error) {
	pin := s.Path(id, netnsPin)
	if err := os.WriteFile(pin, nil, 0o600); err != nil {
		return nil, err
	}
	ns := fmt.Sprintf("/proc/%d/ns/net", pid)
	log("network: mount --bind %s %s (pins the box's network namespace until CNI DEL has run)", ns, pin)
	if err := unix.Mount(ns, pin, "", unix.MS_BIND, ""); err != nil {
		os.Remove(pin)
		return nil, fmt.Errorf("pin the box's network namespace: %w", err)
	}
	here := s.Path(id, pluginsPin)
	if err := os.WriteFile(here, nil, 0o600); err != nil {
		return nil, err
	}
	if err := unix.Mount("/proc/thread-self/ns/net", here, "", unix.MS_BIND, ""); err != nil {
		os.Remove(here)
		return nil, fmt.Errorf("pin the network namespace the plugins run in: %w", err)
	}
	host := network.TheHost()
	att := &network.Attachment{Network: req.Config.Name, ConfList: req.Config.WithDataDir(host.LeaseDir()), ContainerID: s.containerID(id),
		IfName: network.IfName, NetNS: pin, Ports: req.Ports}
	// Written before ADD: a pbox killed during ADD leaves what DEL needs
	// (and what keeps its host-wide claims).
	if err := s.writeNetwork(id, att); err != nil {
		return nil, err
	}
	claim := network.Claim{ContainerID: att.ContainerID, Box: id, Netns: network.HostNetns(), Keep: s.Path(id, networkFile)}
	if err := host.ClaimPorts(claim, req.Ports); err != nil {
		return nil, err
	}
	log("network: CNI ADD %q (%s; plugins %s) for container %s, %s in %s", att.Network, req.Config.Source, strings.Join(req.Config.Plugins, ", "), att.ContainerID, att.IfName, pin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runner := network.Runner{CacheDir: s.cniCacheDir()}
	start := time.Now()
	if err := runner.Add(ctx, att); err != nil {
		return nil, err
	}
	if err := network.GuardLoopback(); err != nil {
		return nil, fmt.Errorf("keep boxes out of the host's loopback: %w", err)
	}
	log("network: ADD took %.1f ms: %s on %s, gateway %s%s", float64(time.Since(start).Microseconds())/1000,
		strings.Join(att.Addresses, " "), att.IfName, att.Gateway, portsNote(att.Ports))
	for _, line := range att.Explain() {
		log("network:   %s", line)
	}
	names := []string{id}
	if hostname != "" && hostname != id {
		names = append(names, hostname)
	}
	entry := network.HostsEntry{Claim: claim, Network: att.Network, Names: names, Extra: extra, HostsFile: s.Path(id, hostsFile)}
	for _, a := range att.Addresses {
		ip, _, _ := strings.Cut(a, "/")
		entry.Addresses = append(entry.Addresses, ip)
	}
	if err := host.JoinNames(entry); err != nil {
		return nil, err
	}
	if req.EtcFiles {
		if err := s.writeEtcFiles(id, hostname, req.DNS); err != nil {
			return nil, err
		}
	}
	return att, nil
}

func portsNote(ports []network.Port) string {
	if len(ports) == 0 {
		return ""
	}
	var s []string
	for _, p := range ports {
		s = append(s, p.String())
	}
	return "; published " + strings.Join(s, " ")
}

func (s Store) writeNetwork(id string, att *network.Attachment) error {
	data, err := json.MarshalIndent(att, "", "  ")
	if err != nil {
		return err
	}
	return atomicWrite(s.Path(id, networkFile), data)
}

// Network is box id's attachment, nil if it has none (left).
func (s Store) Network(id string) (*network.Attachment, error) {
	data, err := os.ReadFile(s.Path(id, networkFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var att network.Attachment
	if err := json.Unmarshal(data, &att); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path(id, networkFile), err)
	}
	return &att, nil
}

// releaseNetwork runs CNI DEL for box id, if it has an attachment, and
// unpins its network namespace. Safe to call more than once.
func (s Store) releaseNetwork(id string, log logf.Logf) error {
	// One DEL at a time: pbox rm -f and the box's own monitor (or run)
	// both release it when it ends, and two DELs at once interleave the
	// plugins' iptables edits (a chain left with its rules).
	if l, err := flock.File(s.Path(id, networkLock), flock.Exclusive); err == nil {
		defer l.Unlock()
	}
	pin := s.Path(id, netnsPin)
	att, err := s.Network(id)
	if err == nil && att != nil {
		netns := ""
		if pinned(pin) {
			netns = pin
		}
		log("network: CNI DEL %q for container %s", att.Network, att.ContainerID)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		err = s.inPluginsNetns(id, func() error { return network.Runner{CacheDir: s.cniCacheDir()}.Del(ctx, att, netns) })
		if err == nil {
			log("network: DEL took %.1f ms", float64(time.Since(start).Microseconds())/1000)
			err = network.TheHost().Release(att.ContainerID)
			os.Remove(s.Path(id, networkFile))
		}
	}
	for _, p := range []string{pin, s.Path(id, pluginsPin)} {
		if err != nil {
			break // DEL is to be tried again: it needs both
		}
		if pinned(p) {
			if uerr := unix.Unmount(p, unix.MNT_DETACH); uerr != nil {
				err = fmt.Errorf("unpin %s: %w", p, uerr)
			}
		}
		if err == nil {
			os.Remove(p)
		}
	}
	return err
}

// inPluginsNetns runs f in the network namespace box id's plugins ran in
// (its pin), or in pbox's own if there is none (a box attached by an
// older pbox, or the pin is not visible from this mount namespace).
func (s Store) inPluginsNetns(id string, f func() error) error {
	p := s.Path(id, pluginsPin)
	if !pinned(p) {
		return f()
	}
	return osthread.InNamespace(p, unix.CLONE_NEWNET, f)
}

// PluginsNetns is the pin of the network namespace box id's plugins ran
// in, where its veth's other end is; "" if there is none.
func (s Store) PluginsNetns(id string) string {
	if p := s.Path(id, pluginsPin); pinned(p) {
		return p
	}
	return ""
}

// pinned reports whether path is a bind mount of a namespace (nsfs).
func pinned(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// writeEtcFiles fills a --rootfs box's /etc/resolv.conf and
// /etc/hostname, as Docker writes them for a container (its /etc/hosts
// is its network's: network.Host.JoinNames).
func (s Store) writeEtcFiles(id, hostname string, dns []string) error {
	var resolv strings.Builder
	if len(dns) == 0 {
		dns = hostNameservers()
	}
	for _, ns := range dns {
		fmt.Fprintf(&resolv, "nameserver %s\n", ns)
	}
	for name, data := range map[string]string{"resolv.conf": resolv.String(), "hostname": hostname + "\n"} {
		if err := os.WriteFile(s.Path(id, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostNameservers are the host's nameservers a box can reach: not the
// loopback ones (a resolver on the host's 127.0.0.53 is not the box's),
// as Docker leaves them out.
func hostNameservers() []string {
	data, _ := os.ReadFile("/etc/resolv.conf")
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" && !strings.HasPrefix(f[1], "127.") && f[1] != "::1" {
			out = append(out, f[1])
		}
	}
	return out
}

// NetnsOf is the network namespace of running box id, for --network
// container:ID: its pin if it has a CNI network, else its init's. The
// init's pid is checked against its start time, so a reused pid is never
// taken for the box.
func (s Store) NetnsOf(id string) (string, error) {
	rec, err := s.Read(id)
	if err != nil {
		return "", err
	}
	if st := s.Status(rec); st != StatusRunning && st != StatusPaused {
		return "", fmt.Errorf("box %s is %s: only a running box's network can be joined (pbox start it, or pick another with pbox ps)", id, st)
	}
	if pin := s.Path(id, netnsPin); pinned(pin) {
		return pin, nil
	}
	return fmt.Sprintf("/proc/%d/ns/net", rec.Pid), nil
}

// PublishedPort is one of a box's published ports with the NAT rules the
// portmap plugin made for it (iptables-save lines of the nat table).
type PublishedPort struct {
	Port  string
	Rules []string
}

// PublishedPorts lists box id's published ports and their rules, read
// with iptables-save and ip6tables-save (in the network namespace the
// plugins ran in, where they put them). The rules are those that name the box's container id and the
// chains they jump to, for the port's number.
func (s Store) PublishedPorts(id string) ([]PublishedPort, error) {
	att, err := s.Network(id)
	if err != nil || att == nil || len(att.Ports) == 0 {
		return nil, err
	}
	var out []byte
	err = s.inPluginsNetns(id, func() error {
		for _, save := range []string{"iptables-save", "ip6tables-save"} {
			rules, err := exec.Command(save, "-t", "nat").Output()
			if err != nil && save == "iptables-save" {
				return fmt.Errorf("%s -t nat: %w", save, err)
			}
			out = append(out, rules...) // ip6tables-save: where the host has IPv6
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(out), "\n")
	// The plugins' comments name the box: id: "ID" (iptables-save escapes
	// the quotes).
	names := func(l string) bool {
		return strings.Contains(l, `id: "`+att.ContainerID+`"`) || strings.Contains(l, `id: \"`+att.ContainerID+`\"`)
	}
	chains := map[string]bool{}
	for _, l := range lines {
		if !names(l) {
			continue
		}
		f := strings.Fields(l)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "-j" && strings.HasPrefix(f[i+1], "CNI-") && !strings.HasPrefix(f[i+1], "CNI-HOSTPORT-") {
				chains[f[i+1]] = true
			}
		}
	}
	var res []PublishedPort
	for _, p := range att.Ports {
		pp := PublishedPort{Port: p.String()}
		port := strconv.Itoa(p.HostPort)
		for _, l := range lines {
			f := strings.Fields(l)
			mine := names(l) || (len(f) > 1 && f[0] == "-A" && chains[f[1]])
			if mine && (strings.Contains(l, "--dport "+port+" ") || strings.Contains(l, "--dports "+port+" ") || strings.HasSuffix(l, "--dport "+port)) {
				pp.Rules = append(pp.Rules, l)
			}
		}
		res = append(res, pp)
	}
	return res, nil
}

// BoxOfProcess is the box of this root whose network namespace pid is in,
// if that box is on a CNI network; "" otherwise.
func (s Store) BoxOfProcess(pid int) string {
	var want unix.Stat_t
	if unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &want) != nil {
		return ""
	}
	ids, _ := s.List()
	for _, id := range ids {
		var st unix.Stat_t
		if pin := s.Path(id, netnsPin); pinned(pin) && unix.Stat(pin, &st) == nil && st.Ino == want.Ino && st.Dev == want.Dev {
			return id
		}
	}
	return ""
}

// CheckNetwork runs CNI CHECK for box id: whether its attachment is still
// as ADD made it. "" if the box has no CNI network.
func (s Store) CheckNetwork(id string) (string, error) {
	att, err := s.Network(id)
	if err != nil || att == nil {
		return "", err
	}
	pin := s.Path(id, netnsPin)
	if !pinned(pin) {
		return "", fmt.Errorf("box %s's network namespace is not pinned any more", id)
	}
	att.NetNS = pin
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return att.Network, s.inPluginsNetns(id, func() error { return network.Runner{CacheDir: s.cniCacheDir()}.Check(ctx, att) })
}
