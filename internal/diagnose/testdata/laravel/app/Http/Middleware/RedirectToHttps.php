<?php

namespace App\Http\Middleware;

use Closure;

// The redirect-to-HTTPS middleware Laravel users add (Laravel has none of
// its own; URL::forceScheme('https') only changes generated URLs).
class RedirectToHttps
{
    public function handle($request, Closure $next)
    {
        if (! $request->secure() && app()->environment('production')) {
            return redirect()->secure($request->getRequestUri());
        }

        return $next($request);
    }
}
