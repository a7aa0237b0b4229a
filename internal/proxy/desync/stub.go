// Package desync: TEMPORARY stub with the agreed API; replaced by the real classifier.
package desync

import (
	"fmt"
	"strings"
)

type Class uint8

const (
	Compliant Class = iota
	Acceptable
	Ambiguous
	Severe
)

func (c Class) String() string {
	return [...]string{"Compliant", "Acceptable", "Ambiguous", "Severe"}[c]
}

type Mode uint8

const (
	Defensive Mode = iota
	Monitor
	Strictest
)

func ParseMode(s string) (Mode, error) {
	switch s {
	case "defensive":
		return Defensive, nil
	case "monitor":
		return Monitor, nil
	case "strictest":
		return Strictest, nil
	}
	return 0, fmt.Errorf("bad mode %q", s)
}

func (m Mode) String() string { return [...]string{"defensive", "monitor", "strictest"}[m] }

type Action uint8

const (
	Forward Action = iota
	ForwardAndClose
	Block
)

func (m Mode) Action(c Class) Action {
	switch {
	case c == Compliant:
		return Forward
	case m == Strictest:
		return Block
	case c == Acceptable:
		return Forward
	case c == Severe && m == Defensive:
		return Block
	}
	return ForwardAndClose
}

type Verdict struct {
	Class  Class
	Reason string
}

func (v Verdict) LogFields() (string, string) {
	if v.Class == Compliant {
		return "-", "-"
	}
	return v.Class.String(), v.Reason
}

func ClassifyHead(head string) Verdict {
	l := strings.ToLower(head)
	if strings.Contains(l, "\ncontent-length:") && strings.Contains(l, "\ntransfer-encoding:") {
		return Verdict{Ambiguous, "BothTeClPresent"}
	}
	return Verdict{}
}
