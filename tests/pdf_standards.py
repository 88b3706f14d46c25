"""Machine-checkable PDF/A-3b rules and tagged-PDF facts, read with pikepdf (#16).

veraPDF cannot run here (no Java build of it in the test extras), so the rules of its
PDF/A-3B profile (veraPDF-validation-profiles, PDF_A/PDFA-3B.xml) that can be decided from
the PDF's objects are checked one by one. Each problem names its veraPDF rule id
("6.2.8-3: ..."). RULES_CHECKED lists them; docs/pdf-profiles.md ("Standards: what is
checked") lists the rules this does not check and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pypdf

RULES_CHECKED = {
    "6.1.2-1": "header %PDF-1.n at byte 0",
    "6.1.2-2": "binary comment after the header (% and 4 bytes >= 128)",
    "6.1.3-1": "trailer /ID",
    "6.1.3-2": "no /Encrypt",
    "6.1.3-3": "nothing after the last %%EOF but one EOL",
    "6.1.7.1-3": "no stream with /F, /FFilter or /FDecodeParms",
    "6.1.7.2-1": "no LZWDecode or Crypt filter",
    "6.2.3-1": "OutputIntent profile: monitor or printer class, RGB/CMYK/GRAY, ICC < v5",
    "6.2.3-2": "one PDF/A OutputIntent (GTS_PDFA1)",
    "6.2.4.3-3": "no DeviceCMYK with an RGB OutputIntent (colour spaces and k/K operators)",
    "6.2.8-1": "no image /Alternates",
    "6.2.8-2": "no image /OPI",
    "6.2.8-3": "no image /Interpolate true",
    "6.2.8-4": "image BitsPerComponent 1, 2, 4, 8 or 16",
    "6.2.9-2": "no reference XObjects",
    "6.2.9-3": "no PostScript XObjects",
    "6.2.11.4.1-1": "every font program embedded (Type3 excepted)",
    "6.3.1-1": "no 3D, Sound, Screen or Movie annotations",
    "6.3.2-1": "every annotation but Popup has /F",
    "6.3.2-2": "annotation /F: Print set; Hidden, Invisible, NoView, ToggleNoView clear",
    "6.4.2-2": "no /NeedsRendering",
    "6.5.1-1": "no JavaScript, Launch, ... actions",
    "6.5.2-1": "no catalog /AA",
    "6.5.2-2": "no page /AA",
    "6.6.2.1-1": "catalog /Metadata stream, /Type /Metadata, /Subtype /XML",
    "6.6.2.1-2": "no bytes attribute in the xpacket header",
    "6.6.2.1-3": "no encoding attribute in the xpacket header",
    "6.6.4-1": "PDF/A identification schema in the XMP",
    "6.6.4-2": "pdfaid:part 3",
    "6.6.4-3": "pdfaid:conformance B",
    "6.8-1": "every embedded file has a MIME /Subtype",
    "6.8-2": "every embedded file's file specification has /F and /UF",
    "6.8-3": "every embedded file's file specification has /AFRelationship",
    "6.8-4": "every embedded file is an associated file (listed in an /AF)",
    "6.10-1": "no /AlternatePresentations",
    "6.10-2": "no page /PresSteps",
    "6.11-1": "no catalog /Requirements",
}
"""veraPDF PDF/A-3B rule id -> what is checked."""

FORBIDDEN_ACTIONS = {"/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/Hide",
                     "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView", "/JavaScript",
                     "/SetState", "/NOP"}
MIME = re.compile(r"^[-\w+.]+/[-\w+.]+$")
"""veraPDF's test for 6.8-1."""


