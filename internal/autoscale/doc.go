// Package autoscale owns the Auto Scaling group's decisions in an elbow
// environment: the scaling trigger Beanstalk builds from
// aws:autoscaling:trigger (two CloudWatch alarms on the group, an upper and
// a lower one, each moving the desired capacity by its increment), the
// group's Min, Max and Cooldown from aws:autoscaling:asg, and the
// replacement of instances that fail the load balancer's health check when
// the group's HealthCheckType is ELB
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/environments-cfg-autoscaling-triggers.html,
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/environmentconfig-autoscaling-healthchecktype.html).
//
// The measures come from Figures, which the environment feeds from each
// proxied request and from the monitor's CPU samples. The fleet itself
// (launching, draining, terminating, and the "Added instance" and
// "Removed instance" events) is behind the Fleet interface.
package autoscale
