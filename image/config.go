package image

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
)

// ConfigPath is where Import keeps the image's config: next to DIR, as
// DIR.image.json (out of the box's sight, as the image's own files are
// not).
func ConfigPath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return abs + ".image.json"
}

// SaveConfig writes an image's config next to its rootfs.
func SaveConfig(dir string, c Config) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(ConfigPath(dir), append(data, '\n'), 0o644)
}

// LoadConfig reads the config Import kept for the rootfs in dir; nil, nil
// if there is none (a rootfs made another way).
func LoadConfig(dir string) (*Config, error) {
	data, err := os.ReadFile(ConfigPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
