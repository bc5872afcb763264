// Package lobby is the HTTP client of Game Lobby's internal API. RTM reads a
// game from it only for diagnostics, so the client is small and strict about
// time: a slow Lobby must never slow a start.
package lobby

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/galaxy/rtmanager/ports"
)

// DefaultTimeout is RTMANAGER_LOBBY_INTERNAL_TIMEOUT's default.
const DefaultTimeout = 2 * time.Second

// maxBody caps how much of a response is read; a game document is small.
const maxBody = 1 << 20

// Config configures the client (RTMANAGER_LOBBY_INTERNAL_BASE_URL, _TIMEOUT).
type Config struct {
	// BaseURL is Lobby's internal base URL, e.g. http://lobby:8095. Empty
	// disables the client.
	BaseURL string
	// Timeout bounds each call; zero means DefaultTimeout.
	Timeout time.Duration
}

// Client implements ports.LobbyClient.
type Client struct {
	base    string
	timeout time.Duration
	http    *http.Client
}

var _ ports.LobbyClient = (*Client)(nil)

// New returns the Lobby client, or a nil interface (and no error) when
// BaseURL is empty: the integration is optional and callers skip a nil
// client. A BaseURL that is not an absolute http(s) URL is an error.
func New(cfg Config) (ports.LobbyClient, error) {
	if cfg.BaseURL == "" {
		return nil, nil
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("lobby base URL %q: want an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Client{
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		timeout: cfg.Timeout,
		http:    &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}, nil
}

// GetGame returns Lobby's JSON document of the game. 404 is ports.ErrNotFound;
// a transport failure, a timeout or a 5xx wraps ports.ErrUnavailable.
func (c *Client) GetGame(ctx context.Context, gameID string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	endpoint := c.base + "/api/v1/internal/games/" + url.PathEscape(gameID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("lobby get game %s: %w", gameID, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lobby get game %s: %w: %w", gameID, ports.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("lobby get game %s: read body: %w: %w", gameID, ports.ErrUnavailable, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("lobby game %s: %w", gameID, ports.ErrNotFound)
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("lobby get game %s: %w: HTTP %d: %s", gameID, ports.ErrUnavailable, resp.StatusCode, snippet(body))
	default:
		return nil, fmt.Errorf("lobby get game %s: HTTP %d: %s", gameID, resp.StatusCode, snippet(body))
	}
	var game map[string]any
	if err := json.Unmarshal(body, &game); err != nil {
		return nil, fmt.Errorf("lobby get game %s: decode: %w", gameID, err)
	}
	if game == nil {
		return nil, fmt.Errorf("lobby get game %s: response is not a JSON object", gameID)
	}
	return game, nil
}

// snippet keeps error messages readable when Lobby answers with a page.
func snippet(b []byte) string {
	const n = 200
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
