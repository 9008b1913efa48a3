# Horizon's local_settings.py for scripts/clients/horizon.sh. A template: the script
# replaces the @NAME@ placeholders and writes the result to $WORK/local/local_settings.py,
# which openstack_dashboard.settings imports as `local.local_settings` (PYTHONPATH=$WORK).
# Only what differs from Horizon's defaults for a one-process test deployment.

DEBUG = False
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
SECRET_KEY = '@SECRET_KEY@'

OPENSTACK_KEYSTONE_URL = '@KEYSTONE_URL@'
OPENSTACK_KEYSTONE_DEFAULT_ROLE = 'member'
# The CA of a cloud on TLS (`stratus serve --tls`); None: the system's roots.
OPENSTACK_SSL_CACERT = '@CACERT@' or None
TIME_ZONE = 'UTC'

# No memcached, no database: sessions live in a signed cookie, the cache in memory.
SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'
CACHES = {'default': {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}}
EMAIL_BACKEND = 'django.core.mail.backends.console.EmailBackend'

# No collectstatic/compress step: {% compress %} leaves the tags as they are
# (the SCSS precompiler still runs on first use; its output goes to STATIC_ROOT,
# which the script keeps beside the venv so later runs reuse it).
COMPRESS_ENABLED = False
COMPRESS_OFFLINE = False
STATIC_ROOT = '@STATIC_ROOT@'

# The checker reads server-rendered HTML (it runs no JavaScript), so the panels that
# Horizon can render either way use their Django tables, which call the cloud's
# APIs while the page is made.
ANGULAR_FEATURES = {
    'images_panel': False,
    'key_pairs_panel': False,
    'flavors_panel': False,
    'domains_panel': False,
    'users_panel': False,
    'groups_panel': False,
    'roles_panel': False,
}
# Horizon 27 has only the AngularJS launch wizard; the checker drives its REST API.
LAUNCH_INSTANCE_DEFAULTS = {'create_volume': False, 'hide_create_volume': True}

# Everything Horizon and the OpenStack client libraries log (requests to the cloud
# at DEBUG, tracebacks of failed pages) goes to runserver's stderr: the log file.
LOGGING = {
    'version': 1,
    'disable_existing_loggers': False,
    'formatters': {
        'console': {'format': '%(asctime)s %(levelname)s %(name)s %(message)s'},
    },
    'handlers': {
        'console': {'level': 'DEBUG', 'class': 'logging.StreamHandler', 'formatter': 'console'},
        'null': {'class': 'logging.NullHandler'},
    },
    'root': {'handlers': ['console'], 'level': 'INFO'},
    'loggers': {
        'django.template': {'handlers': ['null'], 'propagate': False},
        'keystoneauth': {'handlers': ['console'], 'level': 'DEBUG', 'propagate': False},
        'novaclient': {'handlers': ['console'], 'level': 'DEBUG', 'propagate': False},
        'glanceclient': {'handlers': ['console'], 'level': 'DEBUG', 'propagate': False},
        'openstack': {'handlers': ['console'], 'level': 'DEBUG', 'propagate': False},
        'urllib3': {'handlers': ['null'], 'propagate': False},
        'iso8601': {'handlers': ['null'], 'propagate': False},
    },
}
