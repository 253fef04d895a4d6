package box

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// pbox attach: a detached box started with -t or -i keeps its Go monitor
// (it does not hand over to the tiny one), because something must hold
// what the box reads and writes when nobody is attached: the pty's master
// (-t), whose output goes on to the box's log, or the write end of the
// box's stdin (-i). The monitor serves them on a unix socket in the box's
// state directory (root's alone, like the rest of it), one connection per
// pbox attach:
//
//	pbox attach                      monitor
//	-----------                      -------
//	                 ◀────────────   hello: tty? stdin?
//	keys, window size ────────────▶  to the pty (or the stdin pipe)
//	                 ◀────────────   output (a tty box's; a box without -t
//	                                 writes to its log, which attach follows)
//	                 ◀────────────   exit STATUS, once the box has ended
//
// Every message is a frame: a type byte, a 4-byte big-endian length, and
// that many bytes.

// AttachSocket is the socket's name in the box's state directory.
const AttachSocket = "attach.sock"

// The frame types.
const (
	FrameHello  = 'h' // monitor: flags (AttachTTY, AttachStdin)
	FrameOutput = 'o' // monitor: a tty box's output
	FrameExit   = 'x' // monitor: the exit status, 4 bytes
	FrameInput  = 'i' // attach: bytes for the box's stdin
	FrameEOF    = 'e' // attach: its stdin ended (closes a -i box's stdin pipe)
	FrameResize = 'w' // attach: rows and columns, 2 bytes each
)

// The hello frame's flags.
const (
	AttachTTY   = 1 << 0 // the box has a terminal: output and keys go through the socket
	AttachStdin = 1 << 1 // the box was started with -i: what attach sends reaches it
)

// maxFrame bounds a frame a peer may send: a terminal's worth of keys or
// output, never a reason to allocate much.
const maxFrame = 1 << 20

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, typ byte, payload []byte) error {
	hdr := [5]byte{typ}
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(append(hdr[:], payload...)); err != nil {
		return err
	}
	return nil
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("a frame of %d bytes: at most %d", n, maxFrame)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0], payload, nil
}

// SizePayload is a FrameResize's payload.
func SizePayload(rows, cols uint16) []byte {
	var p [4]byte
	binary.BigEndian.PutUint16(p[:], rows)
	binary.BigEndian.PutUint16(p[2:], cols)
	return p[:]
}

// ExitPayload reads a FrameExit's status.
func ExitPayload(p []byte) (int, bool) {
	if len(p) != 4 {
		return 0, false
	}
	return int(int32(binary.BigEndian.Uint32(p))), true
}

// attachServer is the monitor's side: it relays a tty box's output to the
// log and to every attached pbox, and their keys to the box.
type attachServer struct {
	ln    *net.UnixListener
	path  string
	flags byte
	// in receives what attach sends: the pty master, or the write end of
	// the box's stdin pipe; nil without -i.
	in     *os.File
	master *os.File // the pty, for window sizes; nil without -t

	mu      sync.Mutex
	clients map[net.Conn]bool
	relayed chan struct{} // closed once the tty's output has ended
}

