package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/pbox-dev/pbox/box"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// newAttachCommand is docker attach: connect this terminal to a detached
// box's terminal (run -dit) or stdin (run -di), or follow its output.
func newAttachCommand() *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "connect your terminal to a detached box's (pbox run -dit), or follow its output",
		ArgsUsage: "ID",
		Description: `A box started with -dit gets your keystrokes and shows its screen; one
	started with -di gets your stdin (its end closes the box's stdin). Any other
	detached box's output is followed from now, as 'pbox logs -f --since 0s'.
	Leave with Ctrl-P Ctrl-Q (--detach-keys), and the box goes on; without -i,
	Ctrl-C leaves too. Once the box ends, attach exits with its exit status.

	example: sudo pbox run -dit --name shell --rootfs R -- sh; sudo pbox attach shell`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "detach-keys", Value: "ctrl-p,ctrl-q", Usage: "the keys that leave the box running: a comma-separated list of ctrl-LETTER, ctrl-@, ctrl-[ ... ctrl-_, or single characters"},
			&cli.BoolFlag{Name: "no-stdin", Usage: "only watch: send nothing to the box"},
		},
		Action: attachAction,
	}
}

func attachAction(c *cli.Context) error {
	keys, err := parseDetachKeys(c.String("detach-keys"))
	if err != nil {
		return fail(statusUsage, "attach: --detach-keys %v", err)
	}
	h, err := lookBox(c)
	if err != nil {
		return err
	}
	st, id := h.Store, h.ID()
	// "From now" is before anything is sent: a -di box's answer to our
	// first line may reach its log before the follow below begins.
	since := time.Now()
	if h.Record.Kind != box.KindDetached {
		return fail(statusFailed, "attach: box %s was not started with 'pbox run -d': it is attached to the terminal that started it", id)
	}
	if st.Finished(h.Record) {
		return fail(statusFailed, "attach: box %s has %s: nothing to attach to; see what it wrote with 'pbox logs %s'", id, stoppedText(h.Record), id)
	}
	conn, err := st.DialAttach(id)
	if errors.Is(err, box.ErrNotAttachable) {
		return followOutput(c, st, id, since, nil)
	}
	if err != nil {
		return fail(statusFailed, "attach: %v", err)
	}
	defer conn.Close()
	typ, hello, err := box.ReadFrame(conn)
	if err != nil || typ != box.FrameHello || len(hello) != 1 {
		// The box ended as we connected.
		return followOutput(c, st, id, since, nil)
	}
	tty, stdin := hello[0]&box.AttachTTY != 0, hello[0]&box.AttachStdin != 0 && !c.Bool("no-stdin")
	if !tty {
		// Its output goes to its log: follow that, and send stdin.
		detached := make(chan struct{})
		if stdin {
			go func() {
				if sendInput(conn, keys) {
					close(detached)
				}
			}()
		}
		exit := make(chan int, 1)
		go func() {
			if status, err := readUntilExit(conn, io.Discard); err == nil {
				exit <- status
			}
		}()
		followed := make(chan error, 1)
		go func() { followed <- followOutput(c, st, id, since, exit) }()
		select {
		case err := <-followed:
			return err
		case <-detached:
			fmt.Fprintf(c.App.ErrWriter, "pbox: attach: left box %s running (detach keys)\n", id)
			return nil
		}
	}
	restore := func() {}
	if stdin && isTerminal(os.Stdin) {
		if old, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			restore = func() { term.Restore(int(os.Stdin.Fd()), old) }
		}
	}
	defer restore()
	if isTerminal(os.Stdin) {
		sendSize(conn)
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, unix.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				sendSize(conn)
			}
		}()
	}
	detached := make(chan struct{})
	if stdin {
		go func() {
			if sendInput(conn, keys) {
				close(detached)
				conn.Close()
			}
		}()
	}
	status, err := readUntilExit(conn, c.App.Writer)
	select {
	case <-detached:
		restore()
		fmt.Fprintf(c.App.ErrWriter, "\r\npbox: attach: left box %s running (detach keys)\n", id)
		return nil
	default:
	}
	restore()
	if err != nil {
		return fail(statusFailed, "attach: box %s: %v", id, err)
	}
	if status != 0 {
		return &exitError{code: status}
	}
	return nil
}

