"""Published agendas and minutes as files: a PDF, and an iCalendar feed of meetings.

Both are drawn from what was published (engine.services.agenda.publication), which already holds
closed items by title only and no closed text, so nothing here decides who may see what.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from icalendar import Calendar, Event

# A Unicode font when the machine has one (Debian: fonts-dejavu-core); the PDF core font otherwise,
# which covers Danish (æ, ø, å are Latin-1) but not every dash and quote people type.
_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONTS = {"": _FONT_DIR / "DejaVuSans.ttf", "B": _FONT_DIR / "DejaVuSans-Bold.ttf"}
_LATIN1 = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "→": "->",
                         "•": "-", "\u00a0": " "})


class _AgendaPdf(FPDF):
    def __init__(self, footer_text: str):
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.unicode = all(path.is_file() for path in _FONTS.values())
        if self.unicode:
            for style, path in _FONTS.items():
                self.add_font("body", style, str(path))
            self.family = "body"
        else:
            self.family = "helvetica"
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(20, 18, 20)

    def text_of(self, value: str) -> str:
        value = str(value or "")
        if self.unicode:
            return value
        return value.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def para(self, value: str, size: float = 10.5, bold: bool = False, height: float = 5.5) -> None:
        self.font(size, bold)
        self.multi_cell(0, height, self.text_of(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        self.set_y(-12)
        self.font(8)
        self.cell(0, 6, self.text_of(f"{self.footer_text} · side {self.page_no()}/{{nb}}"), align="C")


def publication_pdf(document: dict) -> bytes:
    """A published agenda or minutes as PDF: numbered items and attachments; closed items by title."""
    kind = document.get("agenda_type", "Dagsorden")
    committee = document["committee"]["name"]
    pdf = _AgendaPdf(f"{kind} · {document['title']}")
    pdf.alias_nb_pages()
    pdf.set_title(pdf.text_of(f"{kind}: {document['title']}"))
    pdf.set_author(pdf.text_of(committee))
    pdf.set_creator("Sagsgang")
    pdf.add_page()
    pdf.para(kind, 20, bold=True, height=10)
    pdf.para(committee, 14, bold=True, height=8)
    pdf.para(f"Mødetidspunkt: {document.get('local_start', '')}")
    if document.get("location", {}).get("name"):
        pdf.para(f"Mødested: {document['location']['name']}")
    pdf.ln(4)
    pdf.para("Indhold", 13, bold=True, height=8)
    for point in document["bullet_points"]:
        closed = "" if point["access"] else " (lukket punkt)"
        pdf.para(f"{point['number']}. {point['title']}{closed}")
    for point in document["bullet_points"]:
        pdf.ln(5)
        pdf.para(f"{point['number']}. {point['title']}", 13, bold=True, height=7)
        pdf.para(f"Sagsnr. {point.get('case_number', '')}", 9)
        if not point["access"]:
            pdf.para("Lukket punkt: behandles for lukkede døre.")
            if point.get("decision"):
                pdf.para(f"Beslutning: {point['decision']['title']}", bold=True)
            continue
        for section in point["attachments"]:
            pdf.ln(2)
            pdf.para(section["title"], 11, bold=True, height=6)
            pdf.para(section.get("body", ""))
        if point["enclosures"]:
            pdf.ln(2)
            pdf.para("Bilag", 11, bold=True, height=6)
            for enclosure in point["enclosures"]:
                pdf.para(f"Bilag {enclosure['number']}: {enclosure['title']}")
    return bytes(pdf.output())


def meetings_calendar(meetings: list[dict], url_for_meeting=None, name: str = "Sagsgang: udvalgsmøder") -> bytes:
    """An iCalendar (RFC 5545) feed of meetings; each event links to its published agenda."""
    calendar = Calendar()
    calendar.add("prodid", "-//Sagsgang//Udvalgsmøder//DA")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    stamp = datetime.now(timezone.utc).replace(microsecond=0)
    for meeting in meetings:
        starts = datetime.fromisoformat(meeting["starts_at"])
        event = Event()
        event.add("uid", f"meeting-{meeting['id']}@sagsgang")
        event.add("dtstamp", stamp)
        event.add("dtstart", starts)
        if meeting.get("ends_at"):
            event.add("dtend", datetime.fromisoformat(meeting["ends_at"]))
        event.add("summary", f"{meeting['committee_name']}: møde")
        if meeting.get("place"):
            event.add("location", meeting["place"])
        event.add("status", "CONFIRMED")
        description = f"Dagsordenen offentliggøres senest {meeting['agenda_deadline']}."
        if url_for_meeting is not None:
            url = url_for_meeting(meeting)
            event.add("url", url)
            description += f"\n{url}"
        event.add("description", description)
        calendar.add_component(event)
    return calendar.to_ical()
