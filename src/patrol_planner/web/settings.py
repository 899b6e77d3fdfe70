"""Django settings of the tasking room, built from the data folder (see :mod:`.runtime`).

Security-relevant choices, each Django's or a named library's, none hand-written: Argon2 password hashing,
secure and HTTP-only cookies, CSRF on every unsafe request, clickjacking protection (``X-Frame-Options:
DENY`` and ``frame-ancestors 'none'``), django-csp with no inline script and no external origin,
django-axes login throttling. ``DEBUG`` is always off: no debug page is ever served.
"""

from __future__ import annotations

import os
from pathlib import Path

from patrol_planner.web import runtime

DATA_DIR: Path = runtime.data_dir()
SECRET_KEY = runtime.secret("secret_key", DATA_DIR)
#: Key of the audit log's HMAC chain: separate from SECRET_KEY so rotating sessions keeps the chain checkable.
AUDIT_KEY = runtime.secret("audit_key", DATA_DIR)
#: The audit chain's newest event number and hash, kept outside the database (see web/audit.py).
AUDIT_ANCHOR_FILE = DATA_DIR / "audit-anchor.json"
TLS_PROXY = os.environ.get(runtime.ENV_TLS_PROXY, "") == "1"

DEBUG = False
ALLOWED_HOSTS = [h.strip() for h in os.environ.get(runtime.ENV_HOSTS, "127.0.0.1,localhost").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "patrol_planner.web.apps.TaskingConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the supervisor's TOTP step
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "patrol_planner.web.urls"
ASGI_APPLICATION = "patrol_planner.web.asgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "patrol_planner.web.roles.role_context",
    ]},
}]

DATABASES = {"default": runtime.database_settings(os.environ.get(runtime.ENV_DB), DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1  # [h]
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600  # one shift
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if TLS_PROXY:
    # Behind a TLS reverse proxy that sets X-Forwarded-Proto (docs/web.md): redirect plain HTTP, HSTS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False
    SILENCED_SYSTEM_CHECKS = ["security.W021"]  # preload is a domain owner's decision, not the app's

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    },
}

STATIC_URL = "/static/"
STATIC_ROOT = None  # nothing is collected: WhiteNoise serves the package's static files
WHITENOISE_USE_FINDERS = True  # serve the package's static files without a collectstatic step
# Leaflet is vendored once, in patrol_planner/resources/ (the offline briefing inlines the same files; licence
# beside them); the tasking room serves that copy under static/web/leaflet/.
STATICFILES_DIRS = [("web/leaflet", str(Path(__file__).resolve().parents[1] / "resources"))]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["console"], "level": "WARNING"},
                "django_tasks": {"handlers": ["console"], "level": "INFO"}},
}

OTP_TOTP_ISSUER = "Tasking room"
