"""A leader-election candidate in its own process, for the hand-over test.

    python leader_candidate.py SERVER TOKEN CA NAMESPACE IDENTITY LEASE RENEW RETRY

Prints "LEADING" when it holds the lease, then works until killed. SIGTERM stops it
cleanly (the lease is released); SIGKILL is a crash.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from colo.kube.leader import LeaderElector
from colo.kube.transport import Transport


async def main(argv: list[str]) -> None:
    server, token, ca, ns, identity, lease, renew, retry = argv
    async with Transport(server, token=token, ca_file=ca) as t:
        elector = LeaderElector(
            t,
            namespace=ns,
            name="colo-e2e",
            identity=identity,
            lease_duration_s=float(lease),
            renew_deadline_s=float(renew),
            retry_period_s=float(retry),
        )

        async def lead() -> None:
            print("LEADING", flush=True)
            await asyncio.Event().wait()

        task = asyncio.ensure_future(elector.run(lead))
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            print("RELEASED", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
