package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
)

// PluginDirs are where the CNI plugins are looked for: Debian's package,
// then the upstream tarball's place.
var PluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// ConfigDirs hold named networks (NAME.conflist, or any .conflist whose
// "name" is NAME): pbox's own first, then the one CNI tools share.
var ConfigDirs = []string{"/etc/pbox/net.d", "/etc/cni/net.d"}

// The default network, what --network bridge means.
const (
	DefaultName   = "pbox"
	DefaultBridge = "pbox0"
	DefaultSubnet = "10.99.0.0/16"
	// DefaultSubnet6 is the built-in network's IPv6 subnet, a ULA
	// (fc00::/7: never routed on the internet, as Docker's --ipv6
	// networks), next to DefaultSubnet on hosts with IPv6.
	DefaultSubnet6 = "fd99:b0c5::/64"
	// IfName is the box's side of its veth pair.
	IfName = "eth0"
)

// Default is the default network's config list: a bridge with the
// gateway's address on it, outbound NAT (ipMasq), addresses from
// host-local with its leases under dataDir, a default route, and the
// portmap plugin for published ports. With ipv6 it is dual-stack: an
// address from DefaultSubnet6 too, an IPv6 default route, NAT for both
// families (the bridge plugin's ipMasq covers both, as Docker's
// ip6tables does for a ULA network), published ports in both families.
func Default(dataDir string, ipv6 bool) []byte {
	ranges := []any{[]any{map[string]any{"subnet": DefaultSubnet}}}
	routes := []any{map[string]any{"dst": "0.0.0.0/0"}}
	if ipv6 {
		ranges = append(ranges, []any{map[string]any{"subnet": DefaultSubnet6}})
		routes = append(routes, map[string]any{"dst": "::/0"})
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       DefaultName,
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": DefaultBridge, "isGateway": true, "ipMasq": true, "hairpinMode": true,
				"ipam": map[string]any{
					"type": "host-local", "dataDir": dataDir,
					"ranges": ranges,
					"routes": routes,
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]any{"portMappings": true}, "snat": true},
		},
	}
	data, _ := json.MarshalIndent(conf, "", "  ")
	return data
}

// Config is a network found by Lookup: its config list, where it came
// from, and its plugins in order.
type Config struct {
	Name    string
	Bytes   []byte // the config list; for the built-in one, see WithDataDir
	Source  string // the directory, or "built in"
	Plugins []string
	Builtin bool
}

// WithDataDir is the config as ADD gets it: the built-in network keeps
// its leases under dataDir, and is dual-stack where the calling thread's
// network namespace has IPv6 (HasIPv6); a file's config is as written.
func (c Config) WithDataDir(dataDir string) []byte {
	if c.Builtin {
		return Default(dataDir, HasIPv6())
	}
	return c.Bytes
}

// HasIPv6 reports whether the calling thread's network namespace has
// IPv6 (the kernel has it, and it is not turned off with disable_ipv6).
func HasIPv6() bool {
	if _, err := os.Stat("/proc/thread-self/net/if_inet6"); err != nil {
		return false
	}
	for _, conf := range []string{"all", "default"} {
		off, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + conf + "/disable_ipv6")
		if err != nil || strings.TrimSpace(string(off)) != "0" {
			return false
		}
	}
	return true
}

// Find is Lookup as a Config, with the plugins it needs checked: a
// network whose plugins are not installed is an error naming the package.
func Find(name string) (Config, error) {
	list, source, err := Lookup(name)
	if err != nil {
		return Config{}, err
	}
	c := Config{Name: list.Name, Bytes: list.Bytes, Source: source, Builtin: source == "built in"}
	for _, p := range list.Plugins {
		c.Plugins = append(c.Plugins, p.Network.Type)
	}
	if missing := MissingPlugins(list); len(missing) > 0 {
		return c, fmt.Errorf("the CNI plugins %s are not installed in %s: apt-get install containernetworking-plugins (Debian, Ubuntu)",
			strings.Join(missing, ", "), strings.Join(PluginDirs, " or "))
	}
	return c, nil
}

