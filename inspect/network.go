package inspect

import (
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"strings"
	"syscall"
	"unsafe"

	"github.com/pbox-dev/pbox/internal/osthread"
	"golang.org/x/sys/unix"
)

// Network is what the box's network namespace holds, and what of the
// host's each interface leads to.
type Network struct {
	Namespace  string      `json:"namespace"` // net:[inode]
	Shared     bool        `json:"shared"`    // the reference's (host's) namespace
	Interfaces []Interface `json:"interfaces"`
	Routes     []Route     `json:"routes"`
	// Published are the box's ports on the host and the NAT rules that
	// carry them, as the caller (pbox, which knows the box) found them.
	Published []Published `json:"published,omitempty"`
	// Check is the CNI CHECK of a box on a CNI network: "ok", or what the
	// plugins found wrong.
	Check string `json:"cni_check,omitempty"`
}

// Interface is one network interface inside the box.
type Interface struct {
	Name      string   `json:"name"`
	Index     int      `json:"index"`
	Kind      string   `json:"kind,omitempty"` // veth, bridge, ... ("" for lo and plain devices)
	MAC       string   `json:"mac,omitempty"`
	Up        bool     `json:"up"`
	Addresses []string `json:"addresses"`
	// Peer is the host's end of a veth pair whose other end this is.
	Peer    *HostLink `json:"peer,omitempty"`
	Verdict string    `json:"verdict"` // box-only, box's end of a veth pair, shared with the host
}

// HostLink is an interface in the host's network namespace.
type HostLink struct {
	Name   string `json:"name"`
	Index  int    `json:"index"`
	Bridge string `json:"bridge,omitempty"` // the bridge it is attached to
	// BridgeAddresses are the bridge's own addresses (the box's gateway).
	BridgeAddresses []string `json:"bridge_addresses,omitempty"`
}

// Route is one route of the box's main table (IPv4, then IPv6).
type Route struct {
	Dst     string `json:"dst"` // "default" or a CIDR
	Gateway string `json:"gateway,omitempty"`
	Dev     string `json:"dev"`
}

// Published is one published port and its NAT rules (iptables-save lines).
type Published struct {
	Port  string   `json:"port"` // 8080->80/tcp
	Rules []string `json:"rules"`
}

// network reads the box's interfaces, addresses and routes from inside its
// network namespace (netlink, on a thread thrown away afterwards) and each
// veth's host end from the inspector's.
func (c *collector) network(pid int) {
	ns := c.rep.Namespaces["net"]
	n := &Network{Namespace: fmt.Sprintf("net:[%d]", ns.Inode), Shared: !ns.Isolated, Interfaces: []Interface{}, Routes: []Route{},
		Published: c.opt.Published, Check: c.opt.CNICheck}
	c.rep.Network = n
	var inside netlinkView
	var err error
	if ns.Isolated {
		err = osthread.InNamespace(procPath(pid, "ns/net"), unix.CLONE_NEWNET, func() (err error) {
			inside, err = readNetlink()
			return err
		})
	} else {
		inside, err = readNetlink()
	}
	if err != nil {
		c.noteErr("the box's network interfaces", err)
		return
	}
	host := inside
	if ns.Isolated && c.opt.HostNetns != "" {
		err = osthread.InNamespace(c.opt.HostNetns, unix.CLONE_NEWNET, func() (err error) {
			host, err = readNetlink()
			return err
		})
		if err != nil {
			c.noteErr("the network namespace of the box's CNI plugins", err)
		}
	} else if ns.Isolated {
		if host, err = readNetlink(); err != nil {
			c.noteErr("the host's network interfaces", err)
		}
	}
	for _, l := range inside.links {
		i := Interface{Name: l.name, Index: l.index, Kind: l.kind, MAC: l.mac, Up: l.up, Addresses: inside.addrs[l.index]}
		if i.Addresses == nil {
			i.Addresses = []string{}
		}
		switch {
		case !ns.Isolated:
			i.Verdict = "shared with the host"
		case l.kind == "veth" && l.peer > 0:
			if h, ok := host.byIndex[l.peer]; ok && h.kind == "veth" {
				i.Peer = &HostLink{Name: h.name, Index: h.index}
				if b, ok := host.byIndex[h.master]; ok && h.master > 0 {
					i.Peer.Bridge = b.name
					i.Peer.BridgeAddresses = host.addrs[b.index]
				}
				i.Verdict = "the box's end of a veth pair; the other end is on the host"
			} else {
				i.Verdict = "the box's end of a veth pair; the other end is in another namespace"
			}
		default:
			i.Verdict = "box-only"
		}
		n.Interfaces = append(n.Interfaces, i)
	}
	for _, r := range inside.routes {
		n.Routes = append(n.Routes, Route{Dst: r.dst, Gateway: r.gateway, Dev: inside.byIndex[r.oif].name})
	}
}

