"""TEMP: moved to primepre.common.phonemask; goods.views imports it from here until that file is free to edit."""

from primepre.common.phonemask import loggable_query, mask_phones_in_log  # noqa: F401
