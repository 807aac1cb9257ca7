"""docker-compose.yml (no Docker engine here): services, ports, dependencies, volumes, health checks,
secrets only from the env file, and nginx routing each sender to one Rasa replica."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
NGINX = (REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8")
RASA = ("rasa-1", "rasa-2")


def seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)s", str(value))
    assert match, value
    return int(match.group(1))


def test_the_services_of_the_topology():
    assert set(SERVICES) == {"rasa-1", "rasa-2", "actions", "postgres", "redis", "nginx", "kb-load", "staff"}


def test_only_nginx_publishes_a_public_port_and_the_servers_expose_theirs():
    assert SERVICES["nginx"]["ports"] == ["8080:80"]
    assert [s for s, spec in SERVICES.items() if spec.get("ports")] == ["staff", "nginx"]
    # the staff desk is published on one host address only: loopback unless STAFF_BIND names the office's
    assert SERVICES["staff"]["ports"] == ["${STAFF_BIND:-127.0.0.1}:8090:8090"]
    for name in RASA:
        assert SERVICES[name]["expose"] == ["5005"]
    assert SERVICES["actions"]["expose"] == ["5055"]


@pytest.mark.parametrize("name", RASA)
def test_rasa_replicas_wait_for_their_stores_the_kb_load_and_the_action_server(name):
    assert SERVICES[name]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "kb-load": {"condition": "service_completed_successfully"},
        "actions": {"condition": "service_healthy"},
    }
    command = " ".join(SERVICES[name]["command"])
    assert "--endpoints deploy/endpoints.yml" in command and "--credentials deploy/credentials.yml" in command
    assert "--logging-config-file deploy/logging.yml" in command


def test_the_action_server_and_nginx_dependencies():
    assert SERVICES["actions"]["depends_on"]["kb-load"] == {"condition": "service_completed_successfully"}
    assert SERVICES["actions"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert SERVICES["nginx"]["depends_on"] == {n: {"condition": "service_healthy"} for n in RASA}
    assert SERVICES["kb-load"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_kb_load_is_a_one_shot_build_into_postgresql():
    assert SERVICES["kb-load"]["command"] == ["madoguchi", "kb", "build"]
    assert SERVICES["kb-load"]["restart"] == "no"
    example = (REPO / "deploy" / ".env.example").read_text(encoding="utf-8")
    assert re.search(r"^MADOGUCHI_DB_URL=postgresql\+psycopg2://\S+@postgres:5432/", example, re.M)


def test_every_service_has_a_health_check_and_rasa_waits_long_enough_for_the_model():
    for name, spec in SERVICES.items():
        if name == "kb-load":
            continue
        assert spec.get("healthcheck", {}).get("test"), name
    for name in RASA:
        assert seconds(SERVICES[name]["healthcheck"]["start_period"]) >= 120
        assert "127.0.0.1:5005/" in " ".join(SERVICES[name]["healthcheck"]["test"])
    assert "/health" in " ".join(SERVICES["actions"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(SERVICES["nginx"]["healthcheck"]["test"])


def test_volumes_persist_postgresql_and_mount_the_widget_and_nginx_config():
    assert "pgdata" in COMPOSE["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    mounts = SERVICES["nginx"]["volumes"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in mounts
    assert "./web:/usr/share/nginx/html:ro" in mounts
    for path in ("deploy/nginx.conf", "deploy/Dockerfile", "deploy/endpoints.yml", "deploy/credentials.yml",
                 "deploy/logging.yml", "web/index.html"):
        assert (REPO / path).exists(), path


def test_secrets_come_from_the_env_file_only():
    for name in ("postgres", "kb-load", "actions", *RASA):
        assert SERVICES[name]["env_file"] == "deploy/.env"
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    assert not re.search(r"(PASSWORD|SECRET|TOKEN)\s*[:=]\s*\S", text), "no secret literal in the compose file"
    for spec in SERVICES.values():  # what a service sets itself is settings, never a secret
        environment = spec.get("environment") or {}
        assert not any(re.search(r"PASSWORD|SECRET|TOKEN", key) for key in environment)
        assert not any(key.endswith("_URL") and "@" in value for key, value in environment.items())  # no user:pw@
    endpoints = (REPO / "deploy" / "endpoints.yml").read_text(encoding="utf-8")
    assert "password: ${POSTGRES_PASSWORD}" in endpoints


def test_the_rasa_endpoints_use_postgresql_tracker_and_redis_lock_stores():
    endpoints = yaml.safe_load((REPO / "deploy" / "endpoints.yml").read_text(encoding="utf-8"))
    tracker = endpoints["tracker_store"]
    assert tracker["type"] == "bot.privacy.tracker_store.MaskingTrackerStore" and "store_type" not in tracker
    assert tracker["inner_store"] == "sql" and tracker["dialect"] == "postgresql" and tracker["url"] == "postgres"
    assert endpoints["lock_store"]["type"] == "redis" and endpoints["lock_store"]["url"] == "redis"
    assert str(endpoints["lock_store"]["key_prefix"]).isalnum()  # Rasa ignores a non-alphanumeric prefix
    assert endpoints["action_endpoint"]["url"] == "http://actions:5055/webhook"


def test_nginx_routes_each_sender_consistently_to_one_replica():
    upstream = re.search(r"upstream rasa \{(.*?)\}", NGINX, re.S).group(1)
    assert re.search(r"^\s*hash \$sender_key consistent;", upstream, re.M)
    assert sorted(re.findall(r"server (rasa-\d):5005", upstream)) == list(RASA)
    assert "$http_x_madoguchi_sender" in NGINX and "$arg_sender" in NGINX and "$remote_addr" in NGINX
    assert re.search(r"location = /healthz \{[^}]*return 200", NGINX)
    for location in ("/webhooks/", "/socket.io/"):
        block = re.search(re.escape(f"location {location}") + r" \{(.*?)\}", NGINX, re.S).group(1)
        assert "proxy_pass http://rasa;" in block
    assert "Upgrade $http_upgrade" in NGINX


def test_the_image_installs_the_locked_dependencies_and_the_package():
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.10-slim" in dockerfile
    assert "pip install -r requirements.lock" in dockerfile
    assert "pip install --no-deps --no-build-isolation -e ." in dockerfile
    assert "rasa train" in dockerfile
    assert all(SERVICES[n]["image"] == "madoguchi:latest" for n in ("kb-load", "actions", *RASA))


@pytest.mark.parametrize("name", RASA)
def test_rasa_starts_through_the_start_up_and_sees_clients_behind_nginx(name):
    """The guard (bot.runtime via bot.serve) is installed, and the rate limit reads the address nginx
    forwards: without MADOGUCHI_PROXIES_COUNT every resident would share nginx's one bucket."""
    service = COMPOSE["services"][name]
    assert "python -m bot.serve run" in " ".join(service["command"])
    assert str(service["environment"]["MADOGUCHI_PROXIES_COUNT"]) == "1"
    for location in ("/webhooks/", "/socket.io/"):
        block = re.search(rf"location {re.escape(location)} \{{(.*?)\}}", NGINX, re.S).group(1)
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in block, location
    assert "python -m bot.serve" in " ".join(COMPOSE["services"]["actions"]["command"])
    # one session secret for both replicas (a token one issued must verify on the other)
    assert 'test -n "$MADOGUCHI_SESSION_SECRET"' in " ".join(service["command"]).replace("$$", "$")
    assert "MADOGUCHI_SESSION_SECRET=" in (REPO / "deploy" / ".env.example").read_text(encoding="utf-8")


