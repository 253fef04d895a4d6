// Package oci is what pbox says to container engines in the OCI
// runtime-spec's own words: the config.json `pbox spec` writes (after
// `runc spec`) and the features `pbox features` reports (containerd
// reads them to know what it may ask).
//
// Reading a config.json and turning it into a box is not here: every
// door of pbox — create's bundle, run's flags (which become a config
// first), exec --process — goes through the one translator, box.Translate,
// which implements each field or refuses it by name (box.ErrUnsupported).
//
// Not for: building images or bundles (see pbox rootfs), or anything a
// container engine does above the runtime (networks, image pulls).
package oci
