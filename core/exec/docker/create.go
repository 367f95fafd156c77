package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	dc "github.com/ory/dockertest/v3/docker"
)

// deviceRequest is the Engine API's DeviceRequest (API 1.40+), which
// dockertest's HostConfig lacks.
type deviceRequest struct {
	Driver       string
	Count        int `json:",omitempty"`
	DeviceIDs    []string
	Capabilities [][]string
	Options      map[string]string `json:",omitempty"`
}

// GPURequest asks for exactly the GPU with this UUID, as
// `docker run --gpus device=UUID` does.
func GPURequest(uuid string) deviceRequest {
	return deviceRequest{Driver: "nvidia", DeviceIDs: []string{uuid}, Capabilities: [][]string{{"gpu"}}}
}

// createContainer is POST /containers/create with dockertest's own Config
// and HostConfig, plus HostConfig.DeviceRequests: the one field dockertest
// cannot send. It goes through dockertest's HTTP client, so the endpoint,
// TLS and socket handling are the same as for every other call.
func createContainer(ctx context.Context, client *dc.Client, name string, cfg *dc.Config, hc *dc.HostConfig, devices []deviceRequest) (string, error) {
	body, err := json.Marshal(struct {
		*dc.Config
		HostConfig struct {
			*dc.HostConfig
			DeviceRequests []deviceRequest `json:"DeviceRequests,omitempty"`
		}
	}{Config: cfg, HostConfig: struct {
		*dc.HostConfig
		DeviceRequests []deviceRequest `json:"DeviceRequests,omitempty"`
	}{hc, devices}})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, engineURL(client, "/containers/create?name="+url.QueryEscape(name)), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("docker: creating container %s: %v", name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		var e struct{ Message string }
		if json.Unmarshal(raw, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(raw))
		}
		if resp.StatusCode == http.StatusNotFound && strings.Contains(e.Message, "image") {
			return "", missingImage(cfg.Image, PullNever)
		}
		return "", fmt.Errorf("docker: creating container %s (image %s): %s (HTTP %d)", name, cfg.Image, e.Message, resp.StatusCode)
	}
	var out struct {
		ID string `json:"Id"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("docker: creating container %s: unreadable answer %q", name, raw)
	}
	return out.ID, nil
}

// engineURL is the URL of an API path on client's endpoint, as dockertest
// builds it: a unix socket's URL has a placeholder host, since the
// client's transport dials the socket whatever the address.
func engineURL(client *dc.Client, path string) string {
	u, err := url.Parse(client.Endpoint())
	if err != nil {
		return client.Endpoint() + path
	}
	switch u.Scheme {
	case "unix", "npipe":
		return "http://unix.sock" + path
	case "tcp":
		u.Scheme = "http"
		if client.TLSConfig != nil {
			u.Scheme = "https"
		}
	}
	return strings.TrimRight(u.String(), "/") + path
}
