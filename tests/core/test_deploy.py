"""Production settings pass Django's deployment checks; secrets come only from the env."""

import os
import secrets
import subprocess
import sys


def run_check(tmp_path, **env):
    environment = {
        key: value
        for key, value in os.environ.items()
        # The checks run on a scratch SQLite file in tmp_path.
        if key not in {"SECRET_KEY", "DEBUG", "SMTP_HOST", "LEADFLOW_HTTPS", "DATABASE_URL"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="leadflow.config.settings", LEADFLOW_DATA_DIR=str(tmp_path), **env
    )
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    result = run_check(
        tmp_path,
        LEADFLOW_HTTPS="1",
        SMTP_HOST="smtp.example.com",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="leads.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_plain_http(tmp_path):
    result = run_check(tmp_path, SMTP_HOST="smtp.example.com", SECRET_KEY=secrets.token_urlsafe(50))
    assert "security.W012" in result.stdout + result.stderr  # insecure session cookie


def test_secret_key_is_generated_once_and_kept(tmp_path):
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    environment = {key: value for key, value in os.environ.items() if key != "SECRET_KEY"}
    environment.update(
        DJANGO_SETTINGS_MODULE="leadflow.config.settings", LEADFLOW_DATA_DIR=str(tmp_path)
    )
    first = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    second = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    assert first.stdout == second.stdout and len(first.stdout.strip()) > 50
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
