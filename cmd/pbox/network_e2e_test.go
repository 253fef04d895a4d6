package main

// End-to-end tests of pbox run --network: every one runs inside a network
// namespace the test makes (ip netns add), which plays the host: the
// bridge, the NAT rules, the leases and every address live only there, and
// nothing is sent anywhere else.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbox-dev/pbox/internal/osthread"
	"github.com/pbox-dev/pbox/internal/testutil"
	"github.com/pbox-dev/pbox/network"
	"golang.org/x/sys/unix"
)

// netLab is a network namespace that plays the host, and a state root.
type netLab struct {
	t    *testing.T
	name string // ip netns name
	ns   string // its path
	root string // pbox --root
}

func newNetLab(t *testing.T) *netLab {
	t.Helper()
	testutil.RequireRoot(t)
	for _, tool := range []string{"ip", "nsenter", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.SkipOrFail(t, "%s not found (apt-get install iproute2 util-linux iptables)", tool)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		if _, err2 := os.Stat("/opt/cni/bin/bridge"); err2 != nil {
			testutil.SkipOrFail(t, "the CNI plugins are not installed (apt-get install containernetworking-plugins)")
		}
	}
	l := &netLab{t: t, name: fmt.Sprintf("pbox-t%d-%d", os.Getpid(), time.Now().UnixNano()%1e6), root: stateRoot(t)}
	if out, err := exec.Command("ip", "netns", "add", l.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	l.ns = "/run/netns/" + l.name
	t.Cleanup(func() {
		// Boxes first (stateRoot's cleanup runs later: do it here, inside).
		entries, _ := os.ReadDir(l.root)
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				l.pbox("rm", "-f", e.Name())
			}
		}
		exec.Command("ip", "netns", "del", l.name).Run()
	})
	l.sh("ip link set lo up")
	return l
}

// pbox runs pbox inside the lab's network namespace (its mount namespace
// stays the host's, so the box's pinned namespace is seen by every call).
func (l *netLab) pbox(args ...string) result {
	l.t.Helper()
	argv := append([]string{"--net=" + l.ns, pboxBin(l.t), "--root", l.root}, args...)
	return runCaptured(l.t, exec.Command("nsenter", argv...))
}

