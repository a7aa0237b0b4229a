# A minimal Rails 6.1 app (Debian's ruby-rails), run as in production by
# rails_app_test.go: RAILS_ENV=production, served by rackup. Each variant is
# one line of a generated app's config/environments/production.rb:
#
#   ELBOW_RAILS_HOSTS=mydomain.com  config.hosts << "mydomain.com"
#                                   (ActionDispatch::HostAuthorization)
#   ELBOW_RAILS_FORCE_SSL=1         config.force_ssl = true (ActionDispatch::SSL)
#
# ELBOW_RAILS_CONFIG and ELBOW_RAILS_ROUTES name files of Ruby evaluated in
# the Application class and in routes.draw: the test writes the fix elbow
# advises there, to prove that it boots on Rails 6.1 and makes the check pass.
# A setting Rails 6.1 does not know is stored silently by
# Rails::Railtie::Configuration#method_missing (railties 6.1,
# lib/rails/railtie/configuration.rb), so the app refuses to start on one.
require "rails"
require "action_controller/railtie"

class ShopApp < Rails::Application
  config.root = ENV.fetch("ELBOW_RAILS_ROOT")
  config.eager_load = true
  config.consider_all_requests_local = false
  config.secret_key_base = "0" * 64
  config.cache_store = :null_store
  config.log_level = :info

  # As railties 6.1's generated production.rb does with RAILS_LOG_TO_STDOUT.
  config.log_formatter = ::Logger::Formatter.new
  logger = ActiveSupport::Logger.new(STDOUT)
  logger.formatter = config.log_formatter
  config.logger = ActiveSupport::TaggedLogging.new(logger)
  STDOUT.sync = true

  config.hosts << ENV["ELBOW_RAILS_HOSTS"] if ENV["ELBOW_RAILS_HOSTS"]
  config.force_ssl = true if ENV["ELBOW_RAILS_FORCE_SSL"] == "1"

  if (extra = ENV["ELBOW_RAILS_CONFIG"])
    known = Rails::Railtie::Configuration.class_variable_get(:@@options).keys
    instance_eval(File.read(extra), extra)
    unknown = Rails::Railtie::Configuration.class_variable_get(:@@options).keys - known
    abort "settings Rails #{Rails.version} does not know: #{unknown.join(", ")}" unless unknown.empty?
  end
end

class PagesController < ActionController::Base
  def index
    render plain: "shop\n"
  end
end

ShopApp.initialize!

ShopApp.routes.draw do
  root "pages#index"
  if (extra = ENV["ELBOW_RAILS_ROUTES"])
    instance_eval(File.read(extra), extra)
  end
end

run ShopApp
