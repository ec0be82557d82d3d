"""PDF and screenshots through headless Chromium: one way to find it, one
set of flags (no network, no sandbox inside containers, a throwaway
profile), one error type with readable messages."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from stekker.i18n import N_, _, translate

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


class RenderError(RuntimeError):
    """A page could not be rendered or printed (no Chromium, a timeout, no output)."""


def find_chromium() -> str | None:
    """``$STEKKER_CHROMIUM`` when set (None when it names nothing), else the
    first of :data:`CHROMIUM_CANDIDATES` that exists."""
    env = os.environ.get("STEKKER_CHROMIUM")
    if env:
        return env if (os.path.exists(env) or shutil.which(env)) else None
    for c in CHROMIUM_CANDIDATES:
        p = c if os.path.isabs(c) else shutil.which(c)
        if p and os.path.exists(p):
            return p
    return None


def chromium_args(user_data_dir: str) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--mute-audio", f"--user-data-dir={user_data_dir}"]


# what needed Chromium, named in its error (``purpose``; translated when shown): the callers' words
# (audit/report.py passes "The audit's PDF"); another word is shown as given
# i18n: the subject of "{purpose} needs headless Chromium, which was not found ..."
PURPOSES = (N_("PDF"), N_("A screenshot"), N_("The audit's PDF"))


def _purpose(purpose: str) -> str:
    return translate(purpose) if purpose else purpose  # (gettext of "" is the catalogue's header)


def run_chromium(extra: list[str], url: str, timeout: float = 90.0, purpose: str = "PDF") -> subprocess.CompletedProcess:
    """Run headless Chromium on ``url`` with the shared flags, ``extra`` and a
    throwaway profile.  ``purpose`` names what needed it in the error (one of :data:`PURPOSES`)."""
    exe = find_chromium()
    if exe is None:
        env = os.environ.get("STEKKER_CHROMIUM")
        if env:
            raise RenderError(_("{purpose} needs headless Chromium, which was not found (STEKKER_CHROMIUM={env!r} "
                                "names no program). On Debian: apt-get install chromium").format(
                                    purpose=_purpose(purpose), env=env))
        raise RenderError(_("{purpose} needs headless Chromium, which was not found (looked for /usr/bin/chromium, "
                            "chromium, chromium-browser, google-chrome; set STEKKER_CHROMIUM). On Debian: apt-get "
                            "install chromium").format(purpose=_purpose(purpose)))
    with tempfile.TemporaryDirectory(prefix="stekker-chromium-") as udd:
        # its own process group: on a timeout Chromium and everything it started are stopped (killing
        # the child alone left its renderer processes, or a wrapper script's children, running)
        proc = subprocess.Popen([exe, *chromium_args(udd), *extra, url], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise RenderError(_("Chromium did not finish within {timeout:.0f} s").format(timeout=timeout)) from None
        except BaseException:
            _kill_group(proc)
            raise
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=10)
    except Exception:  # noqa: BLE001 - gone or stuck: nothing more to do
        pass


def _check_written(path: Path, proc: subprocess.CompletedProcess, failed: str) -> Path:
    """``path`` when Chromium wrote it, else :class:`RenderError` with ``failed`` (a translated
    message with ``{code}`` and ``{errors}``: the exit status, Chromium's last lines)."""
    if not path.exists() or path.stat().st_size == 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise RenderError(failed.format(code=proc.returncode, errors=" / ".join(err)))
    return path


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, timeout: float = 90.0) -> Path:
    """Print an HTML file to PDF."""
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    proc = run_chromium([f"--print-to-pdf={pdf_path}", "--no-pdf-header-footer"], html_path.as_uri(), timeout)
    return _check_written(pdf_path, proc, _("Chromium did not write the PDF (exit {code}): {errors}"))


def write_pdf(html: str, pdf_path: str | Path, timeout: float = 90.0) -> Path:
    """Print an HTML document (text) to PDF."""
    with tempfile.TemporaryDirectory(prefix="stekker-pdf-") as td:
        src = Path(td) / "report.html"
        src.write_text(html, encoding="utf-8")
        return html_to_pdf(src, pdf_path, timeout)


def screenshot(html_path: str | Path, png_path: str | Path, size: str = "1200,2400", timeout: float = 90.0) -> Path:
    """A PNG of an HTML file at ``size`` ("width,height")."""
    html_path, png_path = Path(html_path).resolve(), Path(png_path).resolve()
    proc = run_chromium([f"--window-size={size}", "--hide-scrollbars", f"--screenshot={png_path}"],
                        html_path.as_uri(), timeout, purpose="A screenshot")
    return _check_written(png_path, proc, _("Chromium did not write the screenshot (exit {code}): {errors}"))
