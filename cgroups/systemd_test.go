package cgroups

import "testing"

func TestSystemdPath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"kubepods-besteffort-pod1.slice:cri-containerd:ab",
			"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-ab.scope"},
		{"kubepods.slice:cri-containerd:ab", "/kubepods.slice/cri-containerd-ab.scope"},
		{":docker:ab", "/system.slice/docker-ab.scope"},
		{"-.slice:pbox:x", "/pbox-x.scope"},
		{"user.slice:p:lab-web.slice", "/user.slice/lab-web.slice"},
	} {
		if got, err := SystemdPath(tt.in); err != nil || got != tt.want {
			t.Errorf("SystemdPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"a:b", "a:b:c:d", "kubepods:p:x", ".slice:p:x", "a--b.slice:p:x", "-a.slice:p:x",
		"a/b.slice:p:x", "a.slice:p:", "a.slice::x", "a.slice:p:../x", "a.slice:p/q:x"} {
		if got, err := SystemdPath(bad); err == nil {
			t.Errorf("SystemdPath(%q) = %q, accepted", bad, got)
		}
	}
}
