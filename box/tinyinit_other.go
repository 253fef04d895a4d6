//go:build !amd64 && !arm64

package box

// tinyInit is empty where pbox carries no build of tinyinit/tinyinit.c:
// there pbox refuses to start or join a box (run.go, exec.go) rather
// than build one from a multi-threaded Go process.
var tinyInit []byte
