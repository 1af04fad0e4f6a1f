#!/usr/bin/env python3
"""Tiny cleartext backend for the generic TLS terminators (HAProxy, stunnel, hitch,
nginx stream) in scripts/bench-peers: sends one SMTP-style greeting line on connect,
answers QUIT with 221 and anything else with 250, and closes at EOF. It is never the
process being measured; it only gives the terminators something to proxy to.

usage: greeting-server.py PORT [GREETING]
"""
import asyncio
import resource
import sys


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, greeting: bytes) -> None:
    try:
        writer.write(greeting)
        await writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                break
            if line.strip().upper().startswith(b"QUIT"):
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                break
            writer.write(b"250 2.0.0 OK\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main() -> None:
    port = int(sys.argv[1])
    text = sys.argv[2] if len(sys.argv) > 2 else "220 bench.mailedge.test ESMTP greeting backend"
    greeting = (text + "\r\n").encode()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    server = await asyncio.start_server(lambda r, w: handle(r, w, greeting),
                                        host="127.0.0.1", port=port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
