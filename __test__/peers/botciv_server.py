"""A loopback stand-in for the incident's bot_civ server (FastAPI/Starlette on uvicorn).

Run it with one of the venvs made by scripts/setup-python.sh:

    .cache/py-uvicorn-new/bin/python __test__/peers/botciv_server.py --port 0

When the listening socket is bound and uvicorn has started, one line is printed on stdout:

    BOTCIV_READY port=43125 uvicorn=0.54.0 ws=websockets-sansio pid=1234

Endpoints
---------
WS   /ws/{agent_id}        one connection per agent id; a newer connection for the same id
                           makes the server close the OLDER one with 4001 "Replaced".
                           JSON text frames. {"type":"chat_message",...} is recorded and
                           echoed back as {...same fields..., "echo": true, "seq": n}.
                           Any other JSON object is recorded (not echoed); a frame that is
                           not a JSON object is answered with {"type":"error",...}.
     query ?mode=goodbye&n=N   after accept: send N (default 1) chat messages
                           {"type":"chat_message","content":"goodbye <i>","last":bool,...}
                           and close with 1000 at once (shows "last message lost" when the
                           server resets the TCP connection right after its close frame).
     query ?mode=echo-once     echo the first chat_message, then close with 1000 at once.
GET  /stats                {"agents": {id: {"accepted", "open", "messages", "closes"}}}
GET  /wait/{agent_id}?accepted=&open=&messages=&closes=&timeout=30
                           long-poll: answers (200, that agent's stats) as soon as every
                           given condition holds (open: ==, others: >=); 408 on timeout.
POST /close/{agent_id}?code=4000&reason=bye   server closes that agent's current socket.
POST /reset                forget all stats (open sockets are left alone).
GET  /healthz              {"ok": true, ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

app = FastAPI()


class Agent:
    def __init__(self) -> None:
        self.accepted = 0
        self.open = 0
        self.messages: list[Any] = []
        # how each connection of this agent ended, in order: {"conn", "code", "by"}
        self.closes: list[dict[str, Any]] = []
        self.current: WebSocket | None = None
        self.current_conn = 0


agents: dict[str, Agent] = {}
_changed: asyncio.Condition | None = None


def changed() -> asyncio.Condition:
    global _changed
    if _changed is None:
        _changed = asyncio.Condition()
    return _changed


async def notify() -> None:
    """Wake GET /wait long-polls: call after every change of the stats."""
    cond = changed()
    async with cond:
        cond.notify_all()


def agent(agent_id: str) -> Agent:
    a = agents.get(agent_id)
    if a is None:
        a = agents[agent_id] = Agent()
    return a


async def safe_close(ws: WebSocket, code: int, reason: str) -> bool:
    """Close a server-side socket unless it is already closed. Returns True if we sent close."""
    if ws.application_state != WebSocketState.CONNECTED:
        return False
    try:
        await ws.close(code=code, reason=reason)
        return True
    except (RuntimeError, WebSocketDisconnect, OSError):
        return False


@app.websocket("/ws/{agent_id}")
async def ws_endpoint(ws: WebSocket, agent_id: str) -> None:
    a = agent(agent_id)
    await ws.accept()
    a.accepted += 1
    a.open += 1
    conn_no = a.accepted
    older = a.current
    a.current = ws
    a.current_conn = conn_no
    await notify()
    if older is not None:
        # bot_civ's connection pool: one bot per agent id, the newcomer wins.
        await safe_close(older, 4001, "Replaced")

    mode = ws.query_params.get("mode", "")
    end: dict[str, Any] = {"conn": conn_no, "code": None, "by": None}
    try:
        if mode == "goodbye":
            n = int(ws.query_params.get("n", "1"))
            for i in range(n):
                await ws.send_text(
                    json.dumps(
                        {"type": "chat_message", "agent_id": agent_id, "content": f"goodbye {i}", "i": i, "last": i == n - 1}
                    )
                )
            await ws.close(code=1000, reason="goodbye")
            end.update(code=1000, by="server")
            return

        while True:
            try:
                text = await ws.receive_text()
            except WebSocketDisconnect as exc:
                end.update(code=exc.code, by="client")
                return
            except KeyError:
                # a binary frame: starlette's receive_text() does message["text"]
                await ws.send_text(json.dumps({"type": "error", "error": "binary frames are not accepted"}))
                continue
            try:
                msg = json.loads(text)
            except ValueError:
                msg = None
            if not isinstance(msg, dict):
                await ws.send_text(json.dumps({"type": "error", "error": "expected a JSON object", "got": text[:200]}))
                continue
            a.messages.append(msg)
            await notify()
            if msg.get("type") == "chat_message":
                await ws.send_text(json.dumps({**msg, "echo": True, "seq": len(a.messages)}))
                if mode == "echo-once":
                    await ws.close(code=1000, reason="echo-once")
                    end.update(code=1000, by="server")
                    return
    except WebSocketDisconnect as exc:
        end.update(code=exc.code, by="client")
    except RuntimeError:
        # receive/send after the server closed it (4001 takeover or POST /close)
        if end["by"] is None:
            end.update(by="server")
    finally:
        a.open -= 1
        if a.current is ws:
            a.current = None
        if hasattr(ws, "_clawsock_close_code"):
            # the server closed it (takeover, POST /close, goodbye): report the server's code
            end.update(code=ws._clawsock_close_code, by="server")
        a.closes.append(end)
        await notify()


_orig_close = WebSocket.close


async def _tracking_close(self: WebSocket, code: int = 1000, reason: str | None = None) -> None:
    self._clawsock_close_code = code  # type: ignore[attr-defined]
    self._clawsock_close_by = "server"  # type: ignore[attr-defined]
    await _orig_close(self, code=code, reason=reason)


WebSocket.close = _tracking_close  # type: ignore[method-assign]


@app.get("/stats")
async def stats() -> dict[str, Any]:
    return {"agents": {k: agent_view(v) for k, v in agents.items()}}


def agent_view(a: Agent | None) -> dict[str, Any]:
    if a is None:
        return {"accepted": 0, "open": 0, "messages": [], "closes": []}
    return {"accepted": a.accepted, "open": a.open, "messages": a.messages, "closes": a.closes}


@app.get("/wait/{agent_id}")
async def wait_for(
    agent_id: str,
    accepted: int | None = None,
    open: int | None = None,
    messages: int | None = None,
    closes: int | None = None,
    timeout: float = 30.0,
) -> JSONResponse:
    """Long-poll: answer once the agent's stats satisfy every given condition
    (accepted/messages/closes: at least N; open: exactly N). 408 with the current stats
    if that does not happen within `timeout` seconds (a safety net, not a test timing)."""

    def ok() -> bool:
        v = agent_view(agents.get(agent_id))
        return (
            (accepted is None or v["accepted"] >= accepted)
            and (open is None or v["open"] == open)
            and (messages is None or len(v["messages"]) >= messages)
            and (closes is None or len(v["closes"]) >= closes)
        )

    cond = changed()
    try:
        async with cond:
            await asyncio.wait_for(cond.wait_for(ok), timeout)
    except asyncio.TimeoutError:
        return JSONResponse(agent_view(agents.get(agent_id)), status_code=408)
    return JSONResponse(agent_view(agents.get(agent_id)))


@app.post("/close/{agent_id}")
async def close_agent(agent_id: str, code: int = 1000, reason: str = "") -> JSONResponse:
    a = agents.get(agent_id)
    ws = a.current if a else None
    if ws is None:
        return JSONResponse({"closed": False, "error": "no open connection"}, status_code=404)
    # the endpoint task is blocked in receive_text(); closing from here makes it see
    # a RuntimeError / disconnect and clean up.
    sent = await safe_close(ws, code, reason)
    return JSONResponse({"closed": sent, "code": code, "reason": reason})


@app.post("/reset")
async def reset() -> dict[str, bool]:
    for k in list(agents):
        a = agents[k]
        if a.current is None:
            del agents[k]
        else:
            a.accepted = 1
            a.open = 1
            a.messages = []
            a.closes = []
    await notify()
    return {"ok": True}


@app.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    return {"ok": True, "uvicorn": uvicorn.__version__, "pid": os.getpid()}


class ReadyServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, port: int, ws_impl: str) -> None:
        super().__init__(config)
        self._port = port
        self._ws_impl = ws_impl

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(
                f"BOTCIV_READY port={self._port} uvicorn={uvicorn.__version__} ws={self._ws_impl} pid={os.getpid()}",
                flush=True,
            )


def resolve_ws_impl(requested: str) -> str:
    if requested != "auto":
        return requested
    from uvicorn.protocols.websockets import auto

    cls = auto.AutoWebSocketsProtocol
    name = getattr(cls, "__module__", "")
    if "sansio" in name:
        return "websockets-sansio"
    if "wsproto" in name:
        return "wsproto"
    return "websockets"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ws", default="auto", help="auto | websockets-sansio | websockets | wsproto")
    p.add_argument("--log-level", default="warning")
    p.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when stdin reaches EOF (the parent that spawned us died)",
    )
    args = p.parse_args()

    if args.exit_on_stdin_eof:

        def watch_stdin() -> None:
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                os._exit(0)

        threading.Thread(target=watch_stdin, daemon=True).start()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]

    ws_impl = resolve_ws_impl(args.ws)
    config = uvicorn.Config(
        app,
        ws=ws_impl,
        log_level=args.log_level,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = ReadyServer(config, port, ws_impl)
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
