package box

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	units "github.com/docker/go-units"
	"golang.org/x/sys/unix"
)

// A detached box's output is written by pbox, not by the box (Docker's
// and conmon's way): the box's stdout and stderr are pipes, and the log
// writer — the "pbox-logger" mode of the tiny program (tinyinit.c),
// started by pbox run -d in pbox's own cgroup before the box exists —
// copies them into LogName in the box's state directory, in the CRI log
// format, rotated by size. The box never holds the file: it cannot
// truncate it, seek it to a terabyte or fill the state root's tmpfs, and
// the log's pages are not charged to the box's memory limit.

// LogName is a detached box's log file in its state directory; rotated
// files are LogName.1 (the newest) to LogName.N.
const LogName = "output.log"

// LogOptions are the log's limits (pbox run --log-opt).
type LogOptions struct {
	MaxSize  int64 // bytes in one file before it is rotated
	MaxFiles int   // files kept, the current one included
}

// DefaultLogOptions are Docker's local log driver's: 20 MiB x 5.
var DefaultLogOptions = LogOptions{MaxSize: 20 << 20, MaxFiles: 5}

// ParseLogOptions reads --log-opt KEY=VALUE settings: max-size (a size,
// as docker's: 10m, 1g) and max-file (a count of files).
func ParseLogOptions(opts []string) (LogOptions, error) {
	o := DefaultLogOptions
	for _, kv := range opts {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return o, fmt.Errorf("--log-opt %q: give KEY=VALUE (max-size=20m, max-file=5)", kv)
		case k == "max-size":
			n, err := units.RAMInBytes(v)
			if err != nil || n < 4096 {
				return o, fmt.Errorf("--log-opt max-size=%s: give a size of at least 4k (e.g. 20m)", v)
			}
			o.MaxSize = n
		case k == "max-file":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return o, fmt.Errorf("--log-opt max-file=%s: give a number of files from 1 to 100", v)
			}
			o.MaxFiles = n
		default:
			return o, fmt.Errorf("--log-opt %q: unknown option (known: max-size, max-file)", k)
		}
	}
	return o, nil
}

// StartLogger starts box id's log writer and returns the write ends of
// the box's stdout and stderr pipes: the monitor gets them as its own
// stdout and stderr, and the box inherits them. The writer ends when
// every process holding them has.
func (s Store) StartLogger(id string, o LogOptions) (stdout, stderr *os.File, err error) {
	if len(tinyInit) == 0 {
		return nil, nil, errors.New("pbox run -d needs pbox's log writer (box/tinyinit), which this build of pbox does not carry for this architecture")
	}
	dir, err := os.Open(s.Path(id, ""))
	if err != nil {
		return nil, nil, err
	}
	defer dir.Close()
	program, err := tinyInitMemfd()
	if err != nil {
		return nil, nil, err
	}
	defer program.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return nil, nil, err
	}
	defer errR.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		outW.Close()
		errW.Close()
		return nil, nil, err
	}
	defer null.Close()
	// The writer holds this lock for its whole life (pbox logs -f reads
	// to the end once it is free); taken here, so it is held before the
	// box can start.
	lock, err := os.OpenFile(s.Path(id, LogName+".lock"), os.O_CREATE|os.O_RDONLY, 0o600)
	if err == nil {
		defer lock.Close()
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		outW.Close()
		errW.Close()
		return nil, nil, fmt.Errorf("lock the log: %w", err)
	}
	// fds: 0-2 /dev/null, 3 stdout pipe, 4 stderr pipe, 5 the state
	// directory, 6 the program, 7 the lock.
	cmd := exec.Command("/proc/self/fd/6", "5", LogName, strconv.FormatInt(o.MaxSize, 10), strconv.Itoa(o.MaxFiles))
	cmd.Args[0] = "pbox-logger"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{outR, errR, dir, program, lock}
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		outW.Close()
		errW.Close()
		return nil, nil, fmt.Errorf("start the log writer: %w", err)
	}
	cmd.Process.Release()
	return outW, errW, nil
}

// logRecord is one line of a log file: "TIME STREAM F|P DATA".
type logRecord struct {
	time    string
	stderr  bool
	partial bool
	data    []byte
}

// parseLogRecord reads one line of a log file (without its newline).
func parseLogRecord(line []byte) (logRecord, bool) {
	f := bytes.SplitN(line, []byte(" "), 4)
	if len(f) < 3 || (len(f[2]) != 1) {
		return logRecord{}, false
	}
	r := logRecord{time: string(f[0]), stderr: string(f[1]) == "stderr", partial: f[2][0] == 'P'}
	if len(f) == 4 {
		r.data = f[3]
	}
	return r, true
}

// write gives the record's bytes back as the box wrote them.
func (r logRecord) write(stdout, stderr io.Writer) {
	w := stdout
	if r.stderr {
		w = stderr
	}
	w.Write(r.data)
	if !r.partial {
		w.Write([]byte{'\n'})
	}
}

// logFiles are box id's log files, oldest first: LogName.N ... LogName.1,
// then LogName.
func (s Store) logFiles(id string) []string {
	ents, _ := os.ReadDir(s.Path(id, ""))
	var rotated []int
	for _, e := range ents {
		if n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), LogName+".")); err == nil && n > 0 && strings.HasPrefix(e.Name(), LogName+".") {
			rotated = append(rotated, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(rotated)))
	var files []string
	for _, n := range rotated {
		files = append(files, s.Path(id, fmt.Sprintf("%s.%d", LogName, n)))
	}
	return append(files, s.Path(id, LogName))
}

