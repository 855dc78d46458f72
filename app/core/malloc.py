"""How many malloc arenas a server process may use.

glibc gives a thread that allocates while another holds the main arena an arena of its own,
up to eight per core, and keeps their freed memory. A server process runs some 58 threads
(the search index's writers alone bring 42), so under a mixed load each worker grew 100–180 MB
in 20 s and peaked at 319–357 MB, over the 250 MB a worker may use (bench/bench_mixed.py).
Capping the arenas alone was not enough (two: peaks of 252–255 MB on PostgreSQL; one: up to
251 MB on SQLite). With one arena and a fixed mmap threshold (so freed large blocks go back to
the system instead of staying in the heap), 60 s of the mixed load peaked at 198–218 MB on
SQLite and 192–217 MB on PostgreSQL, at the same throughput (147 and 162 requests/s).
"""

import ctypes
import ctypes.util
import os

#: mallopt's parameter numbers (glibc's malloc.h).
M_ARENA_MAX = -8
M_MMAP_THRESHOLD = -3
#: Blocks this large are mapped and unmapped on their own; setting it also stops glibc from
#: raising it after each freed large block (its default), which keeps freed response bodies
#: and index buffers in the heap for good.
MMAP_THRESHOLD = 128 * 1024
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
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return bool(mallopt(M_ARENA_MAX, count))
