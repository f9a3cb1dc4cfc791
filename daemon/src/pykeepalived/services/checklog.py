"""global_defs ``reload_check_config LOG_FILE`` (keepalived 2.2's): every reload's judgement of
the new file is written there, the file emptied first (keepalived truncates it before each
check); an accepted config leaves it empty. pykeepalived judges every reload before applying
it with or without the keyword: only the file is the keyword's."""
from __future__ import annotations

import logging

log = logging.getLogger("pykeepalived.services.checklog")


def record(path: str | None, errors: list[str]) -> None:
    if not path:
        return
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(f"{err}\n" for err in errors)
    except OSError as err:
        log.error("reload_check_config: cannot write %s: %s", path, err.strerror)
