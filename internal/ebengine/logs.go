package ebengine

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// EventPrefix starts a line of the engine's standard output that is an
// event for the environment (elbow up shows it, the console keeps it).
const EventPrefix = "ELBOW-EVENT "

// Event is one event line.
type Event struct {
	Severity string `json:"severity"` // INFO, WARN, ERROR
	Message  string `json:"message"`
}

// ParseEvent reads an event line of the engine's output.
func ParseEvent(line string) (Event, bool) {
	rest, ok := strings.CutPrefix(line, EventPrefix)
	if !ok {
		return Event{}, false
	}
	var ev Event
	if json.Unmarshal([]byte(rest), &ev) != nil || ev.Message == "" {
		return Event{}, false
	}
	return ev, true
}

// engineLog writes eb-engine.log in Beanstalk's format
// ("2026/11/29 22:51:00.123456 [INFO] Executing instruction: ...") and
// events to the engine's standard output.
type engineLog struct {
	mu     sync.Mutex
	file   *os.File
	stdout io.Writer
	now    func() time.Time
}

func (l *engineLog) logf(level, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintf(l.file, "%s [%s] %s\n", l.now().UTC().Format("2006/01/02 15:04:05.000000"), level, line)
	}
}

func (l *engineLog) info(format string, a ...any)   { l.logf("INFO", format, a...) }
func (l *engineLog) errorf(format string, a ...any) { l.logf("ERROR", format, a...) }

// event logs msg and hands it to the environment.
func (l *engineLog) event(severity, msg string) {
	l.logf(severity, "%s", msg)
	b, _ := json.Marshal(Event{Severity: severity, Message: msg})
	l.mu.Lock()
	fmt.Fprintf(l.stdout, "%s%s\n", EventPrefix, b)
	l.mu.Unlock()
}

// processLog appends a process's output to <name>.stdout.log, each line as
// rsyslog writes it on Amazon Linux 2: "Nov 29 22:51:00 ip-172-31-5-17 web[1234]: ...".
type processLog struct {
	mu       sync.Mutex
	file     *os.File
	hostname string
	name     string
	now      func() time.Time
}

// copyFrom writes r's lines as process pid's until r ends.
func (p *processLog) copyFrom(r io.Reader, pid int) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimRight(line, "\r\n")
			p.mu.Lock()
			fmt.Fprintf(p.file, "%s %s %s[%d]: %s\n", p.now().Format(time.Stamp), p.hostname, p.name, pid, line)
			p.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}
