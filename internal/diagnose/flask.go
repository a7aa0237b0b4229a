package diagnose

import "strconv"

// Flask is the Framework of a diagnosis of a Flask app.
const Flask = "Flask"

// Flask's development server listens on 127.0.0.1 unless told --host
// (https://flask.palletsprojects.com/en/stable/quickstart/#externally-visible-server).
func init() {
	register(frameworkText{
		name: Flask, rank: 60,
		clues: []clue{
			{2, headerHas("Server", "Werkzeug")},
		},
		healthRoute: "@app.get(\"/health\")\ndef health():\n    return \"ok\"",
		bindAll:     func(f facts) string { return "flask run --host 0.0.0.0 --port " + strconv.Itoa(f.port) },
	})
}
