package network

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
)

func TestParsePort(t *testing.T) {
	for _, c := range []struct {
		spec string
		want Port
		err  string
	}{
		{"8080:80", Port{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, ""},
		{"127.0.0.1:8080:80/udp", Port{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "udp"}, ""},
		{"[::1]:53:53/udp", Port{HostIP: "::1", HostPort: 53, ContainerPort: 53, Protocol: "udp"}, ""},
		{"80", Port{}, "name both ports"},
		{"0:80", Port{}, "not between 1 and 65535"},
		{"8080:65536", Port{}, "not between 1 and 65535"},
		{"x:80", Port{}, "is not a number"},
		{"8080:80/sctp", Port{}, "tcp or udp"},
		{"host:8080:80", Port{}, "is not an IP address"},
	} {
		got, err := ParsePort(c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "8080:80") {
				t.Errorf("%q: err %v, want one with %q and an example", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.spec, got, err, c.want)
		}
	}
	if s := (Port{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}).String(); s != "127.0.0.1:8080->80/tcp" {
		t.Errorf("String: %s", s)
	}
}

// The built-in network is a valid config list with the plugins the issue
// of a bridge network needs, its leases where the caller says.
func TestDefaultNetwork(t *testing.T) {
	list, err := libcni.NetworkConfFromBytes(Default("/tmp/leases", false))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(list.Bytes), DefaultSubnet6) || strings.Contains(string(list.Bytes), "::/0") {
		t.Errorf("without IPv6 the network has an IPv6 range or route:\n%s", list.Bytes)
	}
	dual, _ := libcni.NetworkConfFromBytes(Default("/tmp/leases", true))
	for _, want := range []string{`"subnet": "` + DefaultSubnet6 + `"`, `"dst": "::/0"`, `"subnet": "` + DefaultSubnet + `"`} {
		if dual == nil || !strings.Contains(string(dual.Bytes), want) {
			t.Errorf("the dual-stack network lacks %s", want)
		}
	}
	if list.Name != DefaultName || len(list.Plugins) != 2 || list.Plugins[0].Network.Type != "bridge" || list.Plugins[1].Network.Type != "portmap" {
		t.Fatalf("%+v", list)
	}
	for _, want := range []string{`"dataDir": "/tmp/leases"`, `"subnet": "` + DefaultSubnet, `"ipMasq": true`, `"bridge": "pbox0"`, `"portMappings": true`} {
		if !strings.Contains(string(list.Bytes), want) {
			t.Errorf("default network lacks %s:\n%s", want, list.Bytes)
		}
	}
}

func TestLookupAndMissingPlugins(t *testing.T) {
	dir := t.TempDir()
	old := ConfigDirs
	ConfigDirs = []string{dir}
	defer func() { ConfigDirs = old }()
	lab := filepath.Join(dir, "lab-a.conflist")
	os.WriteFile(lab, []byte(`{"cniVersion": "1.0.0", "name": "lab-a", "plugins": [{"type": "bridge"}]}`), 0o644)
	if list, source, err := Lookup(lab); err != nil || list.Name != "lab-a" || source != lab {
		t.Errorf("a network by its file's path: %+v %s %v", list, source, err)
	}
	if _, _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "no such network") {
		t.Errorf("unknown network: %v", err)
	}
	list, source, err := Lookup(DefaultName)
	if err != nil || source != "built in" {
		t.Fatalf("default: %v %s", err, source)
	}
	conf := `{"cniVersion":"1.0.0","name":"lab","plugins":[{"type":"no-such-plugin"},{"type":"loopback"}]}`
	if err := writeFile(dir+"/10-lab.conflist", conf); err != nil {
		t.Fatal(err)
	}
	list, source, err = Lookup("lab")
	if err != nil || source != dir || list.Name != "lab" {
		t.Fatalf("lab: %+v %s %v", list, source, err)
	}
	old2 := PluginDirs
	PluginDirs = []string{t.TempDir()}
	defer func() { PluginDirs = old2 }()
	if m := MissingPlugins(list); len(m) != 2 || m[0] != "no-such-plugin" || m[1] != "loopback" {
		t.Errorf("missing: %v", m)
	}
}

func writeFile(path, data string) error { return os.WriteFile(path, []byte(data), 0o644) }

// Find checks the plugins: a network whose plugins are missing names the
// package to install.
func TestFindNamesThePackage(t *testing.T) {
	old := PluginDirs
	PluginDirs = []string{t.TempDir()}
	defer func() { PluginDirs = old }()
	c, err := Find(DefaultName)
	if err == nil || !strings.Contains(err.Error(), "apt-get install containernetworking-plugins") || !strings.Contains(err.Error(), "bridge, portmap") {
		t.Errorf("Find with no plugins: %v", err)
	}
	if !c.Builtin || c.Name != DefaultName || !strings.Contains(string(c.WithDataDir("/leases")), `"dataDir": "/leases"`) {
		t.Errorf("the built-in config: %+v", c)
	}
}
