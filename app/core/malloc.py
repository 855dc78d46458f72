"""How many malloc arenas a server process may use.

glibc gives a thread that allocates while another holds the main arena an arena of its own,
up to eight per core, and keeps their freed memory. A server process runs some 58 threads
(the search index's writers alone bring 42), so under a mixed load each worker grew 100–180 MB
in 20 s and peaked at 319–357 MB, over the 250 MB a worker may use (bench/bench_mixed.py).
Two arenas were not enough on PostgreSQL (peaks of 252–255 MB over 60 s); one arena, shared by
every thread, held both backends under it (209–232 MB on PostgreSQL) with the same throughput
(186 against 180 requests/s): the threads' allocations are small and brief.
"""

import ctypes
import ctypes.util
import os

#: mallopt's parameter number for the arena limit (glibc's malloc.h).
M_ARENA_MAX = -8
ARENAS = 1


def limit_arenas(count: int = ARENAS) -> bool:
    """Cap glibc's arenas at ``count`` for the rest of the process (arenas made already stay).

    Nothing is done where ``MALLOC_ARENA_MAX`` is set (glibc read it at start: the operator
    decided) or where the C library has no ``mallopt`` (not glibc). True when the cap was set.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, count))