def test_the_staff_desk_is_its_own_server_not_behind_the_public_front():
    staff = SERVICES["staff"]
    assert staff["command"] == ["python", "-m", "bot.staff", "--host", "0.0.0.0", "--port", "8090"]
    assert staff["image"] == "madoguchi:latest" and staff["env_file"] == "deploy/.env"
    assert staff["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                   "kb-load": {"condition": "service_completed_successfully"}}
    assert "127.0.0.1:8090/healthz" in " ".join(staff["healthcheck"]["test"])
    assert "staff" not in SERVICES["nginx"]["depends_on"]
    assert not re.search(r"staff:|:8090|staff_desk", NGINX), "nginx (the public front) never routes to the staff desk"
    assert "MADOGUCHI_STAFF_SECRET=" in (REPO / "deploy" / ".env.example").read_text(encoding="utf-8")


def test_the_staff_desk_switches_both_replicas_and_a_restarted_replica_keeps_the_retrained_model():
    """After a publish with new names the desk retrains into a volume the replicas share, and switches
    each replica through Rasa's API (bot/staff/retraining.py); a replica that restarts starts on that
    model (bot/retrained_model.py), not on the image's older one."""
    from bot.staff.retraining import guide_urls

    staff = SERVICES["staff"]
    assert guide_urls(staff["environment"]) == [f"http://{name}:5005" for name in RASA]
    assert "retraining:/app/var/retraining" in staff["volumes"] and "retraining" in COMPOSE["volumes"]
    for name in RASA:
        service = SERVICES[name]
        assert "retraining:/app/var/retraining" in service["volumes"]
        assert service["environment"]["MADOGUCHI_RETRAINED_MODEL"] == "/app/var/retraining/current.tar.gz"
        command = " ".join(service["command"]).replace("$$", "$")
        assert '--enable-api --auth-token "$MADOGUCHI_RASA_TOKEN"' in command
        assert 'test -n "$MADOGUCHI_RASA_TOKEN"' in command  # never an API without its token
    assert "MADOGUCHI_RASA_TOKEN=" in (REPO / "deploy" / ".env.example").read_text(encoding="utf-8")
    # the image's folder for the volume belongs to the user the services run as
    assert "mkdir -p var/retraining" in (REPO / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    # the API stays inside: nginx routes only the channels to the replicas
    routed = re.findall(r"location\s+(\S+)\s*\{[^}]*proxy_pass http://rasa", NGINX)
    assert sorted(routed) == ["/socket.io/", "/webhooks/"]
