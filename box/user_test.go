package box

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nweb:x:1000:\nwheel:x:10:web,other\nstaff:x:50:\n"), 0o644)
	for _, tt := range []struct {
		spec string
		want User
	}{
		{"web", User{UID: 1000, GID: 1000, Groups: []uint32{10}}},
		{"1000", User{UID: 1000, GID: 1000, Groups: []uint32{10}}},
		{"web:staff", User{UID: 1000, GID: 50, Groups: []uint32{10}}},
		{"1000:1000", User{UID: 1000, GID: 1000, Groups: []uint32{10}}},
		{"4242", User{UID: 4242}},
		{"4242:7", User{UID: 4242, GID: 7}},
	} {
		u, err := ResolveUser(root, tt.spec)
		if err != nil || !reflect.DeepEqual(*u, tt.want) {
			t.Errorf("%s: %+v %v, want %+v", tt.spec, u, err, tt.want)
		}
	}
	for spec, want := range map[string]string{
		"nosuchuser":  "no such user in the box's /etc/passwd",
		"web:nogroup": "no such group in the box's /etc/group",
		"":            "give USER[:GROUP]",
		"web:":        "give USER[:GROUP]",
	} {
		if _, err := ResolveUser(root, spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", spec, err, want)
		}
	}
	// The box's files, not the host's: a passwd that is a symlink out of
	// the root is not followed.
	os.Remove(filepath.Join(root, "etc/passwd"))
	os.Symlink("/etc/passwd", filepath.Join(root, "etc/passwd"))
	if _, err := ResolveUser(root, "root"); err == nil {
		t.Error("a symlink to the host's /etc/passwd was followed")
	}
	// Nor does a FIFO hang pbox exec, which reads a running box's files.
	os.Remove(filepath.Join(root, "etc/passwd"))
	if err := syscall.Mkfifo(filepath.Join(root, "etc/passwd"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ResolveUser(root, "web"); err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("a FIFO for /etc/passwd: %v, want it read as empty", err)
	}
}
