package network

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// box makes a box's attachment record (the file that keeps its claims)
// under a state root of its own.
func box(t *testing.T, id string) Claim {
	t.Helper()
	keep := filepath.Join(t.TempDir(), id, "network.json")
	os.MkdirAll(filepath.Dir(keep), 0o700)
	if err := os.WriteFile(keep, []byte(`{"container_id": "`+id+`-1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return Claim{ContainerID: id + "-1", Box: id, Netns: "4026531840", Keep: keep}
}

func TestPortClaimsAreHostWide(t *testing.T) {
	h := Host{Dir: t.TempDir()}
	a, b := box(t, "a"), box(t, "b")
	p8080 := Port{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}
	if err := h.ClaimPorts(a, []Port{p8080}); err != nil {
		t.Fatal(err)
	}
	err := h.ClaimPorts(b, []Port{{HostPort: 8080, ContainerPort: 81, Protocol: "tcp"}})
	if err == nil || !strings.Contains(err.Error(), "box a publishes host port 8080/tcp already") {
		t.Errorf("a second claim on 8080/tcp from another root: %v", err)
	}
	// Another protocol, or one address against all of them.
	if err := h.ClaimPorts(b, []Port{{HostPort: 8080, ContainerPort: 81, Protocol: "udp"}}); err != nil {
		t.Errorf("8080/udp: %v", err)
	}
	if _, _, taken := h.PortTaken([]Port{{HostIP: "10.0.0.1", HostPort: 8080, Protocol: "tcp"}}, "", a.Netns); !taken {
		t.Errorf("10.0.0.1:8080 is not taken by a claim on every address's 8080")
	}
	// Another network namespace is another host, with ports of its own.
	lab := box(t, "lab")
	lab.Netns = "4026532999"
	if err := h.ClaimPorts(lab, []Port{p8080}); err != nil {
		t.Errorf("8080 in another network namespace: %v", err)
	}
	h.Release(lab.ContainerID)
	// A box whose state is gone (its root deleted, its pbox killed)
	// holds nothing.
	os.RemoveAll(filepath.Dir(a.Keep))
	if err := h.ClaimPorts(b, []Port{p8080}); err != nil {
		t.Errorf("8080 after its box's state went: %v", err)
	}
	if err := h.Release(b.ContainerID); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(h.portsDir()); len(ents) != 0 {
		t.Errorf("claims left after Release: %v", ents)
	}
}

func TestNamesKeepEveryHostsFileCurrent(t *testing.T) {
	h := Host{Dir: t.TempDir()}
	web, cli := box(t, "web"), box(t, "cli")
	files := map[string]string{}
	for _, c := range []Claim{web, cli} {
		files[c.Box] = filepath.Join(filepath.Dir(c.Keep), "hosts")
		os.WriteFile(files[c.Box], nil, 0o644)
	}
	var before syscall.Stat_t
	syscall.Stat(files["cli"], &before)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.JoinNames(HostsEntry{Claim: web, Network: "pbox", Addresses: []string{"10.99.0.2"}, Names: []string{"web"}, HostsFile: files["web"]}))
	must(h.JoinNames(HostsEntry{Claim: cli, Network: "pbox", Addresses: []string{"10.99.0.3", "fd99::3"}, Names: []string{"cli", "client"},
		Extra: []ExtraHost{{Name: "db", IP: "10.1.2.3"}}, HostsFile: files["cli"]}))
	got, _ := os.ReadFile(files["cli"])
	want := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.1.2.3\tdb\n10.99.0.3\tcli client\nfd99::3\tcli client\n10.99.0.2\tweb\n"
	if string(got) != want {
		t.Errorf("cli's hosts:\n%s\nwant:\n%s", got, want)
	}
	if got, _ := os.ReadFile(files["web"]); !strings.Contains(string(got), "10.99.0.3\tcli client\n") || strings.Contains(string(got), "db") {
		t.Errorf("web's hosts does not name cli (or has cli's --add-host):\n%s", got)
	}
	must(h.Release(web.ContainerID))
	got, _ = os.ReadFile(files["cli"])
	var after syscall.Stat_t
	syscall.Stat(files["cli"], &after)
	if strings.Contains(string(got), "web") || after.Ino != before.Ino {
		t.Errorf("after web went, cli's hosts (inode %d, was %d; a bind mount needs the same one):\n%s", after.Ino, before.Ino, got)
	}
	// A box whose state went without a Release drops out when next seen.
	os.RemoveAll(filepath.Dir(cli.Keep))
	must(h.JoinNames(HostsEntry{Claim: web, Network: "pbox", Addresses: []string{"10.99.0.2"}, Names: []string{"web"}}))
	if ents, _ := os.ReadDir(h.namesDir(web.Netns, "pbox")); len(ents) != 1 {
		t.Errorf("names left: %v", ents)
	}
}

func TestParseExtraHost(t *testing.T) {
	for spec, want := range map[string]ExtraHost{"db:10.0.0.5": {"db", "10.0.0.5"}, "v6:[fd00::5]": {"v6", "fd00::5"}, "v6:fd00::5": {"v6", "fd00::5"}} {
		if got, err := ParseExtraHost(spec); err != nil || got != want {
			t.Errorf("%q: %+v %v", spec, got, err)
		}
	}
	for _, bad := range []string{"db", "db:", ":10.0.0.5", "db:host", "a b:10.0.0.5", "db\r:10.0.0.5", "#db:10.0.0.5"} {
		if _, err := ParseExtraHost(bad); err == nil || !strings.Contains(err.Error(), "NAME:IP") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
