package seccomp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Compiling a profile costs about 0.15 ms (Docker's default one), too
// much for every start of a box, and its result depends only on the
// profile and on pbox itself. So compiled profiles are kept in a cache
// directory (root's, inside pbox's state root) under a key made of the
// two: the profile's SHA-256 and this binary's identity. A start then
// hashes the profile (~10 µs) and reads ~10 KB.
// The key holds the whole profile's hash, so a pbox run's default profile
// and an engine's config.json that sends the same profile share a file.

// CompileCached is Compile(s), from dir when an earlier start of this
// pbox binary compiled the same profile (dir "" disables the cache). A
// cache that cannot be read or written is skipped, not an error.
func CompileCached(dir string, s *specs.LinuxSeccomp) (*Program, error) {
	key := cacheKey(s)
	var file string
	if dir != "" && key != "" {
		h := fnv.New64a()
		h.Write([]byte(key))
		file = filepath.Join(dir, fmt.Sprintf("profile-%016x.bpf", h.Sum64()))
		if p := readCache(file, key); p != nil {
			return p, nil
		}
	}
	p, err := Compile(s)
	if err != nil {
		return nil, err
	}
	if file != "" {
		writeCache(dir, file, key, p)
	}
	return p, nil
}

// cacheKey names what a compiled profile depends on: this binary
// (device, inode, size, modification time) and the profile. "" if the
// binary cannot be identified.
func cacheKey(s *specs.LinuxSeccomp) string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return ""
	}
	return fmt.Sprintf("pbox-seccomp 2 exe=%d:%d:%d:%d.%d profile=%x",
		st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, profileDigest(s))
}

// profileDigest is a SHA-256 of every field of a profile, written one by
// one with their lengths (so no two profiles write the same bytes), not
// through encoding/json, whose first use costs ~0.2 ms in a fresh
// process. TestProfileDigestCoversEveryField fails when the runtime-spec
// adds a field this does not write.
func profileDigest(s *specs.LinuxSeccomp) [sha256.Size]byte {
	h := sha256.New()
	var buf [8]byte
	num := func(n uint64) {
		binary.LittleEndian.PutUint64(buf[:], n)
		h.Write(buf[:])
	}
	str := func(v string) {
		num(uint64(len(v)))
		h.Write([]byte(v))
	}
	opt := func(p *uint) {
		if p == nil {
			num(0)
			return
		}
		num(1)
		num(uint64(*p))
	}
	str(string(s.DefaultAction))
	opt(s.DefaultErrnoRet)
	num(uint64(len(s.Architectures)))
	for _, a := range s.Architectures {
		str(string(a))
	}
	num(uint64(len(s.Flags)))
	for _, f := range s.Flags {
		str(string(f))
	}
	str(s.ListenerPath)
	str(s.ListenerMetadata)
	num(uint64(len(s.Syscalls)))
	for _, sc := range s.Syscalls {
		num(uint64(len(sc.Names)))
		for _, n := range sc.Names {
			str(n)
		}
		str(string(sc.Action))
		opt(sc.ErrnoRet)
		num(uint64(len(sc.Args)))
		for _, a := range sc.Args {
			num(uint64(a.Index))
			num(a.Value)
			num(a.ValueTwo)
			str(string(a.Op))
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
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