// sh runs a shell command on the lab's "host".
func (l *netLab) sh(script string) string {
	l.t.Helper()
	out, err := exec.Command("nsenter", "--net="+l.ns, "sh", "-c", script).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

// box reads a box's ps --json entry.
func (l *netLab) box(name string) psJSON {
	l.t.Helper()
	var entries []psJSON
	r := l.pbox("ps", "-a", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		l.t.Fatalf("ps --json: %v\n%s", err, r.stdout)
	}
	for _, e := range entries {
		if e.ID == name {
			return e
		}
	}
	return psJSON{}
}

// assertNoNetworkLeftovers checks the lab's host for what a box on the
// network makes: a veth, a lease, a NAT rule naming it, a pinned
// namespace, its state.
func (l *netLab) assertNoNetworkLeftovers(name string) {
	l.t.Helper()
	if links := l.sh("ip -o link show type veth"); strings.TrimSpace(links) != "" {
		l.t.Errorf("veths left on the host:\n%s", links)
	}
	if nat := l.sh("iptables-save -t nat"); strings.Contains(nat, name+"-") {
		l.t.Errorf("NAT rules of %s left:\n%s", name, nat)
	}
	// The host-wide leases, port claims and names: none names the box.
	var left []string
	filepath.WalkDir(network.HostDir, func(p string, d os.DirEntry, err error) error {
		if data, rerr := os.ReadFile(p); err == nil && !d.IsDir() && rerr == nil && strings.Contains(string(data), name+"-") {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		l.t.Errorf("host-wide leases, claims or names of %s left: %v", name, left)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), l.root) {
		l.t.Errorf("a mount under %s is left:\n%s", l.root, mi)
	}
	if _, err := os.Stat(filepath.Join(l.root, name)); err == nil {
		l.t.Errorf("the state of %s is left", name)
	}
	assertNoLeftovers(l.t, name)
}

// webRootfs is a busybox root with a page for httpd to serve.
func webRootfs(t *testing.T) string {
	root := busyboxRootfs(t)
	if err := os.MkdirAll(filepath.Join(root, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "www", "index.html"), []byte("hello from web\n"), 0o644)
	return root
}

func ipOf(cidr string) string { ip, _, _ := strings.Cut(cidr, "/"); return ip }

// A box on the bridge has its own address; another box reaches it over
// HTTP; the "host" reaches it through a published port; a box that joins
// its network namespace sees the same address; after rm -f, nothing of
// it is left.
func TestE2ENetworkBridgeBoxToBoxAndPorts(t *testing.T) {
	l := newNetLab(t)
	root := webRootfs(t)
	web, client, side := boxName(t, "web"), boxName(t, "cli"), boxName(t, "side")
	r := l.pbox("run", "-d", "--name", web, "--cgroup-parent", e2eParent, "--network", "bridge", "-p", "8080:80",
		"--rootfs", root, "--", "httpd", "-f", "-p", "80", "-h", "/www")
	if r.code != 0 {
		t.Fatalf("run -d on the bridge: %+v", r)
	}
	e := l.box(web)
	if len(e.Addresses) != 2 || !strings.HasPrefix(e.Addresses[0], "10.99.") || !strings.HasPrefix(e.Addresses[1], "fd99:b0c5::") || len(e.Ports) != 1 || e.Ports[0] != "8080->80/tcp" {
		t.Fatalf("ps: %+v; want an address in 10.99.0.0/16, one in fd99:b0c5::/64 and 8080->80/tcp", e)
	}
	ip := ipOf(e.Addresses[0])

	// Box to box, over the bridge; the client's /etc files as Docker's.
	r = l.pbox("run", "--name", client, "--cgroup-parent", e2eParent, "--network", "bridge", "--rootfs", root, "--",
		"sh", "-c", "cat /etc/hostname /etc/hosts; ip -4 route; wget -qO- http://"+ip+"/")
	if r.code != 0 || !strings.Contains(r.stdout, "hello from web") {
		t.Errorf("box to box: %+v", r)
	}
	if !strings.Contains(r.stdout, client+"\n") || !strings.Contains(r.stdout, "\t"+client) || !strings.Contains(r.stdout, "default via 10.99.0.1") {
		t.Errorf("the client's hostname, hosts and default route: %q", r.stdout)
	}
	// pbox stats counts the web box's own interface: it answered the client.
	var st struct {
		NetIO *struct {
			Rx uint64 `json:"rx_bytes"`
			Tx uint64 `json:"tx_bytes"`
		} `json:"net_io"`
	}
	if r := l.pbox("stats", "--no-stream", "--json", web); json.Unmarshal([]byte(r.stdout), &st) != nil || st.NetIO == nil || st.NetIO.Rx == 0 || st.NetIO.Tx < 15 {
		t.Errorf("stats of a box on the bridge, after it served a page: %+v, net_io %+v", r, st.NetIO)
	}

	// The host side: the published port, on the host's own address.
	if got := l.sh("busybox wget -qO- http://127.0.0.1:8080/"); !strings.Contains(got, "hello from web") {
		t.Errorf("published port from the host: %q", got)
	}
	if nat := l.sh("iptables-save -t nat"); !strings.Contains(nat, "--dport 8080") || !strings.Contains(nat, "--to-destination "+ip+":80") {
		t.Errorf("no DNAT rule for 8080 -> %s:80:\n%s", ip, nat)
	}

	// inspect: eth0 inside, its veth's host end on pbox0, the published
	// port with its DNAT rule.
	var rep struct {
		Network struct {
			Interfaces []struct {
				Name      string
				Addresses []string
				Peer      *struct{ Name, Bridge string }
			}
			Routes    []struct{ Dst, Gateway, Dev string }
			Published []struct {
				Port  string
				Rules []string
			}
			Check string `json:"cni_check"`
		}
	}
	r = l.pbox("inspect", "--json", web)
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("inspect --json: %v %+v", err, r)
	}
	var eth0 bool
	for _, i := range rep.Network.Interfaces {
		if i.Name == "eth0" && slices.Equal(i.Addresses, e.Addresses) && i.Peer != nil && i.Peer.Bridge == "pbox0" && strings.HasPrefix(i.Peer.Name, "veth") {
			eth0 = true
		}
	}
	if !eth0 || len(rep.Network.Published) != 1 || rep.Network.Published[0].Port != "8080->80/tcp" ||
		!strings.Contains(strings.Join(rep.Network.Published[0].Rules, "\n"), "--to-destination "+ip+":80") {
		t.Errorf("inspect's network section: %+v", rep.Network)
	}

	// CNI CHECK: the bridge and its IPAM find the attachment as ADD made
	// it (portmap 1.1's own CHECK fails on iptables-nft; inspect says so).
	if !strings.HasPrefix(rep.Network.Check, "ok") && !strings.Contains(rep.Network.Check, "(bridge: ok)") {
		t.Errorf("CNI CHECK: %q", rep.Network.Check)
	}

	// The same seen from outside the lab's network namespace (as after
	// `ip netns exec NS pbox run`): CHECK, the NAT rules and the veth's
	// host end are read where the plugins ran.
	var outside struct {
		Network struct {
			Interfaces []struct {
				Name string
				Peer *struct{ Name, Bridge string }
			}
			Published []struct{ Rules []string }
			Check     string `json:"cni_check"`
		}
	}
	r = pbox(t, "--root", l.root, "inspect", "--json", web)
	json.Unmarshal([]byte(r.stdout), &outside)
	var peer bool
	for _, i := range outside.Network.Interfaces {
		peer = peer || (i.Name == "eth0" && i.Peer != nil && i.Peer.Bridge == "pbox0")
	}
	if !peer || len(outside.Network.Published) != 1 || len(outside.Network.Published[0].Rules) == 0 || !strings.HasPrefix(outside.Network.Check, "ok") {
		t.Errorf("inspect from outside the plugins' network namespace: %+v", outside.Network)
	}

	// A second box in the first one's network namespace.
	r = l.pbox("run", "--name", side, "--cgroup-parent", e2eParent, "--network", "container:"+web, "--rootfs", root, "--",
		"sh", "-c", "ip -4 -o addr show eth0; wget -qO- http://127.0.0.1/")
	if r.code != 0 || !strings.Contains(r.stdout, ip+"/") || !strings.Contains(r.stdout, "hello from web") {
		t.Errorf("container:%s: %+v; want its address %s and its server on 127.0.0.1", web, r, ip)
	}

	// A second box cannot take the same host port.
	assertCleanError(t, l.pbox("run", "--cgroup-parent", e2eParent, "--network", "bridge", "-p", "8080:81", "--", "true"), 125, "publishes host port 8080/tcp already")

	if r := l.pbox("rm", "-f", web); r.code != 0 {
		t.Fatalf("rm -f: %+v", r)
	}
	for _, n := range []string{web, client, side} {
		l.assertNoNetworkLeftovers(n)
	}
}

// A SIGKILLed pbox leaves its box's attachment in its state; pbox cleanup
// takes the box off the network (CNI DEL with the pinned namespace) and
// leaves nothing.
func TestE2ENetworkCleanupAfterKilledPbox(t *testing.T) {
	l := newNetLab(t)
	name := boxName(t, "netkill")
	cmd := exec.Command("nsenter", "--net="+l.ns, pboxBin(t), "--root", l.root, "run", "--name", name,
		"--cgroup-parent", e2eParent, "--network", "bridge", "-p", "8081:80", "--", "sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !testutil.WaitFor(10*time.Second, func() bool { return len(l.box(name).Addresses) > 0 }) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the box never got an address")
	}
	testutil.Kill(t, cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if nat := l.sh("iptables-save -t nat"); !strings.Contains(nat, name+"-") {
		t.Fatalf("before cleanup the box's NAT rules should still be there (else this proves nothing):\n%s", nat)
	}
	if r := l.pbox("cleanup", "--cgroup-parent", e2eParent); r.code != 0 {
		t.Fatalf("cleanup: %+v", r)
	}
	l.assertNoNetworkLeftovers(name)
}

// Bad input: a one-line pbox: error, status 125, and nothing on the host.
func TestE2ENetworkBadInput(t *testing.T) {
	l := newNetLab(t)
	stopped := boxName(t, "stopped")
	if r := l.pbox("run", "-d", "--name", stopped, "--cgroup-parent", e2eParent, "--", "true"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	testutil.WaitFor(10*time.Second, func() bool { return l.box(stopped).Status == "stopped" })
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--network", "no-such-net"}, "no such network"},
		{[]string{"--network", "/no/such.conflist"}, "network file /no/such.conflist"},
		{[]string{"--network", "bridge", "-p", "80"}, "name both ports"},
		{[]string{"--network", "bridge", "-p", "70000:80"}, "not between 1 and 65535"},
		{[]string{"--network", "bridge", "-p", "8080:80/sctp"}, "tcp or udp"},
		{[]string{"--network", "bridge", "-p", "nothost:8080:80"}, "is not an IP address"},
		{[]string{"-p", "8080:80"}, "needs a CNI network"},
		{[]string{"--network", "host", "-p", "8080:80"}, "needs a CNI network"},
		{[]string{"--network", "bridge", "--dns", "10.0.0.1"}, "needs --rootfs"},
		{[]string{"--network", "container:" + stopped}, "is stopped"},
		{[]string{"--network", "container:no-such-box"}, "no such box"},
	} {
		args := append([]string{"run", "--cgroup-parent", e2eParent}, c.args...)
		assertCleanError(t, l.pbox(append(args, "--", "true")...), 125, c.want)
	}
	l.pbox("rm", stopped)
	l.assertNoNetworkLeftovers(stopped)
	if links := l.sh("ip -o link"); strings.Contains(links, "pbox0") {
		t.Errorf("bad input made a bridge:\n%s", links)
	}
}

// A box whose start fails after ADD (its working directory is missing)
// leaves the network as it found it.
func TestE2ENetworkFailedStartLeavesNothing(t *testing.T) {
	l := newNetLab(t)
	name := boxName(t, "netfail")
	r := l.pbox("run", "--name", name, "--cgroup-parent", e2eParent, "--network", "bridge", "-p", "8082:80",
		"--rootfs", busyboxRootfs(t), "-w", "/no/such/dir", "--", "true")
	assertCleanError(t, r, 125, "/no/such/dir")
	l.assertNoNetworkLeftovers(name)
}

// pboxIn runs pbox with another state root inside the lab's network
// namespace, and removes that root's boxes there when the test ends.
func (l *netLab) pboxIn(root string, args ...string) result {
	l.t.Helper()
	argv := append([]string{"--net=" + l.ns, pboxBin(l.t), "--root", root}, args...)
	return runCaptured(l.t, exec.Command("nsenter", argv...))
}

func (l *netLab) otherRoot() string {
	l.t.Helper()
	root := l.t.TempDir()
	l.t.Cleanup(func() {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				l.pboxIn(root, "rm", "-f", e.Name())
			}
		}
	})
	return root
}

