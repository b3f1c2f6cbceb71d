package config_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/config"
)

func TestNotifyConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    config.Notify
		wantErr []string // substrings of the error; nil = valid
	}{
		{name: "defaults", want: config.Notify{Heartbeat: 25 * time.Second, WriteTimeout: 10 * time.Second, Retry: 2 * time.Second, MaxPerUser: 5, MaxStreams: 10_000}},
		{
			name: "environment",
			env:  map[string]string{"CRM_MCP_SSE_HEARTBEAT": "50ms", "CRM_MCP_SSE_WRITE_TIMEOUT": "1s", "CRM_MCP_SSE_RETRY": "3s", "CRM_MCP_SSE_MAX_PER_USER": "2", "CRM_MCP_SSE_MAX_STREAMS": "7"},
			want: config.Notify{Heartbeat: 50 * time.Millisecond, WriteTimeout: time.Second, Retry: 3 * time.Second, MaxPerUser: 2, MaxStreams: 7},
		},
		{
			name: "flags win",
			env:  map[string]string{"CRM_MCP_SSE_MAX_PER_USER": "2"},
			args: []string{"-sse-max-per-user", "9", "-sse-heartbeat", "20s"},
			want: config.Notify{Heartbeat: 20 * time.Second, WriteTimeout: 10 * time.Second, Retry: 2 * time.Second, MaxPerUser: 9, MaxStreams: 10_000},
		},
		{
			name:    "every problem reported",
			env:     map[string]string{"CRM_MCP_SSE_HEARTBEAT": "1ms", "CRM_MCP_SSE_WRITE_TIMEOUT": "soon", "CRM_MCP_SSE_MAX_PER_USER": "0", "CRM_MCP_SSE_MAX_STREAMS": "2000000", "CRM_MCP_SSE_RETRY": "1h"},
			wantErr: []string{"CRM_MCP_SSE_HEARTBEAT: 1ms", "CRM_MCP_SSE_WRITE_TIMEOUT: \"soon\"", "CRM_MCP_SSE_MAX_PER_USER: 0", "CRM_MCP_SSE_MAX_STREAMS: 2000000", "CRM_MCP_SSE_RETRY: 1h"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(tt.args, env(tt.env), io.Discard)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("Load accepted invalid notification settings")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not mention %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Notify != tt.want {
				t.Errorf("Notify = %+v, want %+v", c.Notify, tt.want)
			}
		})
	}
}
