// Package deploy owns how a new application version or a new configuration
// reaches an environment's instances, as Elastic Beanstalk does it: the
// deployment policies (AllAtOnce, Rolling, RollingWithAdditionalBatch,
// Immutable, TrafficSplitting), rolling configuration updates, batches, the
// health gate between batches, the events Beanstalk writes, and abort.
//
// It knows the environment only through the Environment interface, so that
// it can be driven by the real environment and by a scripted fake alike.
// Facts and event texts come from the Elastic Beanstalk developer guide,
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rolling-version-deploy.html
// and https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rollingupdates.html,
// and from real `eb events` output; texts Beanstalk does not publish are
// elbow's own and say so where they are written.
package deploy