// Attack (issue 23, the CVE-2020-8558 class): once a box publishes a
// port, portmap has set route_localnet=1 on pbox0; a box sends a UDP
// datagram for 127.0.0.1 to the gateway's MAC, and a service bound to
// the host's loopback must not receive it. The same frame reaches the
// service once pbox's DROP rule is taken away: the test proves something.
// (Box to box and the host's own 127.0.0.1:PORT to a published port keep
// working: TestE2ENetworkBridgeBoxToBoxAndPorts.)
func TestE2ENetworkNoWayIntoHostLoopback(t *testing.T) {
	l := newNetLab(t)
	root := attackRootfs(t)
	var conn net.PacketConn
	err := osthread.InNamespace(l.ns, unix.CLONE_NEWNET, func() (err error) {
		conn, err = net.ListenPacket("udp4", "127.0.0.1:0") // the host's loopback service
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port)
	pub := boxName(t, "pub")
	if r := l.pbox("run", "-d", "--name", pub, "--cgroup-parent", e2eParent, "--network", "bridge", "-p", "18080:80", "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d -p: %+v", r)
	}
	if got := strings.TrimSpace(l.sh("cat /proc/sys/net/ipv4/conf/pbox0/route_localnet")); got != "1" {
		t.Fatalf("route_localnet on pbox0 is %q: portmap's snat did not set it, so this test proves nothing", got)
	}
	gw := strings.TrimSpace(l.sh("ip -br link show pbox0 | awk '{print $3}'"))
	// The attacker is a running box the frames are sent from with exec:
	// attaching a box puts the rule back.
	attacker := boxName(t, "attacker")
	if r := l.pbox("run", "-d", "--name", attacker, "--cgroup-parent", e2eParent, "--network", "bridge", "--rootfs", root, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d the attacker: %+v", r)
	}
	received := func() string {
		r := l.pbox("exec", attacker, "/attack", "localnet", gw, port)
		if got := results(r.stdout)["localnet"]; got != "ok" {
			t.Fatalf("the box could not send its frame: %+v", r)
		}
		buf := make([]byte, 256)
		conn.SetReadDeadline(time.Now().Add(time.Second))
		n, _, _ := conn.ReadFrom(buf)
		return string(buf[:n])
	}
	if got := received(); got != "" {
		t.Errorf("a service on the host's 127.0.0.1 received %q from a box", got)
	}
	rule := l.sh("iptables-save -t filter | grep -- '-A INPUT .*CVE-2020-8558'")
	l.sh("iptables -D " + strings.TrimPrefix(strings.TrimSpace(rule), "-A "))
	if got := received(); got == "" {
		t.Errorf("without pbox's DROP rule the frame did not arrive either: the test proves nothing")
	}
}

