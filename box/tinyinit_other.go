//go:build !amd64

package box

// tinyInit is empty where pbox carries no build of tinyinit/tinyinit.c:
// the Go init stays PID 1 (superviseLoop).
var tinyInit []byte
