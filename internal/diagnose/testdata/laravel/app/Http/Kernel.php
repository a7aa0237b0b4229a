<?php

namespace App\Http;

use Illuminate\Foundation\Http\Kernel as HttpKernel;

// GUARD picks the global middleware, as an app's app/Http/Kernel.php lists
// them (laravel/laravel 8.x): "host" turns on TrustHosts (commented out in
// the 8.x skeleton), "https" adds the redirect-to-HTTPS middleware users
// write; TrustProxies is always there, as in the skeleton.
class Kernel extends HttpKernel
{
    protected $middleware = [
        \App\Http\Middleware\TrustProxies::class,
    ];

    public function __construct(\Illuminate\Contracts\Foundation\Application $app, \Illuminate\Routing\Router $router)
    {
        switch (getenv('GUARD')) {
            case 'host':
                array_unshift($this->middleware, \App\Http\Middleware\TrustHosts::class);
                break;
            case 'https':
                $this->middleware[] = \App\Http\Middleware\RedirectToHttps::class;
                break;
        }
        parent::__construct($app, $router);
    }
}
