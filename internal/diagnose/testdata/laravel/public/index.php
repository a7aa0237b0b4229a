<?php
// The front controller of a minimal Laravel 8 app built on Debian's
// php-laravel-framework (no Composer): Laravel's own public/index.php
// (laravel/laravel 8.x) with Debian's autoloader in place of vendor/autoload.php.
require '/usr/share/php/Illuminate/autoload.php';
spl_autoload_register(function ($class) {
    if (str_starts_with($class, 'App\\')) {
        require __DIR__.'/../app/'.str_replace('\\', '/', substr($class, 4)).'.php';
    }
});

$app = new Illuminate\Foundation\Application(dirname(__DIR__));
$app->useStoragePath(getenv('LARAVEL_STORAGE') ?: dirname(__DIR__).'/storage');
$app->singleton(Illuminate\Contracts\Http\Kernel::class, App\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, Illuminate\Foundation\Exceptions\Handler::class);

// The page links with url(), as Blade views do with url(), route() and asset():
// generating a URL reads the request's host, which is where TrustHosts' list
// is enforced (Symfony's Request::getHost).
$app['router']->get('/', fn () => '<h1>Shop</h1><a href="'.url('/cart').'">Cart</a>');

$kernel = $app->make(Illuminate\Contracts\Http\Kernel::class);
$response = $kernel->handle($request = Illuminate\Http\Request::capture());
$response->send();
$kernel->terminate($request, $response);