// readUntilExit copies the monitor's output frames to out until its exit
// frame, and returns the status in it.
func readUntilExit(conn net.Conn, out io.Writer) (int, error) {
	for {
		typ, payload, err := box.ReadFrame(conn)
		if err != nil {
			return 0, fmt.Errorf("its monitor went away before the box ended: %v", err)
		}
		switch typ {
		case box.FrameOutput:
			out.Write(payload)
		case box.FrameExit:
			status, ok := box.ExitPayload(payload)
			if !ok {
				return 0, errors.New("its monitor sent a malformed exit status")
			}
			return status, nil
		}
	}
}

// sendInput sends stdin to the box until it ends (an EOF frame then), or
// until the detach keys are typed (it reports true). Keys that begin the
// sequence are held back until it is clear they do not complete it.
func sendInput(conn net.Conn, keys []byte) bool {
	buf := make([]byte, 4096)
	var held []byte
	for {
		n, err := os.Stdin.Read(buf)
		if n > 0 {
			var out []byte
			for _, b := range buf[:n] {
				held = append(held, b)
				switch {
				case bytes.Equal(held, keys):
					return true
				case bytes.HasPrefix(keys, held):
					continue
				}
				out = append(out, held...)
				held = held[:0]
			}
			if len(out) > 0 && box.WriteFrame(conn, box.FrameInput, out) != nil {
				return false
			}
		}
		if err != nil {
			if len(held) > 0 {
				box.WriteFrame(conn, box.FrameInput, held)
			}
			box.WriteFrame(conn, box.FrameEOF, nil)
			return false
		}
	}
}

// sendSize tells the monitor this terminal's size, for the box's pty.
func sendSize(conn net.Conn) {
	ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row == 0 {
		return
	}
	box.WriteFrame(conn, box.FrameResize, box.SizePayload(ws.Row, ws.Col))
}

// followOutput is attach to a box whose output goes to its log: what it
// writes from since on, until it ends; then its exit status, from exit if its
// monitor sends it there (a -di box's does), else from its state.
func followOutput(c *cli.Context, st box.Store, id string, since time.Time, exit <-chan int) error {
	req := box.LogsRequest{Tail: -1, Follow: true, Since: since}
	if err := st.Logs(id, req, c.App.Writer, c.App.ErrWriter); err != nil {
		return fail(statusFailed, "attach: %v", err)
	}
	if exit != nil {
		select {
		case status := <-exit:
			if status != 0 {
				return &exitError{code: status}
			}
			return nil
		case <-time.After(time.Second):
		}
	}
	rec, err := st.Read(id)
	if err != nil {
		return fail(statusFailed, "attach: box %s was removed as it ended (pbox run --rm): its exit status is gone", id)
	}
	if rec.Exit == nil {
		return fail(statusFailed, "attach: box %s %s", id, stoppedText(rec))
	}
	if rec.Exit.Status != 0 {
		return &exitError{code: rec.Exit.Status}
	}
	return nil
}

// parseDetachKeys reads docker's --detach-keys: ctrl-p,ctrl-q.
func parseDetachKeys(v string) ([]byte, error) {
	var keys []byte
	for _, k := range strings.Split(v, ",") {
		switch {
		case len(k) == 1:
			keys = append(keys, k[0])
		case len(k) == 6 && strings.HasPrefix(strings.ToLower(k), "ctrl-"):
			ch := k[5]
			switch {
			case ch >= 'a' && ch <= 'z':
				keys = append(keys, ch-'a'+1)
			case ch >= '@' && ch <= '_':
				keys = append(keys, ch-'@')
			default:
				return nil, fmt.Errorf("%q: ctrl- takes a letter or one of @[\\]^_", k)
			}
		default:
			return nil, fmt.Errorf("%q: give ctrl-LETTER or one character, comma-separated (ctrl-p,ctrl-q)", k)
		}
	}
	return keys, nil
}
