package jobs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestQuieter: River's info goes to debug, its warnings and errors stay; whether a line
// shows is the log level's word, as for any other.
func TestQuieter(t *testing.T) {
	levels := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}
	for _, floor := range levels {
		for _, level := range levels {
			var out bytes.Buffer
			log := slog.New(quieter{slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: floor})}).With("client", "c1")
			log.Log(context.Background(), level, "news")
			want := level
			if level == slog.LevelInfo {
				want = slog.LevelDebug
			}
			shown := want >= floor
			if got := out.String(); shown != (got != "") || shown && (!strings.Contains(got, fmt.Sprintf(`"level":%q`, want.String())) || !strings.Contains(got, `"client":"c1"`)) {
				t.Errorf("River's %s under a %s log: %q", level, floor, got)
			}
		}
	}
}
