package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/pbox-dev/pbox/internal/testutil"
)

// boxProbe prints what a box is, as seen from inside it: its process's
// capability sets, no_new_privs, seccomp mode and ids, its hostname and
// working directory, its namespaces, environment, mounts, device nodes
// and cgroup limits. It runs on busybox and on the host's shell.
const boxProbe = `
for k in Uid Gid CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp; do grep "^$k:" /proc/self/status; done
echo "hostname $(hostname)"
echo "cwd $(pwd)"
for n in cgroup ipc mnt net pid uts; do echo "ns $n $(readlink /proc/self/ns/$n)"; done
env | grep -v -e '^PWD=' -e '^SHLVL=' -e '^_=' -e '^OLDPWD=' | sort | sed 's/^/env /'
if [ -n "$PROBE_MOUNTS" ]; then
  while read -r id parent dev root mp opts rest; do
    fstype=${rest#*- }; echo "mount $mp ${fstype%% *} $opts"
  done < /proc/self/mountinfo
  echo "dev $(ls /dev | tr '\n' ' ')"
fi
[ -e /dev/myfuse ] && { (exec 3>/dev/myfuse) 2>/dev/null && echo "myfuse opens for writing" || echo "myfuse is read-only"; }
for f in memory.max memory/memory.limit_in_bytes pids.max pids/pids.max cpu.max cpu/cpu.cfs_quota_us; do
  [ -r /sys/fs/cgroup/$f ] && echo "limit $f $(cat /sys/fs/cgroup/$f)"
done
echo end
`

// ownNS is a namespace's link that is not the host's (each box has its own).
var ownNS = regexp.MustCompile(`[a-z]+:\[[0-9]+\]`)

// Issue 20: pbox run's flags become the config.json an engine would send
// (pbox run --print-config), and that config, created and started as a
// bundle, is the same box as the run: same capabilities, mounts, limits,
// namespaces, hostname, environment, devices.
func TestE2ERunConfigIsWhatCreateRuns(t *testing.T) {
	testutil.RequireRoot(t)
	root := stateRoot(t)
	rootfs := busyboxRootfs(t)
	data := t.TempDir()
	os.WriteFile(filepath.Join(data, "f"), []byte("x"), 0o644)
	hostNS := map[string]string{}
	for _, n := range []string{"cgroup", "ipc", "mnt", "net", "pid", "uts"} {
		hostNS[n], _ = os.Readlink("/proc/self/ns/" + n)
	}
	tests := []struct {
		name   string
		flags  []string
		mounts bool // compare the mount tables (not on the host's files: other tests mount there)
	}{
		{"limits, volume, tmpfs, env", []string{"--rootfs", rootfs, "--memory", "64M", "--pids-limit", "50", "--cpus", "0.5",
			"-e", "A=1", "--hostname", "lab", "--tmpfs", "/scratch:size=1m", "-v", data + ":/data:ro", "-w", "/data"}, true},
		{"read-only, capabilities, own network", []string{"--rootfs", rootfs, "--read-only", "--cap-drop", "ALL",
			"--cap-add", "NET_ADMIN", "--cap-add", "SYS_ADMIN", "--network", "none", "--security-opt", "no-new-privileges"}, true},
		{"another user", []string{"--rootfs", rootfs, "-u", "1000:1000"}, true},
		{"a read-only device", []string{"--rootfs", rootfs, "--device", "/dev/kmsg:/dev/myfuse:r"}, true},
		{"privileged, unconfined", []string{"--rootfs", rootfs, "--privileged", "--ns", "pid,mnt,uts"}, true},
		{"the host's files", []string{"--ns", "pid,mnt,uts,ipc", "--cap-drop", "NET_RAW", "-w", "/tmp", "-e", "B=2"}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := boxName(t, "cfg"+string(rune('a'+i)))
			flags := append([]string{"--name", name, "--cgroup-parent", e2eParent}, tt.flags...)
			env := []string{"PROBE_MOUNTS="}
			if tt.mounts {
				env = []string{"PROBE_MOUNTS=1"}
			}
			ran := pboxWith(t, nil, env, append(append([]string{"--root", root, "run"}, flags...), "--", "sh", "-c", boxProbe)...)
			if ran.code != 0 || !strings.HasSuffix(ran.stdout, "end\n") {
				t.Fatalf("run: %+v", ran)
			}
			printed := pboxWith(t, nil, env, append(append([]string{"--root", root, "run", "--print-config"}, flags...), "--", "sh", "-c", boxProbe)...)
			if printed.code != 0 {
				t.Fatalf("run --print-config: %+v", printed)
			}
			var spec specs.Spec
			if err := json.Unmarshal([]byte(printed.stdout), &spec); err != nil || spec.Process == nil || spec.Version == "" {
				t.Fatalf("--print-config is not a config.json: %v\n%s", err, printed.stdout)
			}
			bundle := t.TempDir()
			openToOthers(bundle)
			os.WriteFile(filepath.Join(bundle, "config.json"), []byte(printed.stdout), 0o644)
			created := startAndRead(t, root, bundle, name, strings.Count(ran.stdout, "\n"))
			pbox(t, "--root", root, "delete", "-f", name)
			same := func(out string) string {
				for n, ino := range hostNS {
					out = strings.ReplaceAll(out, ino, n+" of the host's")
				}
				return ownNS.ReplaceAllString(out, "a new one")
			}
			if same(created) != same(ran.stdout) {
				t.Errorf("pbox create of the printed config differs from the run:\nrun:\n%s\ncreate:\n%s", same(ran.stdout), same(created))
			}
			assertNoLeftovers(t, name)
			if strings.Contains(ran.stdout, "myfuse opens for writing") {
				t.Errorf("--device HOST:BOX:r: the box may open the device for writing")
			}
		})
	}
}
