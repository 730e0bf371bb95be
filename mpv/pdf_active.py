"""Where a PDF can make a viewer act — run a script, start a program, open another file, carry a file inside —
and whether a document uses any of those places.

Only the places a viewer acts from are read: the catalog's open action, its additional actions, its /Names
trees of scripts and embedded files, its form (AcroForm) and bookmarks, and each page's actions and annotations.
Page content, fonts, images and the document information (/Info) are never read: they are drawn or shown,
never run, so a scanned document's images stay out of memory and metadata pypdf cannot parse does not matter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

JAVASCRIPT = "JavaScript"
LAUNCH = "una acción que abre programas"
EMBEDDED = "archivos incrustados"
SUBMIT = "una acción que envía los datos del formulario a internet"
IMPORT = "una acción que importa datos de otro archivo"
OTHER_FILE = "un enlace que abre otro archivo"
MEDIA = "contenido multimedia o 3D activo"
XFA = "un formulario XFA (con programas propios)"

# An action's /S → what it does. /GoTo, /URI to a web page, /Named, /Hide, /SetOCGState and the like only move
# the view, open a web page or show and hide parts of the document, and are accepted.
_ACTIONS = {"/JavaScript": JAVASCRIPT, "/Launch": LAUNCH, "/SubmitForm": SUBMIT, "/ImportData": IMPORT,
            "/GoToR": OTHER_FILE, "/GoToE": OTHER_FILE, "/Rendition": MEDIA, "/Movie": MEDIA, "/Sound": MEDIA,
            "/RichMediaExecute": MEDIA}

# Annotations that play media or 3D models (players and 3D scripts have long been a way in) or carry a file.
_ANNOTATIONS = {"/FileAttachment": EMBEDDED, "/RichMedia": MEDIA, "/Screen": MEDIA, "/Movie": MEDIA,
                "/Sound": MEDIA, "/3D": MEDIA}

# A /URI that opens a local or network file (a UNC path leaks the user's Windows credentials) or runs a script.
_URI_SCHEMES = {"javascript:": JAVASCRIPT, "vbscript:": JAVASCRIPT, "file:": OTHER_FILE, "smb:": OTHER_FILE,
                "\\\\": OTHER_FILE}


@dataclass(frozen=True)
class Finding:
    """Active content found: what it is (``JavaScript``, ``archivos incrustados``...) and where (``en un enlace
    de la página 3``; empty when ``what`` says it), both in Spanish."""
    what: str
    where: str

    def __str__(self) -> str:
        return " ".join(part for part in (self.what, self.where) if part)


class OutOfTime(Exception):
    """The inspection used up its time budget before it could look everywhere."""


def find_active_content(reader: PdfReader, deadline: float, clock: Callable[[], float]) -> Finding | None:
    """The first active content in the document ``reader`` reads, or None when there is none.

    :raise OutOfTime: when ``clock()`` reaches ``deadline`` before every place was looked at.
    """
    return _Inspection(deadline, clock).document(reader)


class _Inspection:
    def __init__(self, deadline: float, clock: Callable[[], float]):
        self._deadline, self._clock = deadline, clock
        # (role, object number, generation) of the indirect objects already looked at: the same object is
        # looked at again in another role (an action dictionary that is also an annotation), never twice in
        # one, which also ends cycles (/Next, /Kids and bookmark chains that point back).
        self._seen: set[tuple[str, int, int]] = set()

    def _tick(self) -> None:
        if self._clock() >= self._deadline:
            raise OutOfTime

    def _resolve(self, obj: PdfObject | None, role: str) -> PdfObject | None:
        """``obj`` itself, or the object it refers to; None when that object was already looked at as ``role``."""
        if isinstance(obj, IndirectObject):
            key = (role, obj.idnum, obj.generation)
            if key in self._seen:
                return None
            self._seen.add(key)
            obj = obj.get_object()
        return obj

    def _dict(self, obj: PdfObject | None, role: str) -> DictionaryObject | None:
        obj = self._resolve(obj, role)
        return obj if isinstance(obj, DictionaryObject) else None

    def document(self, reader: PdfReader) -> Finding | None:
        catalog = reader.root_object
        self._tick()
        found = self._catalog(catalog)
        if found:
            return found
        for number, page in enumerate(reader.pages, 1):
            self._tick()
            found = self._page(page, number)
            if found:
                return found
        return None

    def _catalog(self, catalog: DictionaryObject) -> Finding | None:
        what = self._action(_raw(catalog, "/OpenAction"))
        if what:
            return Finding(what, "al abrir el documento")
        what = self._additional_actions(_raw(catalog, "/AA"))
        if what:
            return Finding(what, "en las acciones del documento")
        names = self._dict(_raw(catalog, "/Names"), "names")
        if names is not None:
            if self._name_tree_has_entries(_raw(names, "/JavaScript")):
                return Finding(JAVASCRIPT, "entre los scripts del documento")
            if self._name_tree_has_entries(_raw(names, "/EmbeddedFiles")):
                return Finding(EMBEDDED, "como adjuntos del documento")
        if self._associated_files(catalog):
            return Finding(EMBEDDED, "como archivos asociados al documento")
        form = self._dict(_raw(catalog, "/AcroForm"), "acroform")
        if form is not None:
            if "/XFA" in form:
                return Finding(XFA, "")
            what = self._fields(_raw(form, "/Fields"))
            if what:
                return Finding(what, "en un campo del formulario")
        what = self._outlines(_raw(catalog, "/Outlines"))
        if what:
            return Finding(what, "en un marcador del documento")
        return None

    def _page(self, page: DictionaryObject, number: int) -> Finding | None:
        what = self._additional_actions(_raw(page, "/AA"))
        if what:
            return Finding(what, f"al abrir o cerrar la página {number}")
        if self._associated_files(page):
            return Finding(EMBEDDED, f"asociados a la página {number}")
        annots = self._resolve(_raw(page, "/Annots"), "annots")
        for ref in annots if isinstance(annots, ArrayObject) else ():
            self._tick()
            annot = self._dict(ref, "annot")
            if annot is None:
                continue
            subtype = _name(annot, "/Subtype")
            where = {"/Link": f"en un enlace de la página {number}",
                     "/Widget": f"en un campo del formulario de la página {number}"}.get(
                subtype, f"en una anotación de la página {number}")
            what = (_ANNOTATIONS.get(subtype) or self._action(_raw(annot, "/A"))
                    or self._additional_actions(_raw(annot, "/AA"))
                    or (EMBEDDED if self._associated_files(annot) else None)
                    # A widget's field, and the fields above it, carry the keystroke, format and calculation
                    # scripts; a field left out of the form's /Fields is still reached from its widget.
                    or self._fields(ArrayObject([_raw(annot, "/Parent")])))
            if what:
                return Finding(what, where)
        return None

    def _action(self, value: PdfObject | None) -> str | None:
        """What the action ``value`` (and the actions chained to it by /Next) does that is not admitted."""
        stack = [value]
        while stack:
            self._tick()
            action = self._resolve(stack.pop(), "action")
            if isinstance(action, ArrayObject):  # /Next may be an array of actions
                stack.extend(action)
                continue
            if not isinstance(action, DictionaryObject):
                continue  # a destination array, null, or something a viewer ignores
            if "/JS" in action:
                return JAVASCRIPT
            kind = _name(action, "/S")
            if kind in _ACTIONS:
                return _ACTIONS[kind]
            if kind == "/URI":
                what = _uri(_value(action, "/URI"))
                if what:
                    return what
            stack.append(_raw(action, "/Next"))
        return None

    def _additional_actions(self, value: PdfObject | None) -> str | None:
        """What an /AA dictionary (trigger → action) does that is not admitted."""
        triggers = self._dict(value, "aa")
        for trigger in triggers.keys() if triggers is not None else ():
            what = self._action(_raw(triggers, trigger))
            if what:
                return what
        return None

    def _name_tree_has_entries(self, value: PdfObject | None) -> bool:
        stack = [value]
        while stack:
            self._tick()
            node = self._dict(stack.pop(), "name tree")
            if node is None:
                continue
            names = _value(node, "/Names")
            if isinstance(names, ArrayObject) and len(names) >= 2:
                return True
            kids = _value(node, "/Kids")
            if isinstance(kids, ArrayObject):
                stack.extend(kids)
        return False

    def _associated_files(self, owner: DictionaryObject) -> bool:
        """Whether ``owner`` has an /AF (PDF 2.0, PDF/A-3) file specification that carries a file."""
        files = _value(owner, "/AF")
        for spec in files if isinstance(files, ArrayObject) else ():
            spec = self._dict(spec, "file spec")
            if spec is not None and "/EF" in spec:
                return True
        return False

    def _fields(self, value: PdfObject | None) -> str | None:
        """What the form fields in the array ``value``, their kids and their parents do that is not admitted."""
        fields = self._resolve(value, "fields")
        stack = list(fields) if isinstance(fields, ArrayObject) else []
        while stack:
            self._tick()
            field = self._dict(stack.pop(), "field")
            if field is None:
                continue
            what = self._action(_raw(field, "/A")) or self._additional_actions(_raw(field, "/AA"))
            if what:
                return what
            kids = _value(field, "/Kids")
            if isinstance(kids, ArrayObject):
                stack.extend(kids)
            stack.append(_raw(field, "/Parent"))
        return None

    def _outlines(self, value: PdfObject | None) -> str | None:
        """What a bookmark (outline item) of the document does when clicked that is not admitted."""
        root = self._dict(value, "outline")
        stack = [_raw(root, "/First")] if root is not None else []
        while stack:
            self._tick()
            item = self._dict(stack.pop(), "outline")
            if item is None:
                continue
            what = self._action(_raw(item, "/A"))
            if what:
                return what
            stack.extend((_raw(item, "/First"), _raw(item, "/Next")))
        return None


def _raw(owner: DictionaryObject, key: str) -> PdfObject | None:
    """``owner[key]`` as written: a reference is kept, so that the inspection knows the objects it looked at."""
    return dict.get(owner, key)


def _value(owner: DictionaryObject, key: str) -> PdfObject | None:
    """``owner[key]`` with a reference resolved (a crafted file may put any value behind one)."""
    return owner[key] if key in owner else None


def _name(owner: DictionaryObject, key: str) -> str | None:
    """``owner[key]`` when it is a name (or a string), else None: a crafted value of another type matches nothing."""
    value = _value(owner, key)
    return value if isinstance(value, str) else None


def _uri(value: PdfObject | None) -> str | None:
    if not isinstance(value, (str, bytes)):
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    text = text.strip().lower()
    return next((what for scheme, what in _URI_SCHEMES.items() if text.startswith(scheme)), None)
