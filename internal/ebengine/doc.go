// Package ebengine is the deployment engine elbow runs on each instance of
// an Elastic Beanstalk project, as Beanstalk's eb-engine runs on each EC2
// instance: it stages a copy of the project, runs the platform hooks, the
// Buildfile and the .ebextensions container_commands in Beanstalk's order,
// starts every Procfile process (restarting any that exits) and the
// instance's nginx in front of the web process, runs the postdeploy hooks,
// and keeps the instance's logs where Beanstalk keeps them.
//
// The order is the Amazon Linux 2 platforms' "instance deployment
// workflow" (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/platforms-linux-extend.html):
// extract, prebuild hooks, Buildfile, container_commands, predeploy hooks,
// Procfile processes, proxy, postdeploy hooks.
//
// elbow runs the engine as each instance's process (`elbow eb-engine
// SPEC`), under the fleet's supervisor, in the instance's namespaces in vpc
// mode: whatever the engine starts dies with the instance.
//
// # Logs
//
// Under the instance's log folder (Spec.LogDir/<instance-id>/):
// eb-engine.log (the engine's steps), <process>.stdout.log (each Procfile
// process's output, one rsyslog-style line per line, as web.stdout.log on
// Amazon Linux 2), nginx/access.log and nginx/error.log.
//
// # One machine, many instances (loopback mode)
//
// On EC2 each instance has its own 127.0.0.1, and Beanstalk's Python
// platform binds gunicorn to 127.0.0.1:8000 on every one. In elbow's
// loopback mode the instances share one network namespace, so the engine
// gives each instance's web process its own address: where the command
// names its bind in a form the engine knows (gunicorn -b/--bind, Django's
// runserver, uvicorn/flask --host), it binds the instance's own IP instead
// of 127.0.0.1 (or 0.0.0.0), same port; otherwise (the app reads PORT) the
// instance gets PORT plus its index minus one. It says exactly what it
// changed in eb-engine.log and as an event. In vpc mode every instance has
// its own namespace and nothing is changed.
package ebengine