// serveAttach starts serving box id's attach socket. master is the box's
// pty (nil without -t), stdin the write end of its stdin pipe (nil unless
// -i without -t), log where a tty box's output is kept (the monitor's
// stdout, the log writer's pipe).
func (s Store) serveAttach(id string, master, stdin *os.File, interactive bool, log io.Writer) (*attachServer, error) {
	path := s.Path(id, AttachSocket)
	os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("attach socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	a := &attachServer{ln: ln, path: path, master: master, clients: map[net.Conn]bool{}, relayed: make(chan struct{})}
	if master != nil {
		a.flags |= AttachTTY
		if interactive {
			a.in = master
		}
		go a.relay(log)
	} else {
		close(a.relayed)
		a.in = stdin
	}
	if a.in != nil {
		a.flags |= AttachStdin
	}
	go a.accept()
	return a, nil
}

// relay copies the tty's output to the log and to every attached pbox,
// until the pty has no writer left (EIO once the box's processes exit).
func (a *attachServer) relay(log io.Writer) {
	defer close(a.relayed)
	buf := make([]byte, 32<<10)
	for {
		n, err := a.master.Read(buf)
		if n > 0 {
			log.Write(buf[:n])
			a.broadcast(FrameOutput, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (a *attachServer) broadcast(typ byte, payload []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := range a.clients {
		// An attached pbox that stops reading (a suspended terminal) must
		// not stop the box's output to its log: it is dropped instead.
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if WriteFrame(c, typ, payload) != nil {
			c.Close()
			delete(a.clients, c)
		}
	}
}

func (a *attachServer) accept() {
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return // closed: the box has ended
		}
		a.mu.Lock()
		if a.clients == nil {
			a.mu.Unlock()
			c.Close()
			return
		}
		// The hello goes out before the connection joins the broadcast,
		// so it is always the first frame.
		WriteFrame(c, FrameHello, []byte{a.flags})
		a.clients[c] = true
		a.mu.Unlock()
		go a.serve(c)
	}
}

// serve reads one attached pbox's frames until it goes.
func (a *attachServer) serve(c net.Conn) {
	defer func() {
		a.mu.Lock()
		if a.clients[c] {
			delete(a.clients, c)
			c.Close()
		}
		a.mu.Unlock()
	}()
	for {
		typ, payload, err := ReadFrame(c)
		if err != nil {
			return
		}
		switch typ {
		case FrameInput:
			a.mu.Lock()
			in := a.in
			a.mu.Unlock()
			if in != nil {
				in.Write(payload)
			}
		case FrameEOF:
			// A pipe's reader sees the end of its input (cat ends); a
			// terminal has no such thing (Ctrl-D is a key, sent as one).
			if a.in != nil && a.master == nil {
				a.mu.Lock()
				a.in.Close()
				a.in = nil
				a.mu.Unlock()
			}
		case FrameResize:
			if a.master != nil && len(payload) == 4 {
				ws := unix.Winsize{Row: binary.BigEndian.Uint16(payload), Col: binary.BigEndian.Uint16(payload[2:])}
				unix.IoctlSetWinsize(int(a.master.Fd()), unix.TIOCSWINSZ, &ws)
			}
		}
	}
}

// finish tells every attached pbox the box's exit status, once the last
// of its output has gone out (at most a second after the box ended: a
// process the box left holding the pty keeps it open), and closes the
// socket.
func (a *attachServer) finish(status int) {
	select {
	case <-a.relayed:
	case <-time.After(time.Second):
	}
	a.ln.Close()
	var st [4]byte
	binary.BigEndian.PutUint32(st[:], uint32(int32(status)))
	a.broadcast(FrameExit, st[:])
	a.mu.Lock()
	for c := range a.clients {
		c.Close()
	}
	a.clients = nil
	a.mu.Unlock()
}

// RunMonitored is RunRecorded for a detached box's monitor: a box with a
// terminal (cfg.Terminal) or an open stdin (interactive) is served to
// pbox attach, and its monitor stays; any other is handed to the tiny
// monitor once it runs.
func (s Store) RunMonitored(cfg Config, opt Options, interactive, remove bool, started func(*Box) error) (Result, error) {
	if !cfg.Terminal && !interactive {
		return s.RunRecorded(cfg, opt, true, remove, started)
	}
	var console *Console
	var stdinR, stdinW *os.File
	var err error
	if cfg.Terminal {
		if console, err = NewConsole(); err != nil {
			return Result{}, &SetupError{Step: "terminal", Err: err.Error(), Code: StatusSetupFailed}
		}
		defer console.Close()
		opt.Console = console.Init
	} else {
		if stdinR, stdinW, err = os.Pipe(); err != nil {
			return Result{}, &SetupError{Step: "stdin", Err: err.Error(), Code: StatusSetupFailed}
		}
		defer stdinR.Close()
		opt.Stdio[0] = stdinR
	}
	opt.keepGoMonitor = true
	var server *attachServer
	res, err := s.RunRecorded(cfg, opt, true, remove, func(b *Box) error {
		var master *os.File
		if console != nil {
			m, err := console.Master()
			if err != nil {
				return &SetupError{Step: "terminal", Err: err.Error(), Code: StatusSetupFailed}
			}
			master = m
		} else {
			stdinR.Close() // the box has its copy
		}
		sv, err := s.serveAttach(cfg.Name, master, stdinW, interactive, os.Stdout)
		if err != nil {
			if master != nil {
				master.Close()
			}
			return &SetupError{Step: "attach", Err: err.Error(), Code: StatusSetupFailed}
		}
		server = sv
		return started(b)
	})
	if server != nil {
		server.finish(res.Status)
		if server.master != nil {
			server.master.Close()
		}
	}
	if stdinW != nil {
		stdinW.Close()
	}
	return res, err
}

// DialAttach connects to box id's attach socket. ErrNotAttachable if the
// box has none (it was started without -i and -t, or in the foreground).
func (s Store) DialAttach(id string) (net.Conn, error) {
	c, err := net.Dial("unix", s.Path(id, AttachSocket))
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED) {
		return nil, ErrNotAttachable
	}
	return c, err
}

// ErrNotAttachable: the box has no attach socket.
var ErrNotAttachable = errors.New("the box has no terminal or stdin to attach to")
