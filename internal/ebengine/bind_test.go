package ebengine

import "testing"

func TestRebind(t *testing.T) {
	for _, tc := range []struct {
		cmd, want string
		port      int
		changed   bool
	}{
		{"gunicorn --bind 127.0.0.1:8000 --workers=1 --threads=15 shop.wsgi:application",
			"gunicorn --bind 127.0.0.2:8000 --workers=1 --threads=15 shop.wsgi:application", 8000, true},
		{"gunicorn --bind=0.0.0.0:8000 app:app", "gunicorn --bind=127.0.0.2:8000 app:app", 8000, true},
		{"gunicorn -b :5000 app:app", "gunicorn -b 127.0.0.2:5000 app:app", 5000, true},
		{"gunicorn -b 127.0.0.1:8000 app:app", "gunicorn -b 127.0.0.2:8000 app:app", 8000, true},
		{"python3 manage.py runserver 127.0.0.1:8000", "python3 manage.py runserver 127.0.0.2:8000", 8000, true},
		{"uvicorn main:app --host 0.0.0.0 --port 8000", "uvicorn main:app --host 127.0.0.2 --port 8000", 0, true},
		{"npm start", "npm start", 0, false},
		{"node server.js", "node server.js", 0, false},
	} {
		got, port, changed := rebind(tc.cmd, "127.0.0.2")
		if got != tc.want || port != tc.port || changed != tc.changed {
			t.Errorf("rebind(%q) = %q %d %v, want %q %d %v", tc.cmd, got, port, changed, tc.want, tc.port, tc.changed)
		}
	}
}
