"""The PDF check (mpv.pdf.check_pdf) on real documents: large ones are accepted, broken metadata is ignored, each
place where a viewer runs something is refused with its own message, and the check keeps to its time budget."""
from __future__ import annotations

import functools
import io
import struct
import time

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from mpv import pdf as mpv_pdf
from mpv.demo import sample_pdf
from mpv.errors import ArchivoRechazado
from mpv.pdf import check_pdf


def check(tmp_path, content: bytes, **kwargs) -> int:
    path = tmp_path / "documento.pdf"
    path.write_bytes(content)
    return check_pdf(path, "documento.pdf", **kwargs)


def refusal(tmp_path, content: bytes, **kwargs) -> str:
    with pytest.raises(ArchivoRechazado) as refused:
        check(tmp_path, content, **kwargs)
    return str(refused.value)


# -- real documents of many pages and objects ---------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def expediente_tecnico(pages: int = 300, links: int = 70) -> bytes:
    """A ``pages``-page document as pdflatex with hyperref writes one: a bookmark and a named destination per
    page and ``links`` internal links on each page, saved with object streams and a cross-reference stream
    (qpdf, through pikepdf). 300 pages of 70 links are over 21,000 objects, each one a place the check reads."""
    drawn = io.BytesIO()
    c = canvas.Canvas(drawn, pagesize=A4, invariant=1)
    for page in range(1, pages + 1):
        c.bookmarkPage(f"p{page}")
        c.addOutlineEntry(f"Capítulo {page}", f"p{page}", level=0)
        c.setFont("Helvetica", 9)
        c.drawString(72, 800, f"Expediente técnico — memoria descriptiva, página {page} de {pages}")
        for i in range(links):
            y, target = 780 - i * 10, (page + i) % pages + 1
            c.drawString(72, y, f"Véase el plano de la página {target}")
            c.linkRect("", f"p{target}", (72, y, 260, y + 9), relative=0)
        c.showPage()
    c.save()
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(drawn.getvalue())) as document:
        document.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, deterministic_id=True)
    return out.getvalue()


def test_a_300_page_expediente_with_object_streams_and_21000_objects_is_accepted_within_its_budget(tmp_path):
    content = expediente_tecnico()
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 300 and len(reader.xref_objStm) > 20_000  # objects inside object streams
    # Processor time, not the wall clock's: what the check's budget counts (mpv.pdf.TIME_BUDGET_S).
    started = time.thread_time()
    assert check(tmp_path, content) == 300
    seconds = time.thread_time() - started
    print(f"\ncheck_pdf, 300 páginas, {len(reader.xref_objStm)} objetos, {len(content) // 1024} KB: {seconds:.2f} s")
    assert seconds < mpv_pdf.TIME_BUDGET_S


def counting_clock(step: float = 1.0):
    """A clock that moves ``step`` seconds each time it is read: the check's budget in reads, not in seconds."""
    reads = iter(range(10**9))
    return lambda: next(reads) * step


def test_the_budget_refuses_only_when_it_runs_out_and_says_what_to_do(tmp_path):
    content = expediente_tecnico(pages=3, links=20)  # ~70 places to look at
    assert check(tmp_path, content, clock=counting_clock(), budget_s=1_000) == 3
    message = refusal(tmp_path, content, clock=counting_clock(), budget_s=30)
    assert "tiene una estructura demasiado compleja para revisarla por seguridad en el tiempo disponible" in message
    assert "(30 segundos)" in message and "Divídalo en partes más pequeñas" in message
    # Through the filing form: tests/test_security_gaps.py::test_a_pdf_the_active_content_walk_cannot_finish_is_refused


# -- metadata is not read --------------------------------------------------------------------------------------
def raw_pdf(info: bytes, stream: bytes | None = None, page_in_stream: bool = False) -> bytes:
    """A one-page PDF with a cross-reference stream whose trailer's /Info is object 5, written as ``info``;
    when ``stream`` is given, object 5 (and the page, object 3, when ``page_in_stream``) is kept in object
    stream 6, whose dictionary begins with ``stream``."""
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               4: b"<< /Length 8 >>\nstream\n0 0 m S\n\nendstream", 5: info}
    packed = {}
    if stream is not None:
        packed = {number: objects.pop(number) for number in ((5, 3) if page_in_stream else (5,))}
        offsets, body = [], b""
        for number, text in packed.items():
            offsets.append(b"%d %d" % (number, len(body)))
            body += text + b" "
        header = b" ".join(offsets) + b" "
        objects[6] = (b"<< %s /First %d /Length %d >>\nstream\n" % (stream, len(header), len(header + body))
                      + header + body + b"\nendstream")
    out, rows = bytearray(b"%PDF-1.5\n"), {0: (0, 0, 65535)}
    for number, text in objects.items():
        rows[number] = (1, len(out), 0)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, text)
    rows.update({number: (2, 6, index) for index, number in enumerate(packed)})
    xref = max(rows) + 1
    rows[xref] = (1, len(out), 0)
    table = b"".join(struct.pack(">BIH", *rows[n]) for n in range(xref + 1))
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Info 5 0 R /Length %d >>\nstream\n"
            % (xref, xref + 1, len(table)) + table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % rows[xref][1])
    return bytes(out)


