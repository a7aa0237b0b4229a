// Package ebproject reads an Elastic Beanstalk project — source folder or
// bundle zip — as Beanstalk reads it, into settings with their provenance:
// the Procfile (or the platform's default web command), the Buildfile,
// .ebextensions/*.config (option_settings, container_commands, files, and
// what elbow does not apply, with the reason), .platform hooks and nginx
// files, and .elasticbeanstalk/config.yml. Every option setting carries the
// file and line it came from, or "Beanstalk default". Apply maps the settings
// onto elbow's own config (internal/config). Nothing here runs anything.
//
// Sources: the AWS Elastic Beanstalk Developer Guide,
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/ebextensions.html,
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/platforms-linux-extend.html,
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html and
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-specific.html.
package ebproject
