package box

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The log files as the writer (tinyinit.c's logger) lays them out: the
// oldest in LogName.2, then .1, then LogName; stdout and stderr apart;
// P records are pieces of a line.
func TestLogsReadBackWhatTheBoxWrote(t *testing.T) {
	s := Store{Root: t.TempDir()}
	id := "web"
	os.MkdirAll(s.Path(id, ""), 0o700)
	files := map[string]string{
		LogName + ".2": "T1 stdout F one\nT1 stderr F err one\n",
		LogName + ".1": "T2 stdout P tw\nT2 stdout F o\nT2 stdout F three\n",
		LogName:        "T3 stderr F err two\nT3 stdout F four\nT3 stdout P no newline\n",
	}
	for name, data := range files {
		os.WriteFile(filepath.Join(s.Path(id, ""), name), []byte(data), 0o600)
	}
	for _, tt := range []struct {
		tail           int
		stdout, stderr string
	}{
		{-1, "one\ntwo\nthree\nfour\nno newline", "err one\nerr two\n"},
		{2, "four\nno newline", ""},
		{3, "four\nno newline", "err two\n"},
		{5, "two\nthree\nfour\nno newline", "err two\n"},
		{0, "", ""},
		{100, "one\ntwo\nthree\nfour\nno newline", "err one\nerr two\n"},
	} {
		var out, errw bytes.Buffer
		if err := s.Logs(id, LogsRequest{Tail: tt.tail}, &out, &errw); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.stdout || errw.String() != tt.stderr {
			t.Errorf("tail %d: stdout %q stderr %q; want %q and %q", tt.tail, out.String(), errw.String(), tt.stdout, tt.stderr)
		}
	}
}

// A line the writer has not finished (no newline yet) is left for later,
// and a line that is not a record is skipped, not printed raw.
func TestLogsSkipWhatIsNotARecord(t *testing.T) {
	s := Store{Root: t.TempDir()}
	id := "web"
	os.MkdirAll(s.Path(id, ""), 0o700)
	os.WriteFile(s.Path(id, LogName), []byte("garbage\nT stdout F ok\n"+strings.Repeat("x", 200000)+"\nT stdout F still\nT stdout F half"), 0o600)
	var out, errw bytes.Buffer
	if err := s.Logs(id, LogsRequest{Tail: -1}, &out, &errw); err != nil {
		t.Fatal(err)
	}
	if out.String() != "ok\nstill\n" || errw.Len() != 0 {
		t.Errorf("stdout %q stderr %q", out.String(), errw.String())
	}
}

func TestParseLogOptions(t *testing.T) {
	o, err := ParseLogOptions([]string{"max-size=1m", "max-file=3"})
	if err != nil || o.MaxSize != 1<<20 || o.MaxFiles != 3 {
		t.Errorf("%+v %v", o, err)
	}
	if o, _ := ParseLogOptions(nil); o != DefaultLogOptions || o.MaxSize != 20<<20 || o.MaxFiles != 5 {
		t.Errorf("defaults: %+v", o)
	}
	for _, bad := range []string{"max-size", "max-size=1", "max-size=x", "max-file=0", "max-file=x", "mode=non-blocking"} {
		if _, err := ParseLogOptions([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