// Lookup finds network name's config list and says where it came from. A
// file in ConfigDirs wins over the built-in default of the same name (whose
// leases' directory Config.WithDataDir fills in); a name with a slash is
// the path of a .conflist (a lab's network, kept out of the host's
// directories).
func Lookup(name string) (*libcni.NetworkConfigList, string, error) {
	if strings.Contains(name, "/") { // a file: an experiment's own network
		list, err := libcni.ConfListFromFile(name)
		if err != nil {
			return nil, "", fmt.Errorf("network file %s: %w", name, err)
		}
		return list, name, nil
	}
	for _, dir := range ConfigDirs {
		list, err := libcni.LoadNetworkConf(dir, name)
		if err == nil {
			return list, dir, nil
		}
		var nf libcni.NotFoundError
		var none libcni.NoConfigsFoundError
		if !errors.As(err, &nf) && !errors.As(err, &none) && !errors.Is(err, os.ErrNotExist) {
			return nil, "", fmt.Errorf("network %q in %s: %w", name, dir, err)
		}
	}
	if name == DefaultName {
		list, err := libcni.NetworkConfFromBytes(Default("", false))
		return list, "built in", err
	}
	return nil, "", fmt.Errorf("no such network: pbox has none, host, bridge (the default CNI network %q), container:BOX, the name of a .conflist in %s, or the path of one",
		DefaultName, strings.Join(ConfigDirs, " or "))
}

// Names lists the networks the config directories define (each
// .conflist's "name"), sorted, without repeats.
func Names() []string {
	seen := map[string]bool{}
	var out []string
	for _, dir := range ConfigDirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.conflist"))
		for _, f := range files {
			if list, err := libcni.ConfListFromFile(f); err == nil && !seen[list.Name] {
				seen[list.Name] = true
				out = append(out, list.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// MissingPlugins names the plugins list needs that no PluginDirs holds.
func MissingPlugins(list *libcni.NetworkConfigList) []string {
	var missing []string
	for _, p := range list.Plugins {
		found := false
		for _, dir := range PluginDirs {
			if st, err := os.Stat(filepath.Join(dir, p.Network.Type)); err == nil && st.Mode().IsRegular() {
				found = true
				break
			}
		}
		if !found && !slices.Contains(missing, p.Network.Type) {
			missing = append(missing, p.Network.Type)
		}
	}
	return missing
}

// Port is one published port, in the shape the portmap plugin reads from
// runtimeConfig.portMappings.
type Port struct {
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

func (p Port) String() string {
	host := strconv.Itoa(p.HostPort)
	if p.HostIP != "" {
		host = net.JoinHostPort(p.HostIP, host)
	}
	return fmt.Sprintf("%s->%d/%s", host, p.ContainerPort, p.Protocol)
}

// ParsePort reads -p [HOSTIP:]HOSTPORT:BOXPORT[/tcp|udp], as docker does.
func ParsePort(spec string) (Port, error) {
	bad := func(why string) (Port, error) {
		return Port{}, fmt.Errorf("-p %q: %s (use [HOSTIP:]HOSTPORT:BOXPORT[/tcp|udp], e.g. 8080:80)", spec, why)
	}
	p := Port{Protocol: "tcp"}
	rest := spec
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		p.Protocol = rest[i+1:]
		rest = rest[:i]
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			return bad("the protocol is tcp or udp")
		}
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return bad("name both ports")
	}
	host, box := rest[:i], rest[i+1:]
	if j := strings.LastIndex(host, ":"); j >= 0 {
		p.HostIP, host = strings.Trim(host[:j], "[]"), host[j+1:]
		if net.ParseIP(p.HostIP) == nil {
			return bad(fmt.Sprintf("%q is not an IP address", p.HostIP))
		}
	}
	var err error
	if p.HostPort, err = portNumber(host); err != nil {
		return bad("the host port " + err.Error())
	}
	if p.ContainerPort, err = portNumber(box); err != nil {
		return bad("the box's port " + err.Error())
	}
	return p, nil
}

func portNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("%d is not between 1 and 65535", n)
	}
	return n, nil
}

// Attachment is a box on a network: what ADD was given and answered, kept
// with the box so that DEL can undo it even from another pbox process.
type Attachment struct {
	Network     string          `json:"network"`
	ConfList    json.RawMessage `json:"conflist"` // the config ADD used
	ContainerID string          `json:"container_id"`
	IfName      string          `json:"ifname"`
	NetNS       string          `json:"netns"`
	Ports       []Port          `json:"ports,omitempty"`
	// What ADD answered: the CNI result, and its addresses and gateway.
	Result    json.RawMessage `json:"result,omitempty"`
	Addresses []string        `json:"addresses,omitempty"` // CIDR, e.g. 10.99.0.2/16
	Gateway   string          `json:"gateway,omitempty"`
}

// Runner runs the plugins. CacheDir is libcni's result cache (pbox keeps
// it under its state root, so a test's --root keeps its own).
type Runner struct {
	CacheDir string
}

func (r Runner) cni() *libcni.CNIConfig {
	return libcni.NewCNIConfigWithCacheDir(PluginDirs, r.CacheDir, nil)
}

func (a *Attachment) runtimeConf(netns string) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: a.ContainerID, NetNS: netns, IfName: a.IfName}
	if len(a.Ports) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": a.Ports}
	}
	return rt
}

