"""Helper processes (the scan engine's workers, the site's renderers, the judging of earlier scans
for the site) end with the command that started them, and quietly.

* :func:`die_with_parent`: the kernel kills the process when its parent dies (``PR_SET_PDEATHSIG``,
  Linux), so a command killed with SIGKILL leaves nothing running and no orphan prints a traceback
  into the user's terminal when it finds its pipes gone.
* :func:`quiet_pool_worker`: the initializer of every ``multiprocessing`` pool: Ctrl-C is the
  parent's to handle (it stops the pool), and the SIGTERM a pool sends its workers at its end
  ends them silently (not through the CLI's handler, inherited by ``fork``, that turns SIGTERM
  into a KeyboardInterrupt and a traceback).
"""

from __future__ import annotations

import os
import signal


def die_with_parent(parent: int | None = None) -> None:
    """Be killed when the parent process dies; ``parent`` (its pid, taken before the fork or spawn)
    also covers a parent that died before this call."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass
    if parent is not None and os.getppid() != parent:  # the parent is gone already
        os._exit(1)


def quiet_pool_worker(parent: int | None = None) -> None:
    """Initializer of a pool worker: see the module docstring."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)


def process_gone(pid: int) -> bool:
    """Whether no process ``pid`` runs on this machine (it ended, or was killed outright).  A
    process of another user, or one that cannot be asked, counts as running: what it left is
    never taken away from it.  The one rule for leftovers of a killed run (temporary files and
    site directories, a scan's runner record)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return False
