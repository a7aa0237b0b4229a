package ebproject

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	for _, m := range []string{"Procfile", ".ebextensions/x.config", ".platform/hooks/prebuild/a.sh", ".elasticbeanstalk/config.yml", "application.py", "package.json", "application.go"} {
		dir := t.TempDir()
		write(t, dir, m, "")
		if !Detect(dir) {
			t.Errorf("%s: not detected", m)
		}
	}
	dir := t.TempDir()
	write(t, dir, "README.md", "")
	write(t, dir, ".elasticbeanstalk/saved_configs/x.cfg.yml", "")
	if Detect(dir) {
		t.Error("a folder without Beanstalk files is detected")
	}
}

func TestProcfile(t *testing.T) {
	for _, tc := range []struct{ content, err, procs string }{
		{content: "web: gunicorn app.wsgi\r\n\n  \nworker:celery -A app worker\n", procs: "web=gunicorn app.wsgi@1;worker=celery -A app worker@4"},
		{content: "web: ./a\n# a comment\n", err: `Procfile:2: "# a comment" is not a process line: each line is <name>: <command>, the name made of letters, digits, _ or - (Beanstalk's pattern ^[A-Za-z0-9_-]+:\s*[^\s].*$; a Procfile has no comments)`},
		{content: "web gunicorn app\n", err: `Procfile:1: "web gunicorn app" is not a process line: each line is <name>: <command>, the name made of letters, digits, _ or - (Beanstalk's pattern ^[A-Za-z0-9_-]+:\s*[^\s].*$; a Procfile has no comments)`},
		{content: "web:\n", err: `Procfile:1: "web:" is not a process line: each line is <name>: <command>, the name made of letters, digits, _ or - (Beanstalk's pattern ^[A-Za-z0-9_-]+:\s*[^\s].*$; a Procfile has no comments)`},
		{content: "web: a\nweb: b\n", err: `Procfile:2: process "web" is also defined at line 1: names must be unique`},
		{content: "worker: a\n", err: `Procfile: no "web" process: Beanstalk puts the process named web behind the proxy; add a line such as web: gunicorn --bind 127.0.0.1:8000 app.wsgi`},
		{content: "\n\n", err: `Procfile: the file is empty: give at least one line <name>: <command>`},
	} {
		dir := t.TempDir()
		write(t, dir, "Procfile", tc.content)
		p, err := Load(dir, Options{})
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error\n got %v\nwant %s", tc.content, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, pr := range p.Processes {
			got = append(got, pr.Name+"="+pr.Command+"@"+strings.TrimPrefix(pr.Source.String(), "Procfile:"))
		}
		if strings.Join(got, ";") != tc.procs || !p.HasProcfile {
			t.Errorf("%q: processes %v", tc.content, got)
		}
	}
}

