package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/diagnose"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

func TestTargetsTable(t *testing.T) {
	e := newRealEnv(t, func(_ context.Context, _ string, _ healthcheck.Target, h healthcheck.TargetHealth) (diagnose.Diagnosis, bool) {
		return diagnose.Diagnosis{Case: "django-allowed-hosts", Summary: "Django rejected the Host header: " + h.Description}, true
	})
	out, err := elbow(t, "targets", "--console", e.url)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 9 {
		t.Fatalf("%d lines, want 9 (top, title, rule, header, rule, two targets, diagnosis, rule):\n%s", len(lines), out)
	}
	width := len(lines[0])
	for i, l := range lines {
		if len(l) != width {
			t.Errorf("line %d is %d wide, want %d (a ragged table):\n%s", i, len(l), width, out)
		}
	}
	cells := func(l string) []string {
		var out []string
		for _, c := range strings.Split(strings.Trim(l, "|"), "|") {
			out = append(out, strings.TrimSpace(c))
		}
		return out
	}
	if got := strings.TrimSpace(strings.Trim(lines[1], "|")); got != "DescribeTargetHealth: web" {
		t.Errorf("title %q", got)
	}
	if got := strings.Join(cells(lines[3]), ","); got != "Id,PrivateIpAddress,Port,HealthCheckPort,State,Reason,Description" {
		t.Errorf("header %q", got)
	}
	good, bad := strconv.Itoa(e.good.Port), strconv.Itoa(e.bad.Port)
	for i, want := range []string{
		e.good.ID + "," + e.good.IP + "," + good + "," + good + ",healthy,,",
		e.bad.ID + "," + e.bad.IP + "," + bad + "," + bad + ",unhealthy,Target.ResponseCodeMismatch,Health checks failed with these codes: [400]",
	} {
		if got := strings.Join(cells(lines[5+i]), ","); got != want {
			t.Errorf("row %d:\n got %q\nwant %q", i, got, want)
		}
	}
	if want := "|  diagnosis: Django rejected the Host header: Health checks failed with these codes: [400]"; !strings.HasPrefix(lines[7], want) {
		t.Errorf("diagnosis line %q, want it to start %q", lines[7], want)
	}
	if !strings.HasPrefix(lines[5], "|  "+e.good.ID) {
		t.Errorf("cells are not left-aligned after two spaces as the AWS CLI's: %q", lines[5])
	}
}

func TestTargetsJSONAndGroupArgument(t *testing.T) {
	e := newRealEnv(t, nil)
	out, err := elbow(t, "targets", "web", "--json", "--console", e.url)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TargetHealthDescriptions []struct {
			Target          struct{ Id string }
			HealthCheckPort string
			TargetHealth    struct{ State, Reason, Description string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(doc.TargetHealthDescriptions) != 2 || doc.TargetHealthDescriptions[1].TargetHealth.Reason != "Target.ResponseCodeMismatch" {
		t.Errorf("document %+v", doc)
	}

	out, err = elbow(t, "targets", "--json", "--console", e.url)
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		TargetGroups []struct {
			TargetGroupName          string
			TargetHealthDescriptions []json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(all.TargetGroups) != 1 || all.TargetGroups[0].TargetGroupName != "web" || len(all.TargetGroups[0].TargetHealthDescriptions) != 2 {
		t.Errorf("all groups: %s", out)
	}

	_, err = elbow(t, "targets", "nope", "--console", e.url)
	if err == nil || !strings.Contains(err.Error(), `target group "nope"`) || !strings.Contains(err.Error(), "TargetGroupNotFound") {
		t.Errorf("unknown group: %v", err)
	}
}
