<?php

// LOG_CHANNEL=stderr, as apps whose output the platform collects set it
// (config/logging.php of laravel/laravel 8.x).
return [
    'default' => 'stderr',
    'channels' => [
        'stderr' => [
            'driver' => 'monolog',
            'handler' => Monolog\Handler\StreamHandler::class,
            'with' => ['stream' => 'php://stderr'],
            'level' => 'debug',
        ],
    ],
];
