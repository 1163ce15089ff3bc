"""How many SMS segments a text costs: GSM-7 (160 characters, 153 per part) unless a character needs UCS-2
(70, 67 per part); GSM's extension characters (€, [, ] …) count twice."""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # in the encoding's units
    count: int


def count_segments(text: str) -> Segments:
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        return Segments("GSM-7", units, 1 if units <= 160 else -(-units // 153))
    units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)  # UTF-16 code units
    return Segments("UCS-2", units, 1 if units <= 70 else -(-units // 67))
