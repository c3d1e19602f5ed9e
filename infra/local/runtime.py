"""The whole system on one laptop: moto, the topology's resources, Cognito with
demo users, function pools, the gateway and demo data; stopped cleanly together."""

from __future__ import annotations

import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import boto3

from infra.environment import function_environment
from infra.local import cognito, openapi, provision
from infra.local.auth import TokenVerifier
from infra.local.gateway import Gateway, GatewayServer
from infra.local.lambdas import FunctionPool
from infra.local.moto_server import MotoServer
from shared.topology import System

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    moto_port: int = 0
    stage: str = "local"
    region: str = "ap-northeast-2"
    state_dir: Path = Path(".dangol")
    seed: bool = True
    access_log: bool = True
    max_workers: int = 4


@dataclass
class Started:
    url: str
    moto_url: str
    pool: cognito.Pool
    users: dict[str, cognito.DemoUser]
    subjects: dict[str, str] = field(default_factory=dict)


class LocalRuntime:
    def __init__(self, system: System, config: Config = Config()) -> None:
        self.system = system
        self.config = config
        self.pools: dict[str, FunctionPool] = {}
        self._verifier: TokenVerifier | None = None
        self._spec: dict[str, Any] = {}
        gateway = Gateway(
            system.routes,
            self.pools,
            self.verifier,
            stage=config.stage,
            spec=lambda: self._spec,
            access_log=config.access_log,
        )
        # Bind first: if the port is taken we fail before starting anything else.
        self.server = GatewayServer(gateway, host=config.host, port=config.port)
        self.moto = MotoServer(config.host, config.moto_port)
        self.started: Started | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def verifier(self) -> TokenVerifier:
        assert self._verifier is not None, "the runtime is not started"
        return self._verifier

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.moto.url,
            region_name=self.config.region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def start(self) -> Started:
        cfg = self.config
        moto_url = self.moto.start()
        provision.create_tables(self.client("dynamodb"), self.system, cfg.stage)
        provision.create_bus(self.client("events"), self.system, cfg.stage)
        idp = self.client("cognito-idp")
        pool = cognito.create_pool(
            idp, name=f"{self.system.name}-{cfg.stage}", endpoint=moto_url, region=cfg.region
        )
        users = {u.username: u for u in (*cognito.DEMO_USERS, *cognito.DEMO_CUSTOMERS)}
        subjects = {u.username: cognito.add_user(idp, pool, u) for u in users.values()}
        self._verifier = TokenVerifier(pool.jwks(), issuer=pool.issuer, client_ids=[pool.client_id])
        self._start_functions(moto_url)
        self.server.serve_in_thread()
        self.started = Started(self.url, moto_url, pool, users, subjects)
        self._write_state(self.started)
        return self.started

    def _start_functions(self, moto_url: str) -> None:
        cfg = self.config
        common = {
            **LOCAL_CREDENTIALS,
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_REGION": cfg.region,
            "AWS_DEFAULT_REGION": cfg.region,
            "CURSOR_SIGNING_KEY": secrets.token_urlsafe(32),
        }
        for fn in self.system.functions:
            env = function_environment(
                self.system,
                fn,
                stage=cfg.stage,
                table_name=lambda t: provision.table_name(self.system, cfg.stage, t),
                bus_name=lambda b: provision.bus_name(self.system, cfg.stage, b),
            )
            self.pools[fn.id] = FunctionPool(
                fn, {**common, **env}, cfg.state_dir / "logs", max_workers=cfg.max_workers
            )
        # Warm one worker per API function (its cold start) while asking it for its OpenAPI part.
        api_functions = {r.function.id for r in self.system.routes}
        with ThreadPoolExecutor(max_workers=4) as executor:
            parts = list(executor.map(lambda fid: self.pools[fid].openapi(), sorted(api_functions)))
        self._spec = openapi.merge(self.system, parts, server_url=self.url, version=_version())

    def _write_state(self, started: Started) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "url": started.url,
            "moto_url": started.moto_url,
            "region": self.config.region,
            "pool_id": started.pool.pool_id,
            "client_id": started.pool.client_id,
            "users": {
                u.username: {
                    "password": u.password,
                    "role": u.role.value,
                    "sub": started.subjects[u.username],
                }
                for u in started.users.values()
            },
        }
        path = self.config.state_dir / "local.json"
        path.write_text(json.dumps(state, indent=2))
        path.chmod(0o600)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        for pool in self.pools.values():
            pool.close()
        self.moto.stop()
        (self.config.state_dir / "local.json").unlink(missing_ok=True)


def _version() -> str:
    try:
        return version("dangol")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0.0.0"


def load_state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / "local.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is the local system running (make run)?")
    return dict(json.loads(path.read_text()))
