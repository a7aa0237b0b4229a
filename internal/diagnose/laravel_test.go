package diagnose

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// debianPHP is Debian's php, with php-laravel-framework's autoloader at
// /usr/share/php/Illuminate/autoload.php.
const debianPHP = "php"

// startLaravelApp runs testdata/laravel with PHP's built-in server on
// public/index.php, as `php artisan serve` does, in production
// (APP_ENV=production), with the global middleware guard (app/Http/Kernel.php).
func startLaravelApp(t *testing.T, ip, guard, publicHost string) loggedApp {
	t.Helper()
	php := testutil.RequireProgram(t, debianPHP)
	if out, err := exec.Command(php, "-r", "require '/usr/share/php/Illuminate/autoload.php'; if (!function_exists('mb_strpos')) exit(1);").CombinedOutput(); err != nil {
		testutil.Missing(t, "php-laravel-framework", "apt-get install -y php-cli php-laravel-framework: "+strings.TrimSpace(string(out)))
	}
	storage := t.TempDir()
	if err := os.MkdirAll(filepath.Join(storage, "framework", "views"), 0o755); err != nil {
		t.Fatal(err)
	}
	port := testutil.FreePort(t, ip)
	dir := filepath.Join("testdata", "laravel")
	cmd := exec.Command(php, "-S", ip+":"+strconv.Itoa(port), "-t", filepath.Join(dir, "public"), filepath.Join(dir, "public", "index.php"))
	cmd.Env = append(os.Environ(), "APP_ENV=production", "APP_URL=https://"+publicHost, "GUARD="+guard, "LARAVEL_STORAGE="+storage)
	return startLoggedApp(t, cmd, ip, port)
}

// TestLaravelTrustedHosts: Laravel 8's TrustHosts, with APP_URL the public
// name, answers the IP Host 404 (SuspiciousOperationException, not logged)
// on a page that generates a URL, and serves the public name. The case is
// Laravel's own, with the health route exempted first.
func TestLaravelTrustedHosts(t *testing.T) {
	const ip, public = "127.0.0.53", "shop.example.com"
	app := startLaravelApp(t, ip, "host", public)
	r, d := checkAndDiagnoseApp(t, app, settings("/", "200"), public)
	if r.StatusCode != 404 {
		t.Fatalf("the check got %d, want TrustHosts' 404", r.StatusCode)
	}
	assertDiagnosis(t, d, CaseLaravelTrustedHosts, Laravel, "TrustHosts", "SuspiciousOperationException", "Host: "+app.target.Addr())
	assertFirstFix(t, d, "TrustHosts", "$request->is('health')")
	if d.Evidence.AsUser == nil || d.Evidence.AsUser.StatusCode != 200 {
		t.Errorf("the user-like request (Host %s) must be served: %+v", public, d.Evidence.AsUser)
	}
}