// LogsRequest is what pbox logs asked for.
type LogsRequest struct {
	Tail   int  // only the last Tail lines; -1: all
	Follow bool // then wait for more until the box has stopped
	// Timestamps prefixes each line with the time the log writer read it
	// (RFC 3339, nanoseconds, UTC), as docker logs -t.
	Timestamps bool
	// Since and Until keep only the lines written in [Since, Until]; zero
	// leaves that end open.
	Since, Until time.Time
}

// ParseLogTime reads --since/--until as docker logs does: an RFC 3339
// time (2026-12-05T10:00:00Z, or without zone: UTC), a date, Unix
// seconds, or a duration before now (10m, 1h30m).
func ParseLogTime(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Unix(0, int64(secs*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q: give a time (2026-12-05T10:00:00Z, 2026-12-05), Unix seconds, or a duration before now (10m)", v)
}

// keeps reports whether a record written at stamp is in [Since, Until].
func (req LogsRequest) keeps(stamp string) bool {
	if req.Since.IsZero() && req.Until.IsZero() {
		return true
	}
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return false
	}
	return (req.Since.IsZero() || !t.Before(req.Since)) && (req.Until.IsZero() || !t.After(req.Until))
}

// Logs writes what detached box id wrote, its stdout to stdout and its
// stderr to stderr. It reads only what the log writer wrote (at most
// max-size x max-file bytes), so its time is bounded whatever the box
// did. With Follow it returns once the box has stopped and its log is
// complete.
func (s Store) Logs(id string, req LogsRequest, stdout, stderr io.Writer) error {
	files := s.logFiles(id)
	flush := func(w io.Writer) {
		if f, ok := w.(interface{ Flush() error }); ok {
			f.Flush()
		}
	}
	// Buffered writers keep the order of the two streams only if the one
	// written last is flushed before the other is written to.
	lastErr := false
	midLine := [2]bool{} // per stream: a partial record began the line
	write := func(r logRecord) {
		if r.stderr != lastErr {
			if lastErr {
				flush(stderr)
			} else {
				flush(stdout)
			}
			lastErr = r.stderr
		}
		stream := 0
		if r.stderr {
			stream = 1
		}
		if req.Timestamps && !midLine[stream] {
			w := stdout
			if r.stderr {
				w = stderr
			}
			io.WriteString(w, r.time+" ")
		}
		midLine[stream] = r.partial
		r.write(stdout, stderr)
	}
	var tail [][]logRecord // the last lines, with Tail
	var line []logRecord
	emit := func(r logRecord) {
		if !req.keeps(r.time) {
			return
		}
		if req.Tail < 0 {
			write(r)
			return
		}
		r.data = bytes.Clone(r.data) // it was the reader's buffer
		line = append(line, r)
		if !r.partial {
			tail = append(tail, line)
			line = nil
			if len(tail) > req.Tail {
				tail = tail[1:]
			}
		}
	}
	var current *os.File
	var rest []byte
	for i, p := range files {
		f, err := os.Open(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // rotated meanwhile, or nothing written yet
			}
			return err
		}
		rest, err = readRecords(f, rest[:0], emit)
		if i == len(files)-1 {
			current = f
		} else {
			f.Close()
		}
		if err != nil {
			return err
		}
	}
	if req.Tail >= 0 {
		if len(line) > 0 {
			tail = append(tail, line)
		}
		if len(tail) > req.Tail {
			tail = tail[len(tail)-req.Tail:]
		}
		for _, l := range tail {
			for _, r := range l {
				write(r)
			}
		}
		req.Tail = -1 // from here on every record is written as it comes
	}
	if current != nil {
		defer func() { current.Close() }()
	}
	for req.Follow {
		flush(stdout)
		flush(stderr)
		done := false
		if rec, err := s.Read(id); err != nil {
			done = true // removed meanwhile
		} else if s.Finished(rec) && !s.loggerRunning(id) {
			done = true
		}
		// Rotated: finish the old file, go on with the new one.
		if current != nil {
			var a, b unix.Stat_t
			if unix.Fstat(int(current.Fd()), &a) == nil && unix.Stat(s.Path(id, LogName), &b) == nil && a.Ino != b.Ino {
				rest, _ = readRecords(current, rest, emit)
				current.Close()
				current, rest = nil, rest[:0]
			}
		}
		if current == nil {
			if f, err := os.Open(s.Path(id, LogName)); err == nil {
				current = f
			}
		}
		if current != nil {
			rest, _ = readRecords(current, rest, emit)
		}
		if done {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	flush(stdout)
	flush(stderr)
	return nil
}

// readRecords reads whole lines from f, from where it was, and emits
// their records; an unfinished line (the writer's next write completes
// it) is returned to be continued.
func readRecords(f *os.File, rest []byte, emit func(logRecord)) ([]byte, error) {
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		chunk, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			rest = append(rest, chunk...)
			continue
		}
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			whole := chunk[:len(chunk)-1]
			if len(rest) > 0 {
				whole = append(rest, whole...)
				rest = rest[:0]
			}
			if rec, ok := parseLogRecord(whole); ok {
				emit(rec)
			}
			continue
		}
		rest = append(rest, chunk...)
		if err == io.EOF {
			return rest, nil
		}
		if err != nil {
			return rest, err
		}
	}
}

// loggerRunning reports whether box id's log writer still runs: it holds
// an exclusive flock on LogName.lock, taken by pbox before the writer
// started, for as long as it lives.
func (s Store) loggerRunning(id string) bool {
	f, err := os.Open(s.Path(id, LogName+".lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == unix.EWOULDBLOCK
}