// Issue 23: what is host-wide is owned host-wide. Boxes under two state
// roots on one host get different addresses from the one pool, and the
// second root cannot publish a host port the first has; on the network,
// boxes reach each other by name whatever their root, and a box that goes
// leaves no name behind.
func TestE2ENetworkHostWideAcrossRoots(t *testing.T) {
	l := newNetLab(t)
	other := l.otherRoot()
	root := webRootfs(t)
	web, cli, long := boxName(t, "web"), boxName(t, "cli"), boxName(t, "long")
	if r := l.pbox("run", "-d", "--name", web, "--cgroup-parent", e2eParent, "--network", "bridge", "-p", "8090:80",
		"--rootfs", root, "--", "httpd", "-f", "-p", "80", "-h", "/www"); r.code != 0 {
		t.Fatalf("run -d web: %+v", r)
	}
	if r := l.pboxIn(other, "run", "-d", "--name", long, "--cgroup-parent", e2eParent, "--network", "bridge", "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -d under the second root: %+v", r)
	}
	a, b := l.box(web).Addresses, []string{}
	var entries []psJSON
	json.Unmarshal([]byte(l.pboxIn(other, "ps", "--json").stdout), &entries)
	for _, e := range entries {
		if e.ID == long {
			b = e.Addresses
		}
	}
	if len(a) == 0 || len(b) == 0 || a[0] == b[0] {
		t.Errorf("two roots, one bridge: addresses %v and %v; want two different ones", a, b)
	}
	assertCleanError(t, l.pboxIn(other, "run", "--cgroup-parent", e2eParent, "--network", "bridge", "-p", "8090:81", "--", "true"),
		125, "publishes host port 8090/tcp already")

	// By name, from the other root, and in the long-running box's hosts.
	r := l.pboxIn(other, "run", "--rm", "--name", cli, "--cgroup-parent", e2eParent, "--network", "bridge", "--rootfs", root, "--",
		"wget", "-qO-", "http://"+web+"/")
	if r.code != 0 || !strings.Contains(r.stdout, "hello from web") {
		t.Errorf("wget http://%s/ from a box under another root: %+v", web, r)
	}
	if hosts := l.pboxIn(other, "exec", long, "cat", "/etc/hosts").stdout; !strings.Contains(hosts, ipOf(a[0])+"\t"+web+"\n") {
		t.Errorf("the running box's /etc/hosts does not name %s at %s:\n%s", web, ipOf(a[0]), hosts)
	}
	if r := l.pbox("rm", "-f", web); r.code != 0 {
		t.Fatalf("rm -f: %+v", r)
	}
	if hosts := l.pboxIn(other, "exec", long, "cat", "/etc/hosts").stdout; strings.Contains(hosts, web) {
		t.Errorf("%s is gone, its name is not:\n%s", web, hosts)
	}
	// The port is free again, for the other root.
	if r := l.pboxIn(other, "run", "--rm", "--cgroup-parent", e2eParent, "--network", "bridge", "-p", "8090:81", "--", "true"); r.code != 0 {
		t.Errorf("host port 8090 after its box went: %+v", r)
	}
	l.pboxIn(other, "rm", "-f", long)
	for _, n := range []string{web, cli, long} {
		l.assertNoNetworkLeftovers(n)
	}
}

