// Package testutil holds what pbox's privileged and end-to-end tests share:
// the root gate that fails instead of skipping in CI, safe signalling, and
// checks that a box left nothing behind. Only tests import it.
package testutil
