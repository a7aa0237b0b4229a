<?php

return [
    'paths' => [],
    'compiled' => env('VIEW_COMPILED_PATH', storage_path('framework/views')),
];