def _objects(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    for obj in pdf.objects:
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            yield obj


def _filters(obj: pikepdf.Object) -> list[str]:
    value = obj.get("/Filter")
    if value is None:
        return []
    return [str(f) for f in value] if isinstance(value, pikepdf.Array) else [str(value)]


def pdfa_problems(path: Path) -> list[str]:
    """Every violation of RULES_CHECKED in the PDF at `path` ("rule: what")."""
    raw = path.read_bytes()
    problems: list[str] = []
    if not re.match(rb"%PDF-1\.[0-9](\r\n|\r|\n)", raw):
        problems.append("6.1.2-1: the header is not %PDF-1.n and one EOL")
    header_end = re.match(rb"%PDF-1\.[0-9](\r\n|\r|\n)", raw)
    if not header_end or not re.match(rb"%[\x80-\xff]{4}", raw[header_end.end():]):
        problems.append("6.1.2-2: no binary comment after the header")
    tail = raw[raw.rfind(b"%%EOF") + 5:]
    if tail not in (b"", b"\n", b"\r\n", b"\r"):
        problems.append(f"6.1.3-3: {len(tail)} bytes after the last %%EOF")
    with pikepdf.open(path) as pdf:
        problems += _document_problems(pdf)
    return problems


def _document_problems(pdf: pikepdf.Pdf) -> list[str]:
    problems: list[str] = []
    root, trailer = pdf.Root, pdf.trailer
    ids = trailer.get("/ID")
    if ids is None or len(ids) != 2 or not bytes(ids[0]) or not bytes(ids[1]):
        problems.append("6.1.3-1: no file identifier /ID in the trailer")
    if "/Encrypt" in trailer or pdf.is_encrypted:
        problems.append("6.1.3-2: the file is encrypted")
    for key, rule in (("/NeedsRendering", "6.4.2-2"), ("/AA", "6.5.2-1"),
                      ("/Requirements", "6.11-1")):
        if key in root:
            problems.append(f"{rule}: the catalog has {key}")
    if "/Names" in root and "/AlternatePresentations" in root.Names:
        problems.append("6.10-1: the name dictionary has /AlternatePresentations")
    if "/Names" in root and "/JavaScript" in root.Names:
        problems.append("6.5.1-1: the name dictionary has /JavaScript")
    problems += _metadata_problems(pdf)
    problems += _output_intent_problems(root)
    for number, page in enumerate(pdf.pages, start=1):
        if "/AA" in page.obj:
            problems.append(f"6.5.2-2: page {number} has /AA")
        if "/PresSteps" in page.obj:
            problems.append(f"6.10-2: page {number} has /PresSteps")
        for operands, operator in pikepdf.parse_content_stream(page):
            if str(operator) in ("k", "K"):
                problems.append(f"6.2.4.3-3: page {number} paints in DeviceCMYK ({operator})")
                break
        for annot in page.obj.get("/Annots", []):
            problems += _annotation_problems(annot, number)
    for obj in _objects(pdf):
        problems += _object_problems(obj)
    problems += _embedded_file_problems(pdf)
    return problems


def _metadata_problems(pdf: pikepdf.Pdf) -> list[str]:
    meta = pdf.Root.get("/Metadata")
    if not isinstance(meta, pikepdf.Stream) or meta.get("/Type") != "/Metadata" \
            or meta.get("/Subtype") != "/XML":
        return ["6.6.2.1-1: no catalog /Metadata stream of /Type /Metadata, /Subtype /XML"]
    problems = []
    xml = meta.read_bytes()
    header = re.search(rb"<\?xpacket begin=[^>]*\?>", xml)
    if header and b"bytes=" in header.group(0):
        problems.append("6.6.2.1-2: the xpacket header has a bytes attribute")
    if header and b"encoding=" in header.group(0):
        problems.append("6.6.2.1-3: the xpacket header has an encoding attribute")
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as xmp:
        part, conformance = xmp.get("pdfaid:part"), xmp.get("pdfaid:conformance")
    if part is None and conformance is None:
        problems.append("6.6.4-1: no PDF/A identification (pdfaid) in the XMP metadata")
    if str(part) != "3":
        problems.append(f"6.6.4-2: pdfaid:part is {part!r}, not 3")
    if str(conformance) != "B":
        problems.append(f"6.6.4-3: pdfaid:conformance is {conformance!r}, not B")
    return problems


def _output_intent_problems(root: pikepdf.Dictionary) -> list[str]:
    intents = [i for i in root.get("/OutputIntents", []) if i.get("/S") == "/GTS_PDFA1"]
    if len(intents) != 1:
        return [f"6.2.3-2: {len(intents)} PDF/A OutputIntents (GTS_PDFA1), not one"]
    profile = intents[0].get("/DestOutputProfile")
    if not isinstance(profile, pikepdf.Stream):
        return ["6.2.3-1: the OutputIntent has no DestOutputProfile"]
    icc = profile.read_bytes()
    if icc[12:16] not in (b"mntr", b"prtr") or icc[16:20] not in (b"RGB ", b"CMYK", b"GRAY") \
            or icc[8] >= 5:
        return [f"6.2.3-1: the output profile is {icc[12:16]!r} {icc[16:20]!r} v{icc[8]}"]
    if icc[16:20] != b"RGB ":
        return ["6.2.4.3-3: the checks here expect an RGB output intent"]
    return []


def _annotation_problems(annot: pikepdf.Dictionary, page: int) -> list[str]:
    subtype = str(annot.get("/Subtype"))
    problems = []
    if subtype in ("/3D", "/Sound", "/Screen", "/Movie"):
        problems.append(f"6.3.1-1: a {subtype} annotation on page {page}")
    if subtype != "/Popup":
        flags = annot.get("/F")
        if flags is None:
            problems.append(f"6.3.2-1: a {subtype} annotation on page {page} has no /F")
        elif int(flags) & 4 != 4 or int(flags) & (1 | 2 | 32 | 256):
            problems.append(f"6.3.2-2: a {subtype} annotation on page {page} has /F {flags}")
    action = annot.get("/A")
    if action is not None and str(action.get("/S")) in FORBIDDEN_ACTIONS:
        problems.append(f"6.5.1-1: a {action.get('/S')} action on page {page}")
    if "/AA" in annot:
        problems.append(f"6.5.1-1: an annotation on page {page} has additional actions")
    return problems


def _object_problems(obj: pikepdf.Object) -> list[str]:
    problems = []
    if isinstance(obj, pikepdf.Stream):
        if any(key in obj for key in ("/F", "/FFilter", "/FDecodeParms")):
            problems.append(f"6.1.7.1-3: stream {obj.objgen} has /F, /FFilter or /FDecodeParms")
        if {"/LZWDecode", "/LZW", "/Crypt"} & set(_filters(obj)):
            problems.append(f"6.1.7.2-1: stream {obj.objgen} uses {_filters(obj)}")
    if obj.get("/Type", "/Action") == "/Action" and str(obj.get("/S")) in FORBIDDEN_ACTIONS:
        problems.append(f"6.5.1-1: a {obj.get('/S')} action ({obj.objgen})")
    subtype = obj.get("/Subtype")
    if subtype == "/Image":
        if "/Alternates" in obj:
            problems.append(f"6.2.8-1: image {obj.objgen} has /Alternates")
        if "/OPI" in obj:
            problems.append(f"6.2.8-2: image {obj.objgen} has /OPI")
        if bool(obj.get("/Interpolate", False)):
            problems.append(f"6.2.8-3: image {obj.objgen} has /Interpolate true")
        bits = obj.get("/BitsPerComponent")
        if bits is not None and int(bits) not in (1, 2, 4, 8, 16):
            problems.append(f"6.2.8-4: image {obj.objgen} has BitsPerComponent {bits}")
        if obj.get("/ColorSpace") == "/DeviceCMYK":
            problems.append(f"6.2.4.3-3: image {obj.objgen} is DeviceCMYK")
    elif subtype == "/Form" and "/Ref" in obj:
        problems.append(f"6.2.9-2: form XObject {obj.objgen} is a reference XObject")
    elif subtype == "/PS" or obj.get("/Subtype2") == "/PS":
        problems.append(f"6.2.9-3: PostScript XObject {obj.objgen}")
    if obj.get("/Type") == "/Font":
        problems += _font_problems(obj)
    return problems


def _font_problems(font: pikepdf.Dictionary) -> list[str]:
    subtype = str(font.get("/Subtype"))
    if subtype in ("/Type3", "/Type0"):  # Type0: its descendant CIDFont is checked
        return []
    descriptor = font.get("/FontDescriptor")
    embedded = descriptor is not None and any(
        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
    if not embedded:
        return [f"6.2.11.4.1-1: font {font.get('/BaseFont')} ({subtype}) is not embedded"]
    return []


def embedded_files(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """The file specifications of the EmbeddedFiles name tree, in order."""
    names = pdf.Root.get("/Names", {}).get("/EmbeddedFiles")
    if names is None:
        return []
    tree = pikepdf.NameTree(names)
    return [tree[key] for key in tree]


def _embedded_file_problems(pdf: pikepdf.Pdf) -> list[str]:
    problems = []
    listed = [spec.objgen for spec in pdf.Root.get("/AF", [])]
    if len(listed) != len(set(listed)):
        problems.append(f"/AF lists {len(listed)} entries for {len(set(listed))} files")
    for spec in embedded_files(pdf):
        name = str(spec.get("/UF", spec.get("/F", "?")))
        stream = spec.get("/EF", {}).get("/F")
        if "/F" not in spec or "/UF" not in spec:
            problems.append(f"6.8-2: {name}: the file specification lacks /F or /UF")
        relationship = spec.get("/AFRelationship")
        if not isinstance(relationship, pikepdf.Name):
            problems.append(f"6.8-3: {name}: no /AFRelationship")
        if spec.objgen not in listed:
            problems.append(f"6.8-4: {name}: not listed in the catalog's /AF")
        if stream is None:
            problems.append(f"6.8-2: {name}: no embedded file stream")
            continue
        subtype = stream.get("/Subtype")
        if subtype is None or not MIME.match(str(subtype)[1:]):
            problems.append(f"6.8-1: {name}: MIME /Subtype is {subtype!r}")
        params = stream.get("/Params", {})
        missing = [key for key in ("/Size", "/CheckSum", "/ModDate") if key not in params]
        if missing:
            problems.append(f"6.8 (ModDate recommended): {name}: /Params lacks {missing}")
    return problems


# Tagged PDF

def structure_elements(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every structure element, depth first in document order."""
    def walk(element: pikepdf.Dictionary) -> Iterator[pikepdf.Dictionary]:
        yield element
        kids = element.get("/K")
        if kids is None:
            return
        for kid in (kids if isinstance(kids, pikepdf.Array) else [kids]):
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") not in ("/MCR", "/OBJR"):
                yield from walk(kid)

    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return
    yield from walk(root)


def _marked_texts(path: Path) -> list[dict[int, str]]:
    """Per page: marked-content id -> the text drawn inside it (decoded by pypdf)."""
    out = []
    for page in pypdf.PdfReader(path).pages:
        stack: list[int | None] = []
        texts: dict[int, str] = {}

        def before(operator: bytes, args: list, cm: object, tm: object) -> None:
            if operator == b"BDC":
                props = args[1] if len(args) > 1 else None
                stack.append(props.get("/MCID") if hasattr(props, "get") else None)
            elif operator == b"BMC":
                stack.append(None)
            elif operator == b"EMC" and stack:
                stack.pop()

        def text(value: str, cm: object, tm: object, font: object, size: object) -> None:
            mcid = next((m for m in reversed(stack) if m is not None), None)
            if mcid is not None:
                texts[int(mcid)] = texts.get(int(mcid), "") + value

        page.extract_text(visitor_operand_before=before, visitor_text=text)
        out.append(texts)
    return out


def element_text(path: Path, kind: str) -> list[str]:
    """The text of every structure element of type `kind` (e.g. "/H1"), in order."""
    texts = _marked_texts(path)
    found = []
    with pikepdf.open(path) as pdf:
        pages = {page.objgen: index for index, page in enumerate(pdf.pages)}

        def collect(element: pikepdf.Dictionary, page: int | None) -> str:
            if "/Pg" in element:
                page = pages[element.Pg.objgen]
            kids = element.get("/K")
            text = ""
            for kid in (kids if isinstance(kids, pikepdf.Array) else
                        [] if kids is None else [kids]):
                if isinstance(kid, int):
                    text += texts[page].get(int(kid), "")
                elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                    text += texts[page].get(int(kid.MCID), "")
                elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") != "/OBJR":
                    text += collect(kid, page)
            return text

        for element in structure_elements(pdf):
            if element.get("/S") == kind:
                found.append(" ".join(collect(element, None).split()))
    return found
