package agent

import (
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/stretchr/testify/assert"
)

func TestReadOnlyRefusal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int64
		headers network.Headers
		want    bool
	}{
		{"405 allowing only reads", http.StatusMethodNotAllowed, network.Headers{"Allow": "GET, HEAD"}, true},
		{"the header in lower case", http.StatusMethodNotAllowed, network.Headers{"allow": "GET"}, true},
		{"405 allowing a change", http.StatusMethodNotAllowed, network.Headers{"Allow": "GET, POST"}, false},
		{"405 without Allow", http.StatusMethodNotAllowed, network.Headers{}, false},
		{"405 with an empty Allow", http.StatusMethodNotAllowed, network.Headers{"Allow": ""}, false},
		{"another status", http.StatusConflict, network.Headers{"Allow": "GET, HEAD"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, readOnlyRefusal(tc.status, tc.headers))
		})
	}
}
