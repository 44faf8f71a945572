"""One download with a deadline, written whole or not at all, checked against a known hash.

``keras.utils.get_file`` has no timeout: offline, it can hang. Here the connection runs in a
background thread, so that even a name lookup that hangs (which a socket timeout does not
cover) is abandoned after ``timeout`` seconds, and the file is written to a temporary name
and renamed only when complete and its MD5 hash is the one expected.
"""

import hashlib
import threading
import time
import urllib.request
from pathlib import Path

from course_lib.core.cache import atomic_write

#: Seconds to wait for the server to answer (and for each read) before giving up.
DEFAULT_TIMEOUT = 5.0
#: Seconds a whole download may take once the server has answered.
DOWNLOAD_DEADLINE = 120.0
#: Bytes read at a time.
CHUNK = 1 << 16


class DownloadFailed(RuntimeError):
    """No answer in time, a network error, a download too slow, or a wrong hash."""


def md5(path):
    """The MD5 hex digest of the file ``path`` (what ``keras.applications`` publishes)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open_url(url, timeout):
    """``urllib.request.urlopen`` (tests replace this to stay off the network)."""
    return urllib.request.urlopen(url, timeout=timeout)


def download(url, target, expected_md5, timeout=DEFAULT_TIMEOUT, deadline=DOWNLOAD_DEADLINE):
    """Download ``url`` to ``target``; never wait longer than ``timeout`` for an answer.

    Args:
        target: the file to write; its folder is created if missing.
        expected_md5: the file's known MD5 hash; a download that differs is discarded.
        timeout: seconds to wait for the server to answer, and for each read.
        deadline: seconds the whole download may take.

    Returns:
        ``target`` (a ``Path``), complete and verified.

    Raises:
        DownloadFailed: no answer in time, a network error, too slow, a wrong hash.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    answered, done = threading.Event(), threading.Event()
    outcome = {}
    start = time.monotonic()

    def write(temporary):
        with _open_url(url, timeout=timeout) as response, open(temporary, "wb") as f:
            answered.set()
            for chunk in iter(lambda: response.read(CHUNK), b""):
                f.write(chunk)
                if time.monotonic() > start + deadline:
                    raise TimeoutError(f"the download took longer than {deadline:.0f} s")
        found = md5(temporary)
        if found != expected_md5:
            raise DownloadFailed(f"{url} arrived damaged or changed (MD5 {found}, expected {expected_md5})")

    def work():
        try:
            outcome["path"] = atomic_write(target, write)
        except BaseException as error:  # reported to the caller below
            outcome["error"] = error
        finally:
            answered.set()
            done.set()

    threading.Thread(target=work, daemon=True, name="download").start()
    if not answered.wait(timeout):
        raise DownloadFailed(f"no answer from {url} within {timeout:g} s")
    if not done.wait(max(0.0, deadline - (time.monotonic() - start)) + 1.0):
        raise DownloadFailed(f"the download of {url} took longer than {deadline:.0f} s")
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, DownloadFailed):
            raise error
        reason = getattr(error, "reason", None) or error
        raise DownloadFailed(f"could not download {url}: {reason}") from error
    return outcome["path"]
