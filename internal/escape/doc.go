// Package escape makes strings a box chose safe to print on a terminal.
// A process in a box names itself (comm, argv), its hostname and its
// paths; printed raw, "\x1b]0;...\a" retitles the operator's terminal,
// "\x1b[2J" clears it and a carriage return hides what came before. As
// procps does for a process's name, every control character becomes '?'.
//
// Not for JSON or SVG output: their encoders escape these already, and a
// program reading them wants the real bytes.
package escape
