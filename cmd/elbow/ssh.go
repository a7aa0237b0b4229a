package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func newSSHCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ssh INSTANCE [-- COMMAND [ARG...]]",
		Short: "A shell, or COMMAND, on an instance: in its network namespace, app folder and environment",
		Long: `ssh runs a shell ($SHELL, else /bin/sh), or COMMAND, where the instance's app runs, as
eb ssh opens a shell on an EC2 instance: in its app folder, with its environment
(PORT, HOST, the Beanstalk environment properties, AWS_EC2_METADATA_SERVICE_ENDPOINT in
loopback mode) and, under network: vpc, inside its network, UTS and mount namespaces,
so that

  elbow ssh i-0123456789abcdef0 -- curl -s http://169.254.169.254/latest/meta-data/local-ipv4

asks the metadata service exactly as the app does. INSTANCE is an instance id or its
private IP. The instance must be running on this machine (elbow up). Entering the
namespaces of a vpc instance needs root, as elbow up --network vpc does.`,
		Args: cobraArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() > 1 || (cmd.ArgsLenAtDash() == -1 && len(args) > 1) {
				return usageError{fmt.Errorf("give one INSTANCE, then -- and the command: elbow ssh INSTANCE -- COMMAND")}
			}
			return sshInto(args[0], args[1:])
		},
	}
}

// appProcess is one running app process of an instance, found in /proc
// by the ELBOW_INSTANCE_ID (or HOST) every instance's process carries.
type appProcess struct {
	pid int
	env []string
	dir string
}

func findInstanceProcess(instance string) (appProcess, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return appProcess{}, fmt.Errorf("elbow ssh needs /proc (Linux): %w", err)
	}
	var found []appProcess
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		env := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if !hasVar(env, "ELBOW_INSTANCE_ID", instance) && !hasVar(env, "HOST", instance) {
			continue
		}
		if !hasKey(env, "ELBOW_INSTANCE_ID") || hasKey(env, "ELBOW_FLEET_SHIM") {
			continue // not an app process (the supervisor carries the shim's variables)
		}
		dir, _ := os.Readlink("/proc/" + e.Name() + "/cwd")
		found = append(found, appProcess{pid: pid, env: env, dir: dir})
	}
	if len(found) == 0 {
		return appProcess{}, fmt.Errorf("no running instance %q on this machine: give an instance id (i-...) or private IP that elbow up lists", instance)
	}
	// The oldest (lowest pid) is the app's main process; its children share
	// its namespaces.
	best := found[0]
	for _, p := range found[1:] {
		if p.pid < best.pid {
			best = p
		}
	}
	return best, nil
}

func sshInto(instance string, command []string) error {
	p, err := findInstanceProcess(instance)
	if err != nil {
		return err
	}
	if len(command) == 0 {
		shell := os.Getenv("SHELL")
		if shell == "" {
			shell = "/bin/sh"
		}
		command = []string{shell}
	}
	same, err := sameNetworkNamespace(p.pid)
	if err != nil {
		return err
	}
	if same {
		// Loopback mode: nothing to enter but the folder.
		path, err := exec.LookPath(command[0])
		if err != nil {
			return err
		}
		if err := os.Chdir(p.dir); err != nil {
			return fmt.Errorf("instance %s's folder: %w", instance, err)
		}
		return syscall.Exec(path, command, p.env)
	}
	// A Go program cannot enter a mount namespace (setns(2) refuses a
	// multithreaded caller), so nsenter(1), util-linux's, does.
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return errors.New("elbow ssh into a vpc instance needs nsenter (util-linux)")
	}
	argv := append([]string{"nsenter", "--target", strconv.Itoa(p.pid), "--net", "--uts", "--mount",
		"--wd=" + p.dir, "--"}, command...)
	if err := syscall.Exec(nsenter, argv, p.env); err != nil {
		return fmt.Errorf("entering instance %s (pid %d): %w (entering its namespaces needs root)", instance, p.pid, err)
	}
	return nil
}

func sameNetworkNamespace(pid int) (bool, error) {
	mine, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return false, err
	}
	theirs, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return false, fmt.Errorf("reading the instance's network namespace (pid %d): %w (needs root in vpc mode)", pid, err)
	}
	return mine == theirs, nil
}

func hasVar(env []string, key, value string) bool {
	return value != "" && lookupVar(env, key) == value
}

func hasKey(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

func lookupVar(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}