TITLE = b"<< /Title (Expediente 2026-000123) /Producer (pdfTeX-1.40.25) >>"
BROKEN_INFO = {
    "in an object stream without /N": raw_pdf(TITLE, b"/Type /ObjStm"),
    "in an object stream of the wrong type": raw_pdf(TITLE, b"/Type /XObject /N 1"),
    "a number, not a dictionary": raw_pdf(b"42"),
    "an unterminated string": raw_pdf(b"<< /Title (Expediente /Producer (x) >>"),
    "a bad hexadecimal string": raw_pdf(b"<< /Title <zz12> >>"),
}


@pytest.mark.parametrize("case", list(BROKEN_INFO), ids=list(BROKEN_INFO))
def test_a_document_whose_metadata_pypdf_cannot_read_is_accepted(tmp_path, case):
    assert check(tmp_path, BROKEN_INFO[case]) == 1


def test_the_control_a_sound_object_stream_holds_the_page_and_the_metadata(tmp_path):
    assert check(tmp_path, raw_pdf(TITLE, b"/Type /ObjStm /N 2", page_in_stream=True)) == 1


@pytest.mark.parametrize("stream", [b"/Type /ObjStm", b"/Type /XObject /N 2"], ids=["without /N", "wrong type"])
def test_the_same_corruption_in_a_page_is_refused_as_unreadable(tmp_path, stream):
    content = raw_pdf(TITLE, stream, page_in_stream=True)
    assert "está dañado o no se puede leer como PDF. Vuelva a generarlo" in refusal(tmp_path, content)


# -- active content: each place a viewer acts from ------------------------------------------------------------
# The documents are a real two-page PDF changed with pikepdf, whose public API makes indirect objects and streams.
def rewritten(change, **save) -> bytes:
    """The two-page sample PDF changed by ``change(document)`` (a pikepdf.Pdf), saved with ``save`` options."""
    with pikepdf.open(io.BytesIO(sample_pdf("Documento", 2))) as document:
        change(document)
        out = io.BytesIO()
        document.save(out, **save)
        return out.getvalue()


def action(kind: str, **entries) -> Dictionary:
    return Dictionary(S=Name(kind), **entries)


def javascript() -> Dictionary:
    return action("/JavaScript", JS="app.alert('hola')")


def in_catalog(key: str, value_of):
    def change(document):
        document.Root[key] = value_of(document)
    return change


def annotation(subtype: str, parent: Dictionary | None = None, **entries):
    """A change that puts an annotation of ``subtype`` (a widget of the field ``parent``) on page 2."""
    def change(document):
        annot = Dictionary(Type=Name.Annot, Subtype=Name(subtype), Rect=Array([0, 0, 100, 100]), **entries)
        if parent is not None:
            annot.Parent = document.make_indirect(parent)
        page = document.pages[1].obj
        page.Annots = document.make_indirect(Array([document.make_indirect(annot)]))
    return change


def link(act: Dictionary):
    return annotation("/Link", A=act)


def on_page(key: str, value: Dictionary):
    def change(document):
        document.pages[1].obj[key] = value
    return change


def form(field: Dictionary | None = None, xfa: bool = False):
    def change(document):
        fields = Array([document.make_indirect(field)] if field is not None else [])
        document.Root.AcroForm = Dictionary(Fields=fields)
        if xfa:
            document.Root.AcroForm.XFA = pikepdf.Stream(document, b"<xdp:xdp><script>app.alert(1)</script></xdp:xdp>")
    return change


def text_field(**actions) -> Dictionary:
    return Dictionary(FT=Name.Tx, T="monto", **actions)


def bookmark(act: Dictionary):
    def change(document):
        with document.open_outline() as outline:
            outline.root.append(pikepdf.OutlineItem("Capítulo 1", action=act))
    return change


def attachment(document):
    document.attachments["datos.exe"] = pikepdf.AttachedFileSpec(document, b"MZ", filename="datos.exe")


def associated_file(document):
    return Array([pikepdf.AttachedFileSpec(document, b"MZ", filename="datos.exe").obj])


def document_script(document):
    scripts = Dictionary(Names=Array([pikepdf.String("inicio"), document.make_indirect(javascript())]))
    document.Root.Names = Dictionary(JavaScript=scripts)


def chained(first: Dictionary, then: Dictionary) -> Dictionary:
    first.Next = Array([then])
    return first


GOTO = Array([0, Name.Fit])


