// Package fleet owns the app's instances: it launches the user's app once per
// instance, each on its own loopback private IP (instance N on 127.0.0.(N+1),
// all on the same port, as EC2 instances are), restarts an instance whose
// process exits with exponential backoff while it keeps its id and IP, keeps
// every instance's output (a log file and an in-memory tail), enforces the
// fleet's minimum and maximum size, and stops instances with SIGTERM, a grace
// period and SIGKILL. The caller ties instances to the rest of the
// environment (metadata service, target registration, draining, events)
// through Hooks.
//
// # Templates, deployments and capacity
//
// Each instance runs a Template: an application version's command, folder,
// environment and port under a deployment number. Config's Command, Dir,
// Env, Port and Version make the first (deployment 1); SetTemplate sets what
// later launches run, LaunchWith launches one instance of a given template,
// beyond Max if a deployment needs it (Elastic Beanstalk's additional batch
// and immutable instances), and Redeploy replaces the process of one
// instance in place, keeping its ID, IP, placement and the Prepare hook's
// environment, without the Terminating hook (the caller deregisters and
// drains first, as a Beanstalk deployment does). The fleet's desired
// capacity (Desired, SetDesired) stays within Min and Max, as an Auto
// Scaling group's does.
//
// # No process outlives elbow
//
// Not even when elbow is killed with SIGKILL, and not the app's children
// either: Django's runserver forks a reloader child, and apps are often
// launched through sh -c. The fleet therefore never starts the app itself.
// It re-executes its own binary (/proc/self/exe on Linux) as a small supervisor per
// instance (MaybeRunShim is its entry point), and the supervisor starts the
// app:
//
//   - The supervisor leads a new process group that the app and its children
//     inherit, so SIGTERM and SIGKILL reach them all at once.
//   - The supervisor has a parent-death signal (PR_SET_PDEATHSIG). When elbow
//     dies, however it dies, the kernel signals the supervisor, which SIGKILLs
//     every process below it and its whole group, itself last. It also polls
//     getppid, so a lost signal costs at most a fraction of a second.
//   - The parent-death signal fires when the OS thread that forked the
//     supervisor exits, not the process (golang/go#27505), so the fleet
//     forks from one goroutine locked to a thread that lives until StopAll.
//   - The supervisor is a child subreaper (PR_SET_CHILD_SUBREAPER): orphans of
//     the app's descendants are reparented to it rather than to init, so the
//     supervisor finds by the process tree even those that left the group
//     with setsid, and kills them too. When the app exits, whatever it left
//     behind is killed before the instance restarts.
//   - The app gets a parent-death SIGKILL against its supervisor, and the
//     fleet SIGKILLs the group after the supervisor exits (while its zombie
//     still pins the group id), so killing a supervisor leaks nothing either.
//
// Why not elbow itself as the subreaper: when elbow is SIGKILLed, its
// subreaped orphans go to init and live on; something has to survive elbow
// for the instant it takes to kill them. Why not only Pdeathsig on the app:
// it reaches the app, not the app's children. The cost is one small extra
// process per instance. What still escapes: a process that asks another
// service (systemd, a container runtime) to start it.
//
// A program that uses the package must call MaybeRunShim first in main, and
// so must the TestMain of every test package that launches instances.
//
// # Other systems
//
// All of the above is Linux (prctl(2), proc(5), waitid(2) WNOWAIT). On
// other systems (platform_other.go) the supervisor still leads the group
// and polls its parent, and finds processes with ps instead of /proc, but
// it has neither parent-death signal nor subreaper; Start logs once what
// that leaves unpromised (platformLimits). macOS has only 127.0.0.1 on
// lo0: Start and Launch check that every instance address can be bound and
// fail with the ifconfig commands that add the missing ones.
//
// # Environment
//
// Each app process gets elbow's environment, overridden by Config.Env, then
// by what Hooks.Prepare returns, then by HOST (the instance's IP), PORT and
// ELBOW_INSTANCE_ID.
package fleet