func (a *Attachment) list() (*libcni.NetworkConfigList, error) {
	return libcni.NetworkConfFromBytes(a.ConfList)
}

// Add attaches the box whose network namespace is a.NetNS, and records
// the result in a. After an error, Del must still be called (CNI: a
// failed ADD may have left part of its work).
func (r Runner) Add(ctx context.Context, a *Attachment) error {
	list, err := a.list()
	if err != nil {
		return err
	}
	res, err := r.cni().AddNetworkList(ctx, list, a.runtimeConf(a.NetNS))
	if err != nil {
		return fmt.Errorf("network %q: CNI ADD: %w", a.Network, err)
	}
	cur, err := types100.NewResultFromResult(res)
	if err != nil {
		return fmt.Errorf("network %q: the plugins' answer: %w", a.Network, err)
	}
	a.Result, _ = json.Marshal(cur)
	a.Addresses, a.Gateway = nil, ""
	for _, ip := range cur.IPs {
		a.Addresses = append(a.Addresses, ip.Address.String())
		if ip.Gateway != nil && a.Gateway == "" {
			a.Gateway = ip.Gateway.String()
		}
	}
	return nil
}

// Check asks the plugins whether the attachment is still as ADD made it.
// A failure names the first plugin whose CHECK failed (and says the ones
// before it found nothing wrong): CHECK runs the list in order and stops
// at the first, and a plugin's CHECK can be wrong on its own (portmap 1.1
// fails on rules it made, with iptables-nft).
func (r Runner) Check(ctx context.Context, a *Attachment) error {
	list, err := a.list()
	if err != nil {
		return err
	}
	rt := a.runtimeConf(a.NetNS)
	if err := r.cni().CheckNetworkList(ctx, list, rt); err == nil {
		return nil
	} else if len(list.Plugins) < 2 {
		return fmt.Errorf("network %q: CNI CHECK: %w", a.Network, err)
	}
	var good []string
	for k := 1; k <= len(list.Plugins); k++ {
		prefix := *list
		prefix.Plugins = list.Plugins[:k]
		if err := r.cni().CheckNetworkList(ctx, &prefix, rt); err != nil {
			ok := ""
			if len(good) > 0 {
				ok = fmt.Sprintf(" (%s: ok)", strings.Join(good, ", "))
			}
			plugin := list.Plugins[k-1].Network.Type
			if plugin == "portmap" && k == len(list.Plugins) && strings.Contains(err.Error(), "could not check ipv6 dnat") {
				return &PortmapCheckLimit{Network: a.Network, Good: good, Err: err}
			}
			return fmt.Errorf("network %q: CNI CHECK of plugin %s: %w%s", a.Network, plugin, err, ok)
		}
		good = append(good, list.Plugins[k-1].Network.Type)
	}
	return fmt.Errorf("network %q: CNI CHECK failed as a whole, though each plugin passed", a.Network)
}

// Del undoes the attachment: the address goes back to the pool, the NAT
// and port rules go, the veth pair goes. The plugins need the network
// namespace for that (the bridge plugin reads the addresses whose NAT
// rules it removes from the box's interface): the caller keeps it alive,
// pinned by a bind mount, until Del has run. Without it (netns "": the
// pin is gone), only the address goes back.
func (r Runner) Del(ctx context.Context, a *Attachment, netns string) error {
	list, err := a.list()
	if err != nil {
		return err
	}
	if err := r.cni().DelNetworkList(ctx, list, a.runtimeConf(netns)); err != nil {
		return fmt.Errorf("network %q: CNI DEL: %w", a.Network, err)
	}
	return nil
}

