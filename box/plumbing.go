package box

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The small pieces of plumbing between pbox processes and engines: the
// start FIFO of an OCI box, the console socket. (detach.go is the
// run -d monitor's pipe.)

// StartFIFO makes box id's exec.fifo and opens it for reading and
// writing (so that opening never blocks): the init waits on it for one
// byte, which `pbox start` (Handle.Start) writes.
func (s Store) StartFIFO(id string) (*os.File, error) {
	path := s.Path(id, "exec.fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("mkfifo %s: %w", path, err)
	}
	return os.OpenFile(path, os.O_RDWR, 0)
}

// DialUnix connects to a unix socket (an engine's --console-socket), with
// plain system calls: what is wanted is the descriptor itself, to pass on.
func DialUnix(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Console is the pair of sockets through which a box's init hands over
// the master of COMMAND's new pty (cfg.Terminal): Init goes in
// Options.Console, and Master receives what the init sends.
type Console struct {
	Init *os.File
	own  *os.File
}

// NewConsole makes a Console.
func NewConsole() (*Console, error) {
	own, init, err := socketPair("console")
	if err != nil {
		return nil, err
	}
	return &Console{Init: init, own: own}, nil
}

// Master waits for the pty master the init sends (once COMMAND's terminal
// exists; Run's started callback is a safe place to call it).
func (c *Console) Master() (*os.File, error) { return recvFD(c.own) }

// Close closes both ends.
func (c *Console) Close() {
	c.Init.Close()
	c.own.Close()
}
