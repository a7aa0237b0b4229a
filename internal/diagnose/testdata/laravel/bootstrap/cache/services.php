<?php return array (
  'providers' => 
  array (
    0 => 'Illuminate\\Filesystem\\FilesystemServiceProvider',
    1 => 'Illuminate\\Translation\\TranslationServiceProvider',
    2 => 'Illuminate\\View\\ViewServiceProvider',
  ),
  'eager' => 
  array (
    0 => 'Illuminate\\Filesystem\\FilesystemServiceProvider',
    1 => 'Illuminate\\View\\ViewServiceProvider',
  ),
  'deferred' => 
  array (
    'translator' => 'Illuminate\\Translation\\TranslationServiceProvider',
    'translation.loader' => 'Illuminate\\Translation\\TranslationServiceProvider',
  ),
  'when' => 
  array (
    'Illuminate\\Translation\\TranslationServiceProvider' => 
    array (
    ),
  ),
);