"""Session and sign-in settings are read once from the environment and refuse what cannot work."""
import pytest

from engine.settings import Settings, SettingsError, _web_settings


def _env(tmp_path, **values):
    return {"SAGSGANG_INSTANCE_PATH": str(tmp_path), **values}


def test_defaults_are_local_accounts_with_expiring_sessions(tmp_path):
    settings = Settings.from_env(_env(tmp_path))
    assert settings.session_idle_minutes == 120 and settings.session_max_minutes == 720
    assert settings.oidc_client_id == "" and settings.oidc_user_claims == ("preferred_username", "email")
    assert settings.cookie_secure is False


def test_oidc_needs_its_metadata_url_and_secret(tmp_path):
    with pytest.raises(SettingsError, match="SAGSGANG_OIDC_METADATA_URL"):
        Settings.from_env(_env(tmp_path, SAGSGANG_OIDC_CLIENT_ID="sagsgang", SAGSGANG_OIDC_CLIENT_SECRET="s"))
    with pytest.raises(SettingsError, match="SAGSGANG_OIDC_CLIENT_SECRET"):
        Settings.from_env(_env(tmp_path, SAGSGANG_OIDC_CLIENT_ID="sagsgang",
                               SAGSGANG_OIDC_METADATA_URL="https://idp.example/.well-known/openid-configuration"))
    settings = Settings.from_env(_env(tmp_path, SAGSGANG_OIDC_CLIENT_ID="sagsgang", SAGSGANG_OIDC_CLIENT_SECRET="s",
                                      SAGSGANG_OIDC_METADATA_URL="https://idp.example/.well-known/openid-configuration",
                                      SAGSGANG_OIDC_USER_CLAIMS="email, upn"))
    assert settings.oidc_user_claims == ("email", "upn")


def test_session_limits_must_make_sense(tmp_path):
    with pytest.raises(SettingsError, match="SAGSGANG_SESSION_IDLE_MINUTES"):
        Settings.from_env(_env(tmp_path, SAGSGANG_SESSION_IDLE_MINUTES="90", SAGSGANG_SESSION_MAX_MINUTES="30"))
    with pytest.raises(SettingsError, match="SAGSGANG_SESSION_MAX_MINUTES must be a number"):
        Settings.from_env(_env(tmp_path, SAGSGANG_SESSION_MAX_MINUTES="lots"))


def test_cookies_are_secure_in_production_or_when_asked(tmp_path):
    assert _web_settings({}, "production")["cookie_secure"] is True
    assert _web_settings({}, "embedded")["cookie_secure"] is False
    assert Settings.from_env(_env(tmp_path, SAGSGANG_COOKIE_SECURE="true")).cookie_secure is True
