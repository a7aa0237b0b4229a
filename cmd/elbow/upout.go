package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// upOutput writes every line `elbow up` prints, to standard output or
// error, one line at a time, so that lines from events and logs never
// interleave.
type upOutput struct {
	mu             sync.Mutex
	stdout, stderr io.Writer
}

// say prints one of elbow's own lines on standard output.
func (o *upOutput) say(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.stdout, format+"\n", args...)
}

// event prints a timestamped line: the one format of events and warnings.
func (o *upOutput) event(w io.Writer, t time.Time, severity, msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(w, "%s %-5s %s\n", t.Local().Format("15:04:05"), severity, msg)
}

// logHandler is the slog.Handler of `elbow up`: it prints records on
// standard error in the event format ("15:04:05 WARN  message key=value"),
// not slog's text format. Records that carry an "event" attribute are the
// fleet's instance events, which environment.Options.Events delivers and up
// prints already (internal/fleet/instance.go, Fleet.emit): printing them here
// too would show each twice.
type logHandler struct {
	out   *upOutput
	level slog.Leveler
	attrs []slog.Attr
	group string
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	isEvent := false
	write := func(a slog.Attr) bool {
		if a.Key == "event" && h.group == "" {
			isEvent = true
		}
		if a.Equal(slog.Attr{}) {
			return true
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		b.WriteString(" " + key + "=" + logValue(a.Value.Resolve()))
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	if isEvent {
		return nil
	}
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	h.out.event(h.out.stderr, t, levelName(r.Level), b.String())
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	c := *h
	if name != "" {
		c.group = strings.TrimPrefix(h.group+"."+name, ".")
	}
	return &c
}

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARN"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// logValue quotes a value that holds spaces, quotes or '=', as slog's text
// handler does, so that key=value pairs stay readable.
func logValue(v slog.Value) string {
	s := v.String()
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return strconv.Quote(s)
	}
	return s
}
