"""Run a simulated DALI line as a process of its own, behind a simulated Lunatone RS-232 interface.

    python -m simulators.dali --gear 16 --link /tmp/eclor-dali0
    python -m simulators.dali --gear 8 --tcp 127.0.0.1:5500   # for socat on another machine

It prints ``ready <path-or-host:port>`` on stdout once it serves, logs a summary of the line every
``--report`` seconds, and stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from simulators.dali.line import BusTiming, DaliLine
from simulators.dali.luba import LubaServer, serve_luba_pty, serve_luba_tcp

_LOG = logging.getLogger("simulators.dali")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.dali",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--gear", type=int, default=16, help="control gear on the line (0-64)")
    parser.add_argument("--rated-power", type=float, default=60.0, help="W per gear")
    parser.add_argument("--link", help="symlink to create for the pty (default: none)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="serve the byte stream on TCP instead")
    parser.add_argument("--speed", type=float, default=1.0, help="bus speed factor (1 = real)")
    parser.add_argument("--report", type=float, default=60.0, help="seconds between summaries")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    line = DaliLine(args.gear, timing=BusTiming(speed=args.speed), rated_power_w=args.rated_power)
    server: LubaServer
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server = await serve_luba_tcp(line, host or "127.0.0.1", int(port))
        where = "{}:{}".format(*(server.tcp_address or ("?", 0)))
    else:
        server = await serve_luba_pty(line, args.link)
        where = server.path or "?"
    print(f"ready {where}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=args.report)
            except TimeoutError:
                _LOG.info(
                    "%r: %d frames, %.1f W, %.1f Wh",
                    line,
                    line.frame_count,
                    line.power_w,
                    line.energy_wh,
                )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