# case → (the change, words the message must carry)
ACTIVE = {
    "javascript on opening": (in_catalog("/OpenAction", lambda w: javascript()), "JavaScript al abrir el documento"),
    "a program launched on opening": (in_catalog("/OpenAction", lambda w: action("/Launch", F="calc.exe")),
                                      "una acción que abre programas al abrir el documento"),
    "javascript in the document's actions": (in_catalog("/AA", lambda d: Dictionary(WC=javascript())),
                                             "JavaScript en las acciones del documento"),
    "a document-level script": (document_script, "JavaScript entre los scripts del documento"),
    "an embedded file": (attachment, "archivos incrustados como adjuntos"),
    "an associated file": (in_catalog("/AF", associated_file), "archivos incrustados como archivos asociados"),
    "an XFA form": (form(xfa=True), "contiene un formulario XFA (con programas propios), que"),
    "a form field's script": (form(text_field(AA=Dictionary(K=javascript()))),
                              "JavaScript en un campo del formulario,"),
    "a field that submits through its widget": (
        annotation("/Widget", parent=text_field(A=action("/SubmitForm", F="http://example.com/recibe"))),
        "una acción que envía los datos del formulario a internet en un campo del formulario de la página 2"),
    "javascript when a page opens": (on_page("/AA", Dictionary(O=javascript())),
                                     "JavaScript al abrir o cerrar la página 2"),
    "a link that launches a program": (link(action("/Launch", F="cmd.exe")),
                                       "una acción que abre programas en un enlace de la página 2"),
    "a link that runs javascript": (link(javascript()), "JavaScript en un enlace de la página 2"),
    "a link that imports data": (link(action("/ImportData", F="datos.fdf")),
                                 "una acción que importa datos de otro archivo en un enlace de la página 2"),
    "a link to another PDF": (link(action("/GoToR", F="\\\\servidor\\c$\\x.pdf", D=GOTO)),
                              "un enlace que abre otro archivo en un enlace de la página 2"),
    "a link into an embedded PDF": (link(action("/GoToE", D=GOTO)),
                                    "un enlace que abre otro archivo"),
    "a link to a local file": (link(action("/URI", URI="file:///C:/Windows/System32/calc.exe")),
                               "un enlace que abre otro archivo en un enlace de la página 2"),
    "a link to a network share": (link(action("/URI", URI="\\\\servidor\\compartido")), "un enlace que abre otro"),
    "a javascript: link": (link(action("/URI", URI="JavaScript:app.alert(1)")), "JavaScript en un enlace"),
    "javascript chained after a harmless action": (
        link(chained(action("/GoTo", D=GOTO), javascript())),
        "JavaScript en un enlace de la página 2"),
    "a file attachment annotation": (annotation("/FileAttachment"),
                                     "archivos incrustados en una anotación de la página 2"),
    "rich media": (annotation("/RichMedia"), "contenido multimedia o 3D activo en una anotación de la página 2"),
    "a screen annotation": (annotation("/Screen"), "contenido multimedia o 3D activo"),
    "a movie": (annotation("/Movie"), "contenido multimedia o 3D activo"),
    "a sound": (annotation("/Sound"), "contenido multimedia o 3D activo"),
    "a 3D model": (annotation("/3D"), "contenido multimedia o 3D activo"),
    "a rendition action": (link(action("/Rendition", OP=0)), "contenido multimedia o 3D activo"),
    "a bookmark that runs javascript": (bookmark(javascript()), "JavaScript en un marcador del documento"),
}


# pikepdf warns that the widget whose field is left out of the form's /Fields, the point of that case, is so.
@pytest.mark.filterwarnings("ignore:This document has 1 form widget annotation")
@pytest.mark.parametrize("case", list(ACTIVE), ids=list(ACTIVE))
def test_each_place_of_active_content_is_refused_with_its_own_message(tmp_path, case):
    change, words = ACTIVE[case]
    message = refusal(tmp_path, rewritten(change))
    assert message.startswith("«documento.pdf» contiene ") and words in message, message
    assert message.endswith("que no se admite por seguridad. Imprímalo o guárdelo de nuevo como PDF simple y "
                            "adjúntelo otra vez.")


HARMLESS = {
    "a web link": link(action("/URI", URI="https://www.munisantaclotilde.gob.pe/tupa")),
    "a mail link": link(action("/URI", URI="mailto:mesadepartes@example.gob.pe")),
    "a link within the document": link(action("/GoTo", D=GOTO)),
    "a bookmark": bookmark(action("/GoTo", D=GOTO)),
    "a form without actions": form(text_field()),
    "a comment": annotation("/Text", Contents="Revisar la firma"),
}


@pytest.mark.parametrize("case", list(HARMLESS), ids=list(HARMLESS))
def test_links_bookmarks_forms_and_comments_that_run_nothing_are_accepted(tmp_path, case):
    assert check(tmp_path, rewritten(HARMLESS[case])) == 2


@pytest.mark.parametrize("encryption", [
    pikepdf.Encryption(owner="dueño", user="secreto"),  # AES-256, what Acrobat writes today
    pikepdf.Encryption(owner="dueño", user=""),  # opens without a password, but its content is encrypted
    pikepdf.Encryption(owner="dueño", user="secreto", R=4, aes=False, metadata=False),  # RC4, as older producers write
], ids=["aes-256", "owner password only", "rc4"])
def test_an_encrypted_document_is_refused(tmp_path, encryption):
    message = refusal(tmp_path, rewritten(lambda document: None, encryption=encryption))
    assert message == "«documento.pdf» está protegido con contraseña. Adjunte una copia sin contraseña."