type nlLink struct {
	name, mac, kind string
	index, peer     int // peer: IFLA_LINK, the other end's index (veth)
	master          int
	up              bool
}

type nlRoute struct {
	dst, gateway string
	oif          int
}

type netlinkView struct {
	links   []nlLink
	byIndex map[int]nlLink
	addrs   map[int][]string
	routes  []nlRoute
}

// readNetlink dumps links, addresses and main-table routes (IPv4, then
// IPv6) of the calling thread's network namespace.
func readNetlink() (netlinkView, error) {
	v := netlinkView{byIndex: map[int]nlLink{}, addrs: map[int][]string{}}
	msgs, err := dump(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return v, fmt.Errorf("netlink links: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		info := (*syscall.IfInfomsg)(unsafe.Pointer(&m.Data[0]))
		l := nlLink{index: int(info.Index), up: info.Flags&syscall.IFF_UP != 0}
		attrs, _ := syscall.ParseNetlinkRouteAttr(&m)
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFLA_IFNAME:
				l.name = cString(a.Value)
			case syscall.IFLA_ADDRESS:
				if len(a.Value) == 6 {
					l.mac = net.HardwareAddr(a.Value).String()
				}
			case syscall.IFLA_LINK:
				l.peer = int(binary.NativeEndian.Uint32(a.Value))
			case syscall.IFLA_MASTER:
				l.master = int(binary.NativeEndian.Uint32(a.Value))
			case unix.IFLA_LINKINFO:
				l.kind = linkKind(a.Value)
			}
		}
		if l.peer == l.index {
			l.peer = 0
		}
		v.links = append(v.links, l)
		v.byIndex[l.index] = l
	}
	sort.Slice(v.links, func(i, j int) bool { return v.links[i].index < v.links[j].index })
	for _, family := range []int{syscall.AF_INET, syscall.AF_INET6} {
		if err := v.readAddrsAndRoutes(family); err != nil {
			return v, err
		}
	}
	return v, nil
}

// readAddrsAndRoutes adds one family's addresses (IPv6: not the
// link-local ones every interface has) and main-table unicast routes.
func (v *netlinkView) readAddrsAndRoutes(family int) error {
	msgs, err := dump(syscall.RTM_GETADDR, family)
	if err != nil {
		return fmt.Errorf("netlink addresses: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWADDR || len(m.Data) < syscall.SizeofIfAddrmsg {
			continue
		}
		am := (*syscall.IfAddrmsg)(unsafe.Pointer(&m.Data[0]))
		attrs, _ := syscall.ParseNetlinkRouteAttr(&m)
		for _, a := range attrs {
			ip := net.IP(a.Value)
			if ip.IsLinkLocalUnicast() {
				continue
			}
			if a.Attr.Type == syscall.IFA_LOCAL || (a.Attr.Type == syscall.IFA_ADDRESS && (len(attrs) == 1 || family == syscall.AF_INET6)) {
				v.addrs[int(am.Index)] = append(v.addrs[int(am.Index)], fmt.Sprintf("%s/%d", ip, am.Prefixlen))
			}
		}
	}
	if msgs, err = dump(syscall.RTM_GETROUTE, family); err != nil {
		return fmt.Errorf("netlink routes: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWROUTE || len(m.Data) < syscall.SizeofRtMsg {
			continue
		}
		rt := (*syscall.RtMsg)(unsafe.Pointer(&m.Data[0]))
		if rt.Table != syscall.RT_TABLE_MAIN || rt.Type != syscall.RTN_UNICAST {
			continue
		}
		r := nlRoute{dst: "default"}
		attrs, _ := syscall.ParseNetlinkRouteAttr(&m)
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.RTA_DST:
				r.dst = fmt.Sprintf("%s/%d", net.IP(a.Value), rt.Dst_len)
			case syscall.RTA_GATEWAY:
				r.gateway = net.IP(a.Value).String()
			case syscall.RTA_OIF:
				r.oif = int(binary.NativeEndian.Uint32(a.Value))
			}
		}
		if strings.HasPrefix(r.dst, "fe80:") {
			continue // every IPv6 interface's link-local route
		}
		v.routes = append(v.routes, r)
	}
	return nil
}

func dump(typ, family int) ([]syscall.NetlinkMessage, error) {
	tab, err := syscall.NetlinkRIB(typ, family)
	if err != nil {
		return nil, err
	}
	return syscall.ParseNetlinkMessage(tab)
}

// linkKind reads IFLA_INFO_KIND from a nested IFLA_LINKINFO attribute.
func linkKind(b []byte) string {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4])
		if l < 4 || l > len(b) {
			return ""
		}
		if typ == unix.IFLA_INFO_KIND {
			return cString(b[4:l])
		}
		b = b[(l+3)&^3:]
	}
	return ""
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
