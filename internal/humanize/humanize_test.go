package humanize

import "testing"

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{
		32 << 20: "32 MiB", 1 << 30: "1 GiB", 1536 << 20: "1.5 GiB", 100: "100 bytes", 4096: "4 KiB", 720896: "704 KiB",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