// --add-host, as docker's: the line is in the box's /etc/hosts, with or
// without a network, and the host's file is untouched.
func TestE2ENetworkAddHost(t *testing.T) {
	l := newNetLab(t)
	before, _ := os.ReadFile("/etc/hosts")
	r := l.pbox("run", "--rm", "--cgroup-parent", e2eParent, "--add-host", "db:10.1.2.3", "--add-host", "v6:[fd00::5]", "--", "cat", "/etc/hosts")
	if r.code != 0 || !strings.Contains(r.stdout, "10.1.2.3\tdb\n") || !strings.Contains(r.stdout, "fd00::5\tv6\n") || !strings.HasPrefix(r.stdout, string(before)) {
		t.Errorf("--add-host on the host's files: %+v; want the host's /etc/hosts and then the two lines", r)
	}
	r = l.pbox("run", "--rm", "--cgroup-parent", e2eParent, "--network", "bridge", "--add-host", "db:10.1.2.3", "--rootfs", busyboxRootfs(t), "--", "cat", "/etc/hosts")
	if r.code != 0 || !strings.Contains(r.stdout, "10.1.2.3\tdb\n") || !strings.Contains(r.stdout, "127.0.0.1\tlocalhost") {
		t.Errorf("--add-host on the bridge: %+v", r)
	}
	if after, _ := os.ReadFile("/etc/hosts"); string(after) != string(before) {
		t.Errorf("the host's /etc/hosts changed")
	}
	assertCleanError(t, l.pbox("run", "--cgroup-parent", e2eParent, "--add-host", "nocolon", "--", "true"), 125, "NAME:IP")
	assertCleanError(t, l.pbox("run", "--cgroup-parent", e2eParent, "--add-host", "db:notip", "--", "true"), 125, "NAME:IP")
	assertCleanError(t, l.pbox("run", "--cgroup-parent", e2eParent, "--ns", "pid", "--add-host", "db:10.1.2.3", "--", "true"), 125, "mount namespace")
}