// Explain says, one line each, what ADD made, from the plugins' answer:
// the interfaces on each side, the addresses, the routes, the NAT.
func (a *Attachment) Explain() []string {
	var res types100.Result
	if json.Unmarshal(a.Result, &res) != nil {
		return nil
	}
	var host, box []string
	for _, i := range res.Interfaces {
		if i.Sandbox == "" {
			host = append(host, i.Name)
		} else {
			box = append(box, fmt.Sprintf("%s (%s)", i.Name, i.Mac))
		}
	}
	lines := []string{fmt.Sprintf("interfaces: on the host %s; in the box %s (a veth pair joins the two, its host end on the bridge)",
		strings.Join(host, ", "), strings.Join(box, ", "))}
	for _, ip := range res.IPs {
		gw := ""
		if ip.Gateway != nil {
			gw = ", gateway " + ip.Gateway.String()
		}
		lines = append(lines, fmt.Sprintf("address %s%s (IPAM: leased until DEL)", ip.Address.String(), gw))
	}
	for _, r := range res.Routes {
		gw := "the gateway"
		if r.GW != nil {
			gw = r.GW.String()
		}
		lines = append(lines, fmt.Sprintf("route %s via %s", r.Dst.String(), gw))
	}
	if strings.Contains(string(a.ConfList), `"ipMasq": true`) || strings.Contains(string(a.ConfList), `"ipMasq":true`) {
		lines = append(lines, "outbound NAT: an iptables MASQUERADE rule for the box's address (nat table, POSTROUTING)")
	}
	for _, p := range a.Ports {
		lines = append(lines, fmt.Sprintf("published %s: iptables DNAT of host port %d to the box's port %d (portmap)", p, p.HostPort, p.ContainerPort))
	}
	return lines
}

// PortmapCheckLimit is CHECK failing in the portmap plugin alone, on its
// IPv6 rules: portmap 1.1 (Debian 12's) checks for an ip6tables DNAT chain
// it never made when the box has only an IPv4 address, and on a
// dual-stack box for the box's IPv4 rules in the IPv6 table, so its CHECK
// fails on rules it made itself. That is a limitation of the plugin, not
// a fault of the box: the plugins before it found the attachment as ADD
// made it.
type PortmapCheckLimit struct {
	Network string
	Good    []string
	Err     error
}

func (e *PortmapCheckLimit) Error() string {
	return fmt.Sprintf("ok (%s: ok); portmap's own CHECK fails (%v): a known limitation of the plugin (it checks its IPv6 rules wrongly), not a fault of the box",
		strings.Join(e.Good, ", "), e.Err)
}

// loopbackGuard is the rule that keeps boxes out of the host's loopback
// (the CVE-2020-8558 class): portmap's snat sets route_localnet=1 on the
// bridge so that the host's own 127.0.0.1:PORT reaches published ports,
// and with it the host would route a frame a box addresses to the
// gateway's MAC with destination 127.0.0.1 to whatever listens on the
// host's loopback. kube-proxy's KUBE-FIREWALL drops such packets; this is
// its rule, but for "! -i lo" rather than "! -s 127.0.0.0/8" (with
// route_localnet a box's spoofed 127.0.0.1 source is no martian). Replies
// to the host's own connections to a published port (DNAT, ESTABLISHED)
// still pass.
var loopbackGuard = []string{"INPUT", "!", "-i", "lo", "-d", "127.0.0.0/8",
	"-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT",
	"-m", "comment", "--comment", "pbox: boxes never reach the host loopback 127.0.0.0/8 (CVE-2020-8558)", "-j", "DROP"}

// GuardLoopback puts loopbackGuard first in the filter table's INPUT
// chain of the calling thread's network namespace, unless it is there.
// It is left in place: it costs nothing, and other boxes may need it.
func GuardLoopback() error {
	check := append([]string{"-w", "-C"}, loopbackGuard...)
	if exec.Command("iptables", check...).Run() == nil {
		return nil
	}
	insert := append([]string{"-w", "-I", loopbackGuard[0], "1"}, loopbackGuard[1:]...)
	if out, err := exec.Command("iptables", insert...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(insert, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