func TestPlatformDefaults(t *testing.T) {
	for _, tc := range []struct {
		files       map[string]string
		platform    string
		web, build  string
		port        int
		platformSrc string
	}{
		{files: map[string]string{"application.py": ""}, platform: Python, web: "gunicorn --bind 127.0.0.1:8000 --workers=1 --threads=15 application", port: 8000, platformSrc: "application.py"},
		{files: map[string]string{"requirements.txt": "", ".ebextensions/p.config": "option_settings:\n  aws:elasticbeanstalk:container:python:\n    WSGIPath: ebdjango.wsgi:application\n    NumProcesses: '3'\n    NumThreads: '20'\n"},
			platform: Python, web: "gunicorn --bind 127.0.0.1:8000 --workers=3 --threads=20 ebdjango.wsgi:application", port: 8000, platformSrc: "requirements.txt"},
		{files: map[string]string{"package.json": "{}"}, platform: NodeJS, web: "npm start", port: 8080, platformSrc: "package.json"},
		{files: map[string]string{"package.json": "{}", ".ebextensions/e.config": "option_settings:\n  - option_name: PORT\n    value: '3000'\n"}, platform: NodeJS, web: "npm start", port: 3000, platformSrc: "package.json"},
		{files: map[string]string{"application.go": "package main"}, platform: Go, web: "./bin/application", build: "go build -o bin/application application.go", port: 5000, platformSrc: "application.go"},
		{files: map[string]string{"application.py": "", ".elasticbeanstalk/config.yml": "global:\n  default_platform: Node.js 20 running on 64bit Amazon Linux 2023\n", "app.js": ""},
			platform: NodeJS, web: "node app.js", port: 8080, platformSrc: ".elasticbeanstalk/config.yml"},
		{files: map[string]string{".elasticbeanstalk/config.yml": "global:\n  default_platform: python-3.11\n"}, platform: Python, web: "gunicorn --bind 127.0.0.1:8000 --workers=1 --threads=15 application", port: 8000, platformSrc: ".elasticbeanstalk/config.yml"},
	} {
		dir := t.TempDir()
		for name, content := range tc.files {
			write(t, dir, name, content)
		}
		p, err := Load(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		web, ok := p.Web()
		port, _ := p.AppPort()
		build := ""
		if len(p.Build) > 0 {
			build = p.Build[0].Command
		}
		if p.Platform != tc.platform || p.PlatformSource.String() != tc.platformSrc || !ok || web.Command != tc.web || web.Source != PlatformDefault || port != tc.port || build != tc.build || p.HasProcfile {
			t.Errorf("%v: platform %q from %s, web %+v, port %d, build %q", tc.files, p.Platform, p.PlatformSource, web, port, build)
		}
	}
}

func TestConfigYML(t *testing.T) {
	for _, tc := range []struct{ branch, env string }{{"master", "okuna-prod"}, {"develop", "okuna-dev"}, {"feature/x", "okuna-global"}, {"", "okuna-global"}} {
		p, err := Load("testdata/okuna", Options{Branch: tc.branch})
		if err != nil {
			t.Fatal(err)
		}
		want := EBConfig{ApplicationName: "okuna-www-api", Environment: tc.env, Region: "eu-west-1",
			DefaultPlatform: "Python 3.11 running on 64bit Amazon Linux 2023", Source: Source{File: ".elasticbeanstalk/config.yml"}}
		if p.EB == nil || *p.EB != want {
			t.Errorf("branch %q: %+v", tc.branch, p.EB)
		}
	}
	dir := t.TempDir()
	write(t, dir, ".elasticbeanstalk/config.yml", "global:\n  application_name: [a\n")
	if _, err := Load(dir, Options{}); err == nil || !strings.HasPrefix(err.Error(), ".elasticbeanstalk/config.yml:2: not valid YAML: ") {
		t.Errorf("malformed config.yml: %v", err)
	}
	write(t, dir, ".elasticbeanstalk/config.yml", "global: [a, b]\n")
	if _, err := Load(dir, Options{}); err == nil || !strings.HasPrefix(err.Error(), ".elasticbeanstalk/config.yml:1: ") {
		t.Errorf("config.yml of the wrong shape: %v", err)
	}
}

func TestPlatformFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Procfile", "web: ./run\n")
	for _, f := range []string{".platform/hooks/prebuild/02_b.sh", ".platform/hooks/prebuild/01_a.sh", ".platform/hooks/postdeploy/10.sh",
		".platform/confighooks/predeploy/x.sh", ".platform/nginx/nginx.conf", ".platform/nginx/conf.d/z.conf", ".platform/nginx/conf.d/a.conf", ".platform/nginx/conf.d/readme.txt"} {
		write(t, dir, f, "#!/bin/sh\n")
	}
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Hooks["prebuild"], ",") != ".platform/hooks/prebuild/01_a.sh,.platform/hooks/prebuild/02_b.sh" ||
		len(p.Hooks["predeploy"]) != 0 || len(p.Hooks["postdeploy"]) != 1 || len(p.ConfigHooks["predeploy"]) != 1 {
		t.Errorf("hooks %v config hooks %v", p.Hooks, p.ConfigHooks)
	}
	if p.NginxConf != ".platform/nginx/nginx.conf" || strings.Join(p.NginxConfD, ",") != ".platform/nginx/conf.d/a.conf,.platform/nginx/conf.d/z.conf" {
		t.Errorf("nginx %q %v", p.NginxConf, p.NginxConfD)
	}
}

func makeZip(t *testing.T, entries map[string]string, symlink string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bundle.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, content := range entries {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if symlink != "" {
		h := &zip.FileHeader{Name: symlink}
		h.SetMode(os.ModeSymlink | 0o777)
		w, _ := zw.CreateHeader(h)
		w.Write([]byte("/etc/passwd"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func TestLoadBundle(t *testing.T) {
	zp := makeZip(t, map[string]string{
		"Procfile":                      "web: ./run\n",
		".ebextensions/a.config":        "option_settings:\n  aws:autoscaling:asg:\n    MaxSize: '3'\n",
		".platform/hooks/prebuild/a.sh": "#!/bin/sh\n",
		"app/main.py":                   "print(1)\n",
	}, "")
	staging := filepath.Join(t.TempDir(), "staging")
	p, err := LoadBundle(zp, staging, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := p.Setting(nsASG, "MaxSize"); s.Value != "3" || len(p.Hooks["prebuild"]) != 1 {
		t.Errorf("bundle project: %+v %v", s, p.Hooks)
	}
	if st, err := os.Stat(filepath.Join(staging, ".platform/hooks/prebuild/a.sh")); err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("hook lost its execute bit: %v %v", st, err)
	}

	outside := filepath.Join(t.TempDir(), "evil")
	for _, tc := range []struct {
		entries map[string]string
		symlink string
		err     string
	}{
		{entries: map[string]string{"Procfile": "web: x\n", "../../evil": "x"}, err: `entry "../../evil" leaves the bundle's folder: refused`},
		{entries: map[string]string{"Procfile": "web: x\n", outside: "x"}, err: `leaves the bundle's folder: refused`},
		{entries: map[string]string{"Procfile": "web: x\n"}, symlink: "link", err: `entry "link" is a symbolic link: refused, a link could point outside the app`},
	} {
		dest := filepath.Join(t.TempDir(), "staging")
		_, err := LoadBundle(makeZip(t, tc.entries, tc.symlink), dest, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: error %v, want %s", tc.entries, err, tc.err)
		}
		if _, err := os.Stat(outside); err == nil {
			t.Fatalf("an entry was written outside the staging folder")
		}
	}
}

func TestBundleSizeBound(t *testing.T) {
	zp := makeZip(t, map[string]string{"Procfile": "web: x\n", "big": strings.Repeat("a", 4096)}, "")
	err := extract(zp, filepath.Join(t.TempDir(), "s"), 2048)
	if err == nil || !strings.Contains(err.Error(), "bytes (512 MB)") {
		t.Errorf("a bundle over the bound: %v", err)
	}
}
