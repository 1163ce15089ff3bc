"""Make padded.ods / padded.xlsx the way LibreOffice Calc users do: format whole columns A:G, save.

Not run in CI and not needed by the tests (the output files are committed). Needs LibreOffice and
its Python bridge, run with the *system* python3 (the project venv has no ``uno``):

    apt-get install -y --no-install-recommends libreoffice-calc python3-uno
    cd tests/imports/files && python3 make_padded_lo.py

It opens basic.xlsx in a headless soffice, gives the entire columns A:G (A1:G1048576, i.e. what
clicking the column headers A..G and picking a colour/border does) a light-yellow background and a
thin bottom border, and saves the result with LibreOffice's own filters as
  padded.ods   (filter "calc8")
  padded.xlsx  (filter "Calc MS Excel 2007 XML")
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import uno  # type: ignore[import-not-found]  # system python3 + python3-uno only
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.table import BorderLine2  # type: ignore[import-not-found]

HERE = Path(__file__).resolve().parent
PIPE = f"primepre_fixtures_{os.getpid()}"


def prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main() -> None:
    profile = tempfile.mkdtemp(prefix="lo_profile_")
    work = Path(profile) / "work"  # soffice would not open files under /work/main here; use a temp copy
    work.mkdir()
    shutil.copy(HERE / "basic.xlsx", work / "basic.xlsx")
    proc = subprocess.Popen(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--invisible",
            "--norestore",
            f"--accept=pipe,name={PIPE};urp;",
        ],
        start_new_session=True,
    )
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        for _ in range(100):
            try:
                ctx = resolver.resolve(f"uno:pipe,name={PIPE};urp;StarOffice.ComponentContext")
                break
            except Exception:  # noqa: BLE001 - soffice still starting
                time.sleep(0.2)
        else:
            raise RuntimeError("soffice did not start")
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

        src = uno.systemPathToFileUrl(str(work / "basic.xlsx"))
        doc = desktop.loadComponentFromURL(src, "_blank", 0, (prop("Hidden", True),))
        if doc is None:
            raise RuntimeError(f"soffice could not open {src}")
        sheet = doc.Sheets.getByIndex(0)
        whole_columns = sheet.getCellRangeByName("A1:G1048576")
        whole_columns.CellBackColor = 0xFFF2CC
        line = BorderLine2()
        line.OuterLineWidth, line.LineWidth, line.Color = 9, 9, 0x808080
        whole_columns.BottomBorder = line

        for name, filt in (("padded.ods", "calc8"), ("padded.xlsx", "Calc MS Excel 2007 XML")):
            url = uno.systemPathToFileUrl(str(work / name))
            doc.storeToURL(url, (prop("FilterName", filt), prop("Overwrite", True)))
            shutil.copy(work / name, HERE / name)
            print("wrote", HERE / name)
        doc.close(True)
        try:
            desktop.terminate()
        except Exception:  # noqa: BLE001 - bridge drops as soffice exits
            pass
    finally:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # soffice.bin outlives the soffice wrapper
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
