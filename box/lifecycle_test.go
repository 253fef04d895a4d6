package box

import (
	"errors"
	"strings"
	"testing"
)

// The transition table, read as a user meets it: what each state allows,
// and what a refusal says.
func TestTransitionTable(t *testing.T) {
	allowed := map[string][]Op{
		StatusCreating: {OpForceKill},
		StatusCreated:  {OpStart, OpSignal, OpStop, OpUpdate, OpStats, OpProcesses, OpExec, OpDestroy, OpForceKill},
		StatusRunning:  {OpSignal, OpStop, OpPause, OpUpdate, OpStats, OpProcesses, OpExec, OpForceKill},
		StatusPaused:   {OpSignal, OpStop, OpResume, OpUpdate, OpStats, OpProcesses, OpForceKill},
		StatusStopped:  {OpStop, OpProcesses, OpDestroy, OpForceKill},
	}
	all := []Op{OpStart, OpSignal, OpStop, OpPause, OpResume, OpUpdate, OpStats, OpProcesses, OpExec, OpDestroy, OpForceKill}
	for status, ops := range allowed {
		h := &Handle{Record: &Record{ID: "web"}, status: status}
		for _, op := range all {
			err := h.Allows(op)
			want := false
			for _, o := range ops {
				want = want || o == op
			}
			if want != (err == nil) {
				t.Errorf("%s from %s: err %v, want allowed=%v", op, status, err, want)
			}
			if err != nil && (!errors.Is(err, ErrWrongState) || !strings.Contains(err.Error(), "box web is ")) {
				t.Errorf("%s from %s: %v: want a StateError naming the box and its state", op, status, err)
			}
		}
	}
	for _, tt := range []struct {
		op     Op
		status string
		want   string
	}{
		{OpStart, StatusRunning, "box web is running, not created: only a box made by 'pbox create' can be started, once"},
		{OpDestroy, StatusRunning, "box web is running: stop it first ('pbox stop web') or use --force"},
		{OpExec, StatusStopped, "box web is stopped, not running: see 'pbox ps -a'"},
		{OpResume, StatusRunning, "box web is running, not paused"},
		{OpSignal, StatusStopped, "box web is stopped: nothing to signal (container not running)"},
		{OpStats, StatusCreating, "box web is being set up: try again in a moment"},
	} {
		h := &Handle{Record: &Record{ID: "web"}, status: tt.status}
		if err := h.Allows(tt.op); err == nil || err.Error() != tt.want {
			t.Errorf("%s from %s: %v, want %q", tt.op, tt.status, err, tt.want)
		}
	}
}

func TestCgroupLeafIsUniquePerRoot(t *testing.T) {
	def := Store{Root: DefaultStateRoot}
	a, b := Store{Root: "/tmp/a"}, Store{Root: "/tmp/b"}
	if def.CgroupLeaf("web") != "web" {
		t.Errorf("the default root keeps the plain name: %q", def.CgroupLeaf("web"))
	}
	la, lb := a.CgroupLeaf("web"), b.CgroupLeaf("web")
	if la == lb || la == "web" || !strings.HasPrefix(la, "web@") || len(la) != len("web@")+8 {
		t.Errorf("two roots, one name: %q and %q", la, lb)
	}
	if ValidID(la) == nil {
		t.Errorf("%q is a valid id: a box of the default root could take it", la)
	}
	if a.CgroupLeaf("web") != la {
		t.Error("not stable")
	}
}

func TestCgroupMarks(t *testing.T) {
	st := Store{Root: t.TempDir()}
	for _, rel := range []string{"/pbox/web", "/k8s/pod%1/c"} {
		if err := st.MarkCgroup("", rel); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.MarkedCgroups()
	if err != nil || strings.Join(got, " ") != "/k8s/pod%1/c /pbox/web" {
		t.Errorf("marked %q err %v", got, err)
	}
	st.UnmarkCgroup("/pbox/web")
	st.UnmarkCgroup("/k8s/pod%1/c")
	if got, _ := st.MarkedCgroups(); len(got) != 0 {
		t.Errorf("after unmark: %q", got)
	}
	if ids, _ := st.List(); len(ids) != 0 {
		t.Errorf("marks are not boxes: %v", ids)
	}
	var none *Store
	none.UnmarkCgroup("/x") // a box without marks: nothing to do, no panic
}
