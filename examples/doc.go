// Package examples holds the lab: runnable experiments, one directory
// each, with a README, a run.sh and the expected shape of its output.
// There is no Go code here but the test that runs every experiment as a
// user would (as root, with pbox on PATH) and checks its output against
// the experiment's `expected` patterns, so the lab cannot rot.
package examples

// The pictures the READMEs show, drawn by the experiments themselves.
//go:generate sh gen-pictures.sh
