package box

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// CreateRequest is a box `pbox create` sets up and leaves waiting for
// `pbox start`: what the OCI bundle says (Config, Options, and what the
// record keeps of it), and what the command line adds.
type CreateRequest struct {
	ID      string
	Config  Config
	Options Options // CgroupMode, Console, PreserveFDs, Log, ... as the caller set them
	// Record is what the state keeps of the bundle: Bundle, Annotations,
	// Rootfs, Poststart, Poststop.
	Record  Record
	PidFile string // --pid-file, written atomically once the box is created
}

// Create is the first transition: it claims the id, makes exec.fifo,
// records the box as creating, starts it (its init stops short of
// COMMAND, on exec.fifo) and records it as created. On any failure
// nothing is left: no state, no cgroup, no process — but a failed OCI
// hook (prestart, createRuntime, createContainer) runs the poststop
// hooks first, as the runtime-spec says (their failures go to warn).
func (s Store) Create(r CreateRequest, warn func(error)) error {
	lock, err := s.Claim(r.ID)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	ok := false
	defer func() {
		if !ok {
			s.Remove(r.ID)
		}
	}()
	fifo, err := s.StartFIFO(r.ID)
	if err != nil {
		return err
	}
	defer fifo.Close()

	opt := r.Options
	opt.State = &s
	opt.Detach = true // nobody in pbox waits for an OCI box: the engine's shim does
	opt.StartFIFO = fifo
	rec := r.Record
	rec.Kind = KindCreated
	rec.OCIVersion, rec.ID, rec.Status, rec.Created, rec.Monitor = OCIVersion, r.ID, StatusCreating, time.Now().UTC(), os.Getpid()
	if err := s.Write(&rec); err != nil {
		return err
	}
	b, err := Start(r.Config, opt)
	if err != nil {
		var se *SetupError
		if errors.As(err, &se) && se.HookFailed() {
			rec.Status = StatusStopped
			s.RunHooks("poststop", rec.Poststop, &rec, warn)
		}
		return err
	}
	b.Release()
	rec.Pid, rec.PidStart, rec.Status, rec.Monitor = b.Pid, b.PidStart, StatusCreated, 0
	rec.Config = r.Config
	rec.Config.Mounts = nil // done; the record stays small
	rec.Cgroup = b.Cgroup.Save()
	if err := s.Write(&rec); err != nil {
		s.DestroyCgroup(&rec)
		return err
	}
	if r.PidFile != "" {
		if err := WritePidFile(r.PidFile, b.Pid); err != nil {
			s.DestroyCgroup(&rec)
			return fmt.Errorf("--pid-file: %w", err)
		}
	}
	ok = true
	return nil
}

// WritePidFile writes pid atomically, as runc does: a reader never sees
// an empty or partial file.
func WritePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
