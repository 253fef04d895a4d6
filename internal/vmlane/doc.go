// Package vmlane holds no code, only the cgroup v2 test lane: a test that
// builds pbox and its test binaries statically and runs them inside a
// throw-away pure cgroup v2 VM (../shared/vm/vm-run), because the
// development and CI hosts are cgroup v1/v2 hybrids and most users run v2.
package vmlane
