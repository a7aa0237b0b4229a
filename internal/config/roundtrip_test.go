package config

import "testing"

// A configuration marshalled and parsed again is the same configuration:
// environment.Update copies the running one this way, and a difference
// (an absent command read back as an empty list) would be a change that
// needs a restart.
func TestMarshalParseRoundTripHasNoDiff(t *testing.T) {
	for name, yaml := range map[string]string{
		"targets":    "instances:\n  targets: [\"127.0.0.1:80\"]\n",
		"sample_app": "instances:\n  sample_app: true\n",
		"argv":       "instances:\n  command: [\"./app\", \"-p\"]\n",
		"shell":      "instances:\n  command: ./app\n",
	} {
		c, err := Parse("elbow.yaml", []byte(yaml))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data, err := Marshal(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		again, err := Parse("elbow.yaml", data)
		if err != nil {
			t.Fatalf("%s: parsing the marshalled copy: %v", name, err)
		}
		if d := Diff(c, again); len(d) > 0 {
			t.Errorf("%s: the copy differs: %+v", name, d)
		}
	}
}
