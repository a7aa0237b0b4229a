// Package config owns elbow.yaml: the schema of an environment (instances,
// listeners and rules, target groups and their health checks, enhanced-health
// rules, the console), its defaults as values, strict decoding (an unknown key
// is an error with its line), and validation at load with AWS's ranges and
// AWS's wording. Every error names the file, the line, the key, the value and
// what is allowed. It also says, for each key, whether a running environment
// can take a change of it (Diff). Nothing here runs anything; a valid Config is what the
// other packages are built from.
package config
