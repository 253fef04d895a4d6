package seccomp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Choosing and compiling Docker's profile costs about 0.5 ms, too much
// for every start of a box, and its result depends only on the box's
// capabilities, the kernel (the profile has minimum kernel versions) and
// pbox itself. So the compiled default profile is kept in a cache
// directory (root's, inside pbox's state root) under a key made of those
// three, and a start reads ~10 KB instead of compiling.

// DefaultProgram is Default(caps) compiled, from dir when an earlier start
// of this pbox binary on this kernel compiled it (dir "" disables the
// cache). A cache that cannot be read or written is skipped, not an error.
func DefaultProgram(dir string, caps []string) (*Program, error) {
	key := cacheKey(caps)
	var file string
	if dir != "" && key != "" {
		h := fnv.New64a()
		h.Write([]byte(key))
		file = filepath.Join(dir, fmt.Sprintf("default-%016x.bpf", h.Sum64()))
		if p := readCache(file, key); p != nil {
			return p, nil
		}
	}
	prof, err := Default(caps)
	if err != nil {
		return nil, fmt.Errorf("Docker's default seccomp profile: %w", err)
	}
	p, err := Compile(prof)
	if err != nil {
		return nil, fmt.Errorf("Docker's default seccomp profile: %w", err)
	}
	if file != "" {
		writeCache(dir, file, key, p)
	}
	return p, nil
}

// cacheKey names what the compiled default profile depends on: this
// binary (device, inode, size, modification time), the kernel release
// and the capabilities. "" if the binary cannot be identified.
func cacheKey(caps []string) string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return ""
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	sorted := append([]string(nil), caps...)
	sort.Strings(sorted)
	return fmt.Sprintf("pbox-seccomp-default 1 exe=%d:%d:%d:%d.%d kernel=%s caps=%s",
		st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, unix.ByteSliceToString(u.Release[:]), strings.Join(sorted, ","))
}

// The cache file: the key, a newline, flags and rule count (4 bytes each),
// then the code.
func readCache(file, key string) *Program {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	head, rest, ok := bytes.Cut(data, []byte{'\n'})
	if !ok || string(head) != key || len(rest) < 8 || (len(rest)-8)%8 != 0 {
		return nil
	}
	return &Program{
		Flags: uint(binary.LittleEndian.Uint32(rest)),
		Rules: int(binary.LittleEndian.Uint32(rest[4:])),
		Code:  rest[8:],
	}
}

func writeCache(dir, file, key string, p *Program) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	data := append([]byte(key), '\n')
	data = binary.LittleEndian.AppendUint32(data, uint32(p.Flags))
	data = binary.LittleEndian.AppendUint32(data, uint32(p.Rules))
	data = append(data, p.Code...)
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}