// Issue 23: the built-in network is dual-stack where the host has IPv6:
// a box has an address from fd99:b0c5::/64 next to its IPv4 one, pings
// the gateway and another box over IPv6, fetches a page from it over
// IPv6, and -p publishes the port in both families.
func TestE2ENetworkIPv6(t *testing.T) {
	l := newNetLab(t)
	root := webRootfs(t)
	web := boxName(t, "web6")
	if r := l.pbox("run", "-d", "--name", web, "--cgroup-parent", e2eParent, "--network", "bridge", "-p", "8091:80",
		"--rootfs", root, "--", "httpd", "-f", "-p", "80", "-h", "/www"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	var v6 string
	for _, a := range l.box(web).Addresses {
		if strings.HasPrefix(a, "fd99:b0c5::") {
			v6 = ipOf(a)
		}
	}
	if v6 == "" {
		t.Fatalf("no IPv6 address: %+v", l.box(web))
	}
	r := l.pbox("run", "--rm", "--cgroup-parent", e2eParent, "--network", "bridge", "--rootfs", root, "--", "sh", "-c",
		"ip -6 route show default; ping -6 -c1 -W5 fd99:b0c5::1 && ping -6 -c1 -W5 "+v6+" && wget -qO- http://["+v6+"]/")
	if r.code != 0 || !strings.Contains(r.stdout, "default via fd99:b0c5::1") || strings.Count(r.stdout, "1 packets received") != 2 || !strings.Contains(r.stdout, "hello from web") {
		t.Errorf("over IPv6 from a box: %+v", r)
	}
	if got := l.sh("busybox wget -qO- http://[fd99:b0c5::1]:8091/"); !strings.Contains(got, "hello from web") {
		t.Errorf("the published port over IPv6 from the host: %q", got)
	}
	if nat := l.sh("ip6tables-save -t nat"); !strings.Contains(nat, "--to-destination ["+v6+"]:80") {
		t.Errorf("no IPv6 DNAT rule for 8091 -> [%s]:80:\n%s", v6, nat)
	}
	if r := l.pbox("rm", "-f", web); r.code != 0 {
		t.Fatalf("rm -f: %+v", r)
	}
	l.assertNoNetworkLeftovers(web)
	if nat := l.sh("ip6tables-save -t nat"); strings.Contains(nat, web+"-") {
		t.Errorf("IPv6 NAT rules of %s left:\n%s", web, nat)
	}
}
