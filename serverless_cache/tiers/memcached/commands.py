"""One round trip to one node: a read of the namespace generation, then the commands, then
``mn``.

Memcached runs the commands of a connection in order, so the generation read first is the one
the commands ran under: if it is not the generation the keys were made with, a ``clear()``
came between, and the caller sends them again under the new one (what went to the old
namespace can never be read). The replies of these commands are text lines (``STORED``,
``DELETED``, ``HD t30``, digits), never values, so reading up to ``MN`` is safe. Memcached
1.6 or later (``mg``, ``mn``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pymemcache.client.base import Client

END: Final = b"MN\r\n"


def store(command: bytes, key: bytes, data: bytes, exptime: int, flags: int = 0) -> bytes:
    """A ``set``/``add`` command line and its data block."""
    return b"%s %s %d %d %d\r\n%s\r\n" % (command, key, flags, exptime, len(data), data)


def swap_command(key: bytes, data: bytes, exptime: int, unique: bytes) -> bytes:
    """A ``cas`` command: store ``data`` only if the item is still the one ``gets`` read."""
    return b"cas %s 0 %d %d %s\r\n%s\r\n" % (key, exptime, len(data), unique, data)


def line(*words: bytes) -> bytes:
    return b" ".join(words) + b"\r\n"


def send(
    mc: Client, generation_key: bytes, commands: Sequence[bytes]
) -> tuple[int | None, list[bytes]]:
    """Run ``get <generation_key>``, ``commands`` and ``mn`` in one round trip.

    Returns the generation the node held (None: not set there) and one reply line per command.
    """
    request = b"get " + generation_key + b"\r\n" + b"".join(commands) + b"mn\r\n"
    lines = exchange(mc, request).split(b"\r\n")
    generation = None
    if lines[0].startswith(b"VALUE "):
        generation = int(lines[1])
        lines = lines[3:]  # VALUE header, digits, END
    else:
        lines = lines[1:]  # END
    return generation, lines[: len(commands)]


def exchange(mc: Client, request: bytes) -> bytes:
    """Send ``request`` on ``mc``'s socket and read up to ``MN``.

    Not pymemcache's ``raw_command``: its reader drops what arrived before the last segment
    when a reply spans several reads. A failure closes the socket: its stream is unknown.
    """
    from pymemcache.exceptions import MemcacheUnexpectedCloseError

    if mc.sock is None:
        mc._connect()
    try:
        mc.sock.sendall(request)
        reply = b""
        while not (reply.endswith(b"\r\n" + END) or reply == END):
            chunk = mc.sock.recv(65536)
            if not chunk:
                raise MemcacheUnexpectedCloseError()
            reply += chunk
    except BaseException:
        mc.close()
        raise
    return reply[: -len(END)]
