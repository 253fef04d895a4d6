package image

// The parts of the OCI image-spec (v1.1) that import reads, with the
// spec's JSON names. They are declared here rather than taken from
// github.com/opencontainers/image-spec because that package brings
// go-digest, whose package initialisation compiles regular expressions in
// every pbox process — the box's init and pbox exec included — though only
// `pbox rootfs import` reads an image (measured: 1.3 ms of each start on
// the development machine, the largest single package init).

// Config is what an imported image says about how to run it: its Env,
// Entrypoint and Cmd, WorkingDir and User (the image-spec's ImageConfig).
type Config struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Volumes      map[string]struct{} `json:"Volumes,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	ArgsEscaped  bool                `json:"ArgsEscaped,omitempty"`
}

// imageFile is an image's config blob; only its config is used.
type imageFile struct {
	Config Config `json:"config"`
}

// descriptor points at a blob by digest ("sha256:<hex>").
type descriptor struct {
	MediaType string    `json:"mediaType"`
	Digest    string    `json:"digest"`
	Size      int64     `json:"size"`
	Platform  *platform `json:"platform,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// imageIndex is index.json of an OCI image layout (or a nested index blob).
type imageIndex struct {
	Manifests []descriptor `json:"manifests"`
}

// manifest lists an image's config and layers.
type manifest struct {
	Config descriptor   `json:"config"`
	Layers []descriptor `json:"layers"`
}

// mediaTypeImageIndex is an index nested in an index.
const mediaTypeImageIndex = "application/vnd.oci.image.index.v1+json"
